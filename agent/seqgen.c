#include "seqgen.h"
#include "err.h"
#include "fsdir.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seqgen {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	uint64_t next;	/* next number to hand out */
	uint64_t limit; /* first number not reserved on disk */
	uint64_t block;
};

static int seqgen_reserve(struct seqgen *sg, uint64_t limit)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)limit);

	if (util_write_file(sg->path, text, (size_t)n, 0600) || fsdir_sync(sg->dir))
		return YM_E_IO;
	sg->limit = limit;
	return 0;
}

int seqgen_open(const char *dir, const char *name, uint64_t block, struct seqgen **out)
{
	struct seqgen *sg = NULL;
	char *text = NULL;
	size_t len;
	int r = YM_E_INVAL;

	if (block == 0 || block > (1ull << 32))
		goto out;
	r = YM_E_NOMEM;
	sg = calloc(1, sizeof(*sg));
	if (!sg)
		goto out;
	sg->block = block;
	r = YM_E_TOOBIG;
	if (util_strlcpy(sg->dir, dir, sizeof(sg->dir)) ||
	    snprintf(sg->path, sizeof(sg->path), "%s/%s", dir, name) >= (int)sizeof(sg->path))
		goto out;
	r = util_read_file(sg->path, 64, &text, &len);
	if (r == YM_E_IO && errno == ENOENT) {
		sg->next = 1;
	} else if (r) {
		goto out;
	} else {
		if (len > 0 && text[len - 1] == '\n')
			text[--len] = 0;
		r = YM_E_INVAL;
		if (util_parse_u64(text, 1, UINT64_MAX / 2, &sg->next))
			goto out;
	}
	sg->limit = sg->next; /* nothing reserved for this run yet */
	*out = sg;
	sg = NULL;
	r = 0;
out:
	free(text);
	seqgen_close(sg);
	return r;
}

int seqgen_release(struct seqgen *sg)
{
	if (sg->next == sg->limit)
		return 0;
	return seqgen_reserve(sg, sg->next);
}

void seqgen_close(struct seqgen *sg)
{
	free(sg);
}

int seqgen_next(struct seqgen *sg, uint64_t *seq)
{
	if (sg->next >= sg->limit) {
		int r = seqgen_reserve(sg, sg->next + sg->block);
		if (r)
			return r;
	}
	*seq = sg->next++;
	return 0;
}

uint64_t seqgen_peek(const struct seqgen *sg)
{
	return sg->next;
}
