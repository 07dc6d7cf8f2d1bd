/* ym-forge: a test tool that builds a signed kill command the way the server
 * does, but with any key, times and nonce, so the end-to-end tests can show
 * that the agent refuses forged, expired and replayed commands.
 * Usage: ym-forge KEY.pem ID AGENT PID START_TIME ISSUED EXPIRES NONCE
 * Prints the wire JSON object on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "command.h"
#include "err.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct command c;
	struct buf out;
	char *pem = NULL;
	size_t pemlen = 0;
	uint64_t v;
	int r;

	if (argc != 9) {
		fprintf(stderr, "usage: ym-forge KEY.pem ID AGENT PID START_TIME ISSUED EXPIRES NONCE\n");
		return 2;
	}
	memset(&c, 0, sizeof(c));
	if (util_read_file(argv[1], 65536, &pem, &pemlen)) {
		fprintf(stderr, "ym-forge: cannot read %s\n", argv[1]);
		return 1;
	}
	util_strlcpy(c.id, argv[2], sizeof(c.id));
	util_strlcpy(c.agent_id, argv[3], sizeof(c.agent_id));
	util_strlcpy(c.action, "kill", sizeof(c.action));
	if (util_parse_u64(argv[4], 1, 4194304, &v))
		return 2;
	c.pid = (int64_t)v;
	if (util_parse_u64(argv[5], 0, UINT64_MAX, &c.start_time) ||
	    util_parse_u64(argv[6], 0, UINT64_MAX, &c.issued_s) ||
	    util_parse_u64(argv[7], 0, UINT64_MAX, &c.expires_s))
		return 2;
	util_strlcpy(c.nonce, argv[8], sizeof(c.nonce));
	buf_init(&out, COMMAND_MAX_WIRE);
	r = command_sign(&c, pem, pemlen, &out);
	free(pem);
	if (r) {
		fprintf(stderr, "ym-forge: %s\n", ym_strerror(r));
		return 1;
	}
	fwrite(out.data, 1, out.len, stdout);
	putchar('\n');
	buf_free(&out);
	return 0;
}
