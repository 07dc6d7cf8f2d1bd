/* ioc: the server's current IoC set (lib/intel) and its reload, alongside
 * the rules (docs/intel.md "Server").
 *
 * Readers (ingest) hold a read lock while they match; a reload builds the
 * new set with no lock held, swaps the pointer under the write lock and
 * frees the old one once no reader can hold it. Thread-safe. */
#ifndef YM_SERVER_IOC_H
#define YM_SERVER_IOC_H

#include <stddef.h>

#include "intel.h"

#define IOC_MAX_PATHS 64

struct ioc;

struct ioc_stats {
	size_t added;	 /* indicators accepted (duplicates included) */
	size_t rejected; /* lines reported and skipped */
	size_t distinct; /* indicators in the set */
};

/* Remembers the IoC files (copied; at most IOC_MAX_PATHS) and loads them;
 * each rejected line is logged (rate-limited). With no files the set is
 * empty and matching is skipped. Returns 0 and sets *out (free with
 * ioc_free) and *stats, YM_E_INVAL, YM_E_IO (a file cannot be read),
 * YM_E_NOMEM, YM_E_TOOBIG. */
int ioc_init(const char *const *paths, size_t npaths, struct ioc **out, struct ioc_stats *stats);

/* Loads the same files again and swaps the new set in. On failure the old
 * set stays. Returns 0 and fills *stats, YM_E_IO, YM_E_NOMEM, YM_E_TOOBIG. */
int ioc_reload(struct ioc *c, struct ioc_stats *stats);

/* Takes the read lock and returns the current set (NULL when none is
 * loaded); pair with ioc_release on the same thread. */
const struct intel_set *ioc_acquire(struct ioc *c);
void ioc_release(struct ioc *c);

void ioc_free(struct ioc *c);

#endif
