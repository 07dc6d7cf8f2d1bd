/* kpath: kernel path records to userland strings (see kpath.h) */
#include "kpath.h"

#include <string.h>

size_t kpath_join(const char *p, size_t n, char *out, size_t outsz)
{
	size_t ends[KPATH_DEPTH_MAX + 1], nc = 0, o = 0, i = 0;

	if (outsz < 2)
		return 0;
	while (i < n && nc < KPATH_DEPTH_MAX + 1) {
		size_t l = strnlen(p + i, n - i);
		ends[nc++] = i;
		i += l + 1;
	}
	for (size_t c = nc; c-- > 0;) {
		const char *s = p + ends[c];
		size_t l = strnlen(s, n - ends[c]);
		if (o + 1 + l + 1 > outsz)
			break;
		out[o++] = '/';
		memcpy(out + o, s, l);
		o += l;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return nc ? o : 0;
}

int kpath_container_id(const char *p, size_t n, char out[KPATH_ID_LEN + 1])
{
	size_t run = 0;

	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? p[i] : 0;
		int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
		if (hex) {
			run++;
			continue;
		}
		if (run == KPATH_ID_LEN) {
			memcpy(out, p + i - KPATH_ID_LEN, KPATH_ID_LEN);
			out[KPATH_ID_LEN] = 0;
			return 1;
		}
		run = 0;
	}
	return 0;
}
