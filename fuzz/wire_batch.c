/* Fuzz target: the agent-to-server batch decoder (lib/wire/batch.c).
 * Whatever decodes must re-encode and decode to the same events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch b, b2;
	struct buf out;
	char why[256];

	if (batch_decode(data, size, &b, why, sizeof(why)) != 0)
		return 0;
	buf_init(&out, BATCH_MAX_WIRE);
	if (batch_encode(&out, b.events, b.count, 0) == 0) {
		if (batch_decode(out.data, out.len, &b2, why, sizeof(why)) != 0)
			abort();
		if (b2.count != b.count || b2.first_seq != b.first_seq ||
		    b2.last_seq != b.last_seq)
			abort();
		for (size_t i = 0; i < b.count; i++) {
			if (b2.events[i].nfields != b.events[i].nfields)
				abort();
			for (uint16_t k = 0; k < b.events[i].nfields; k++) {
				const struct event_field *f = &b.events[i].fields[k];
				const struct event_field *g = &b2.events[i].fields[k];
				if (strcmp(f->name, g->name) || f->value_len != g->value_len ||
				    memcmp(f->value, g->value, f->value_len))
					abort();
			}
		}
		batch_free(&b2);
	}
	buf_free(&out);
	batch_free(&b);
	return 0;
}
