/* rules.c: ruleset load, hot swap under a rwlock, and load diagnostics. */
#include "rules.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Correlation windows are per tenant: events of two customers never count
 * towards one correlation. */
struct tenant_correl {
	char tenant[64];
	struct correl_state *st;
};

struct rules {
	pthread_rwlock_t lock;
	struct ruleset *rs; /* guarded by lock */
	/* correlation states of rs, one per tenant, created on first use */
	pthread_mutex_t correl_lock;
	struct tenant_correl *correl;
	size_t ncorrel, acorrel;
	uint64_t correl_refused; /* tenants over RULES_MAX_TENANT_STATES */
	char *paths[RULES_MAX_PATHS];
	size_t npaths;
	char *placeholders; /* YAML file of %name% values, or NULL */
};

/* Operators act on errors; unsupported rules (common with the full SigmaHQ
 * set) are only counted unless debugging. */
static void on_diag(const struct detect_diag *d, void *ctx)
{
	(void)ctx;
	/* the engine has already escaped control bytes in file and reason */
	if (d->severity == YM_E_UNSUPPORTED)
		LOG_D("rules", "unsupported %s:%d: %s", d->file, d->line, d->reason);
	else
		LOG_W("rules", "W2501", "rule error %s:%d: %s", d->file, d->line, d->reason);
}

/* Reads the placeholder file (again on each reload, so an edit takes effect
 * with the rules) and loads the rules with it. */
static int load(struct rules *r, struct ruleset **out, struct detect_load_stats *stats)
{
	struct detect_load_stats st;
	struct placeholders *ph = NULL;
	struct detect_options opt = {0};
	char err[256];
	int rc;

	memset(&st, 0, sizeof(st));
	if (r->npaths == 0) {
		*out = NULL;
		*stats = st;
		return 0;
	}
	if (r->placeholders) {
		rc = placeholders_new(&ph);
		if (rc)
			goto out;
		rc = placeholders_load(ph, r->placeholders, err, sizeof(err));
		if (rc) {
			char esc[300];
			log_escape(r->placeholders, strlen(r->placeholders), esc, sizeof(esc));
			LOG_E("rules", "E2105", "cannot load placeholders %s: %s", esc, err);
			goto out;
		}
		opt.placeholders = ph;
	}
	rc = ruleset_load_opts((const char *const *)r->paths, r->npaths, &opt, out, stats, on_diag,
			       NULL);
out:
	placeholders_free(ph);
	return rc;
}

static void correl_drop_all(struct rules *r)
{
	for (size_t i = 0; i < r->ncorrel; i++)
		correl_state_free(r->correl[i].st);
	free(r->correl);
	r->correl = NULL;
	r->ncorrel = r->acorrel = 0;
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	correl_drop_all(r);
	pthread_mutex_destroy(&r->correl_lock);
	if (r->rs)
		ruleset_free(r->rs);
	for (size_t i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	free(r->placeholders);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

int rules_init(const char *const *paths, size_t npaths, const char *placeholders,
	       struct rules **out, struct detect_load_stats *stats)
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
	pthread_mutex_init(&r->correl_lock, NULL);
	for (size_t i = 0; i < npaths; i++) {
		r->paths[i] = strdup(paths[i]);
		if (!r->paths[i])
			goto out;
		r->npaths++;
	}
	if (placeholders && !(r->placeholders = strdup(placeholders)))
		goto out;
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
	/* windows belong to the old ruleset's correlation rules: start afresh */
	pthread_mutex_lock(&r->correl_lock);
	correl_drop_all(r);
	pthread_mutex_unlock(&r->correl_lock);
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

struct correl_state *rules_correl_acquire(struct rules *r, const char *tenant_id)
{
	struct correl_state *st = NULL;
	size_t i;

	pthread_mutex_lock(&r->correl_lock);
	if (!r->rs || !tenant_id || strlen(tenant_id) >= sizeof(r->correl[0].tenant))
		return NULL; /* lock kept: rules_correl_release unlocks */
	for (i = 0; i < r->ncorrel; i++) {
		if (strcmp(r->correl[i].tenant, tenant_id) == 0)
			return r->correl[i].st;
	}
	if (r->ncorrel >= RULES_MAX_TENANT_STATES) {
		r->correl_refused++;
		return NULL;
	}
	if (r->ncorrel == r->acorrel) {
		size_t na = r->acorrel ? r->acorrel * 2 : 16;
		struct tenant_correl *n = realloc(r->correl, na * sizeof(*n));
		if (!n)
			return NULL;
		r->correl = n;
		r->acorrel = na;
	}
	if (correl_state_new(r->rs, NULL, &st))
		return NULL;
	util_strlcpy(r->correl[r->ncorrel].tenant, tenant_id, sizeof(r->correl[0].tenant));
	r->correl[r->ncorrel].st = st;
	r->ncorrel++;
	return st;
}

void rules_correl_release(struct rules *r)
{
	pthread_mutex_unlock(&r->correl_lock);
}
