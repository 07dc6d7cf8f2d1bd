/* Fuzz target: the frames the root agent reads from its unprivileged uplink
 * process (agent/psframe.c, agent/uplink.c), the bytes of a compromised
 * process. The first byte picks the piece size the stream is fed in; every
 * frame handed out must be of a type the child may send and within that
 * type's cap, and acknowledgements go through the root's check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "psframe.h"
#include "uplink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct psframe_rd rd;
	size_t piece, off = 1;

	if (size < 1)
		return 0;
	piece = (size_t)data[0] + 1;
	psframe_rd_init(&rd, PSFRAME_FROM_CHILD);
	while (off < size) {
		size_t k = size - off < piece ? size - off : piece, used = 0;
		struct psframe f;
		int r = psframe_rd_feed(&rd, data + off, k, &used, &f);

		if (used > k)
			abort();
		off += used;
		if (r == 0) {
			int oc;
			unsigned st;
			if (f.len > psframe_max(PSFRAME_FROM_CHILD, f.type) ||
			    psframe_max(PSFRAME_FROM_CHILD, f.type) == 0)
				abort();
			if (f.type == PSF_ACK)
				(void)uplink_check_ack(f.payload, f.len, 1, 10, &oc, &st);
			continue;
		}
		if (r != YM_E_TRUNCATED)
			break; /* the stream is not trusted any more */
		if (used == 0)
			break;
	}
	psframe_rd_free(&rd);
	return 0;
}
