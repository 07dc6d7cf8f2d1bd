/* Fuzz target: the parsers of /proc text the agent reads about every
 * process it meets (agent/procinfo.c, agent/kpath.c). A process writes its
 * own comm (stat's field 2, any bytes but NUL, parentheses included) and
 * argv (cmdline), and a delegated cgroup's owner names its cgroups (the
 * paths of /proc/PID/cgroup), so each of these texts is partly chosen by
 * whoever runs on the host.
 *
 * The first input byte picks the parser, the rest is the text, copied into
 * a buffer of its exact size (one more for procinfo_join_cmdline, which
 * writes its NUL there) so that a read past it is caught:
 *   0 procinfo_parse_stat   1 procinfo_parse_ids   2 kpath_container_id
 *   3 procinfo_parse_tty_drivers, then procinfo_tty_name of every tty_nr
 *     the table's entries give (and a few beside them)
 *   4 procinfo_join_cmdline
 * Checks what each promises: the container id is 64 lower-case hex digits
 * found in the text; a joined command line is NUL-terminated at its
 * length, holds no NUL and is no longer than the input; a terminal name is
 * NUL-terminated at its length, inside its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kpath.h"
#include "procinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ttys(const char *text, size_t n)
{
	struct procinfo_ttydrv tab[PROCINFO_TTY_DRIVERS];
	size_t count = procinfo_parse_tty_drivers(text, n, tab, PROCINFO_TTY_DRIVERS);
	char name[32];

	if (count > PROCINFO_TTY_DRIVERS)
		abort();
	for (size_t i = 0; i < count; i++) {
		const uint32_t minors[] = {tab[i].minor_lo,
					   tab[i].minor_hi,
					   tab[i].minor_lo + 1,
					   tab[i].minor_hi + 1,
					   0,
					   255,
					   256,
					   1048575};

		if (memchr(tab[i].name, 0, sizeof(tab[i].name)) == NULL)
			abort();
		for (size_t m = 0; m < sizeof(minors) / sizeof(minors[0]); m++) {
			/* stat's encoding: minor low 8 bits, major, minor high 12 */
			uint32_t mi = minors[m], nr = (mi & 0xff) | (tab[i].major & 0xfff) << 8 |
						      (mi & 0xfff00u) << 12;
			size_t len = procinfo_tty_name(tab, count, nr, name, sizeof(name));

			if (len && (len >= sizeof(name) || strlen(name) != len))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	text = malloc(n + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, n);
	switch (data[0] % 5) {
	case 0: {
		struct procstat st;

		(void)procinfo_parse_stat(text, n, &st);
		break;
	}
	case 1: {
		uint32_t u, g, e, eg;

		(void)procinfo_parse_ids(text, n, &u, &g, &e, &eg);
		break;
	}
	case 2: {
		char id[KPATH_ID_LEN + 1];

		if (kpath_container_id(text, n, id)) {
			if (strlen(id) != KPATH_ID_LEN ||
			    strspn(id, "0123456789abcdef") != KPATH_ID_LEN ||
			    memmem(text, n, id, KPATH_ID_LEN) == NULL)
				abort();
		}
		break;
	}
	case 3:
		ttys(text, n);
		break;
	default: {
		size_t len = procinfo_join_cmdline(text, n);

		if (len > n || text[len] != 0 || memchr(text, 0, len) != NULL)
			abort();
		break;
	}
	}
	free(text);
	return 0;
}
