/* ioc.c: IoC set load, hot swap under a rwlock, and load diagnostics. */
#include "ioc.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ioc {
	pthread_rwlock_t lock;
	struct intel_set *set; /* guarded by lock */
	char *paths[IOC_MAX_PATHS];
	size_t npaths;
};

/* A feed with many bad lines must not flood the log. */
static struct log_ratelimit diag_rl = LOG_RATELIMIT_INIT(20, 60);

static void on_diag(const char *file, unsigned line, const char *reason, void *ctx)
{
	char f[300], why[300];

	(void)ctx;
	if (!log_ratelimit_ok(&diag_rl))
		return;
	log_escape(file, strlen(file), f, sizeof(f));
	log_escape(reason, strlen(reason), why, sizeof(why));
	LOG_W("intel", "W2601", "IoC line rejected %s:%u: %s", f, line, why);
}

static int load(struct ioc *c, struct intel_set **out, struct ioc_stats *stats)
{
	struct intel_builder *b = NULL;
	struct ioc_stats st = {0, 0, 0};
	int r;

	*out = NULL;
	if (c->npaths == 0) {
		*stats = st;
		return 0;
	}
	if ((r = intel_builder_new(&b)))
		return r;
	for (size_t i = 0; i < c->npaths; i++) {
		r = intel_builder_load_file(b, c->paths[i], NULL, &st.added, &st.rejected, on_diag,
					    NULL);
		if (r) {
			char f[300];
			log_escape(c->paths[i], strlen(c->paths[i]), f, sizeof(f));
			LOG_E("intel", "E2601", "cannot load IoC file %s: %s%s%s", f,
			      ym_strerror(r), r == YM_E_IO ? ": " : "",
			      r == YM_E_IO ? strerror(errno) : "");
			intel_builder_free(b);
			return r;
		}
	}
	if ((r = intel_builder_finish(b, out)))
		return r;
	st.distinct = intel_set_count(*out);
	*stats = st;
	return 0;
}

void ioc_free(struct ioc *c)
{
	if (!c)
		return;
	intel_set_free(c->set);
	for (size_t i = 0; i < c->npaths; i++)
		free(c->paths[i]);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

int ioc_init(const char *const *paths, size_t npaths, struct ioc **out, struct ioc_stats *stats)
{
	struct ioc *c;
	pthread_rwlockattr_t attr;
	int rc = YM_E_NOMEM;

	if (npaths > IOC_MAX_PATHS)
		return YM_E_INVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return YM_E_NOMEM;
	/* writer-preferring, so a reload is not starved by a steady stream of batches */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	for (size_t i = 0; i < npaths; i++) {
		c->paths[i] = strdup(paths[i]);
		if (!c->paths[i])
			goto out;
		c->npaths++;
	}
	rc = load(c, &c->set, stats);
	if (rc)
		goto out;
	*out = c;
	c = NULL;
out:
	ioc_free(c);
	return rc;
}

int ioc_reload(struct ioc *c, struct ioc_stats *stats)
{
	struct intel_set *fresh = NULL, *old;
	int rc;

	rc = load(c, &fresh, stats);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&c->lock);
	old = c->set;
	c->set = fresh;
	pthread_rwlock_unlock(&c->lock);
	/* the write lock drained every reader of old */
	intel_set_free(old);
	return 0;
}

const struct intel_set *ioc_acquire(struct ioc *c)
{
	pthread_rwlock_rdlock(&c->lock);
	return c->set;
}

void ioc_release(struct ioc *c)
{
	pthread_rwlock_unlock(&c->lock);
}
