/* rules.c: ruleset load, hot swap under a rwlock, and load diagnostics. */
#include "rules.h"
#include "err.h"
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct rules {
	pthread_rwlock_t lock;
	struct ruleset *rs; /* guarded by lock */
	char *paths[RULES_MAX_PATHS];
	size_t npaths;
};

/* Operators act on errors; unsupported rules (common with the full SigmaHQ
 * set) are only counted unless debugging. */
static void on_diag(const struct detect_diag *d, void *ctx)
{
	char file[300], reason[300];

	(void)ctx;
	log_escape(d->file, strnlen(d->file, sizeof(d->file)), file, sizeof(file));
	log_escape(d->reason, strnlen(d->reason, sizeof(d->reason)), reason, sizeof(reason));
	if (d->severity == YM_E_UNSUPPORTED)
		LOG_D("rules", "unsupported %s:%d: %s", file, d->line, reason);
	else
		LOG_W("rules", "W2501", "rule error %s:%d: %s", file, d->line, reason);
}

static int load(struct rules *r, struct ruleset **out, struct detect_load_stats *stats)
{
	struct detect_load_stats st;

	memset(&st, 0, sizeof(st));
	if (r->npaths == 0) {
		*out = NULL;
		*stats = st;
		return 0;
	}
	return ruleset_load((const char *const *)r->paths, r->npaths, out, stats, on_diag, NULL);
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	if (r->rs)
		ruleset_free(r->rs);
	for (size_t i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

int rules_init(const char *const *paths, size_t npaths, struct rules **out,
	       struct detect_load_stats *stats)
{
	struct rules *r;
	pthread_rwlockattr_t attr;
	int rc = YM_E_NOMEM;

	if (npaths > RULES_MAX_PATHS)
		return YM_E_INVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return YM_E_NOMEM;
	/* writer-preferring, so a reload is not starved by a steady stream of batches */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&r->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	for (size_t i = 0; i < npaths; i++) {
		r->paths[i] = strdup(paths[i]);
		if (!r->paths[i])
			goto out;
		r->npaths++;
	}
	rc = load(r, &r->rs, stats);
	if (rc)
		goto out;
	*out = r;
	r = NULL;
out:
	rules_free(r);
	return rc;
}

int rules_reload(struct rules *r, struct detect_load_stats *stats)
{
	struct ruleset *fresh = NULL, *old;
	int rc;

	rc = load(r, &fresh, stats);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&r->lock);
	old = r->rs;
	r->rs = fresh;
	pthread_rwlock_unlock(&r->lock);
	/* the write lock drained every reader of old */
	if (old)
		ruleset_free(old);
	return 0;
}

const struct ruleset *rules_acquire(struct rules *r)
{
	pthread_rwlock_rdlock(&r->lock);
	return r->rs;
}

void rules_release(struct rules *r)
{
	pthread_rwlock_unlock(&r->lock);
}
