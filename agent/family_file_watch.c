#include "family_file_watch.h"
#include "err.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

const char *const family_file_watch_defaults[] = {
    "/etc/", /* cron*, systemd, ld.so.preload, profile*, passwd ... */
    "/var/spool/cron/",
    "/lib/systemd/system/",
    "/usr/lib/systemd/system/",
    "~/.config/systemd/",
    "~/.config/autostart/", /* a desktop session's autostart entries */
    "~/.ssh/",
    "~/.bashrc",
    "~/.profile",
    "~/.bash_profile",
    "~/.zshrc",
    "x:/tmp/",
    "x:/dev/shm/",
    "x:/var/tmp/",   /* where /tmp is noexec, the next place to drop a tool */
    "d:/var/log/",   /* logs emptied, deleted or moved away (T1070.002) */
    "r:/etc/shadow", /* password hashes read (T1003.008) */
    "r:/etc/gshadow",
    NULL,
};

static int watch_set(struct family_file_watch_entry *e, enum family_file_watch_kind kind,
		     const char *a, const char *b)
{
	int n = snprintf(e->path, sizeof(e->path), "%s%s", a, b);

	if (n < 0 || (size_t)n >= sizeof(e->path))
		return YM_E_TOOBIG;
	if (e->path[0] != '/' || strstr(e->path, "/../") != NULL || strstr(e->path, "//") != NULL ||
	    (n >= 3 && strcmp(e->path + n - 3, "/..") == 0))
		return YM_E_INVAL;
	if (kind != FAMILY_FILE_WATCH_FILE && e->path[n - 1] != '/')
		return YM_E_INVAL;
	e->kind = kind;
	e->len = (size_t)n;
	return 0;
}

static int watch_add(struct family_file_watch *w, enum family_file_watch_kind kind, const char *a,
		     const char *b, int home)
{
	int r;

	if (w->n >= FAMILY_FILE_WATCH_MAX)
		return YM_E_TOOBIG;
	r = watch_set(&w->e[w->n], kind, a, b);
	if (r)
		return r;
	w->e[w->n].home = home;
	w->n++;
	return 0;
}

/* The part of path (n bytes) after its home's folder (/root/ or
 * /home/NAME/, NAME not starting with '.'), its length in *rn; NULL when
 * path is not in a home. */
static const char *home_rest(const char *path, size_t n, size_t *rn)
{
	const char *slash;

	if (n > 6 && memcmp(path, "/root/", 6) == 0) {
		*rn = n - 6;
		return path + 6;
	}
	if (n <= 6 || memcmp(path, "/home/", 6) != 0 || path[6] == '.' || path[6] == '/')
		return NULL;
	slash = memchr(path + 6, '/', n - 6);
	if (slash == NULL)
		return NULL;
	*rn = n - (size_t)(slash + 1 - path);
	return slash + 1;
}

/* whether path (n bytes) falls under entry e: the entry's kind, or 0 */
static int entry_match(const struct family_file_watch_entry *e, const char *path, size_t n)
{
	switch (e->kind) {
	case FAMILY_FILE_WATCH_TREE:
	case FAMILY_FILE_WATCH_LOSS:
		if (n > e->len && memcmp(path, e->path, e->len) == 0)
			return e->kind;
		break;
	case FAMILY_FILE_WATCH_FILE:
		if (n == e->len && memcmp(path, e->path, n) == 0)
			return e->kind;
		break;
	case FAMILY_FILE_WATCH_EXEC:
		if (n > e->len && memcmp(path, e->path, e->len) == 0 &&
		    memchr(path + e->len, '/', n - e->len) == NULL)
			return e->kind;
		break;
	}
	return 0;
}

int family_file_watch_build_homes(const char *const *spec, const char *const *homes, size_t nh,
				  struct family_file_watch *w)
{
	size_t nplain = 0;
	int rc = 0;

	if (spec == NULL)
		spec = family_file_watch_defaults;
	w->n = 0;
	w->nrel = 0;
	w->nreads = 0;
	for (size_t i = 0; spec[i] != NULL && rc == 0; i++) {
		const char *s = spec[i];
		enum family_file_watch_kind kind = FAMILY_FILE_WATCH_FILE;
		size_t l;

		if (strncmp(s, "r:", 2) == 0) {
			/* a file's reads: apart, matching nothing else */
			if (w->nreads >= FAMILY_FILE_WATCH_READS)
				return YM_E_TOOBIG;
			if (strncmp(s + 2, "~/", 2) == 0)
				return YM_E_INVAL;
			rc = watch_set(&w->reads[w->nreads], FAMILY_FILE_WATCH_FILE, "", s + 2);
			if (rc != 0)
				return rc;
			if (w->reads[w->nreads].path[w->reads[w->nreads].len - 1] == '/')
				return YM_E_INVAL;
			w->nreads++;
			continue;
		}

		if (strncmp(s, "x:", 2) == 0) {
			kind = FAMILY_FILE_WATCH_EXEC;
			s += 2;
		} else if (strncmp(s, "d:", 2) == 0) {
			kind = FAMILY_FILE_WATCH_LOSS;
			s += 2;
		}
		l = strlen(s);
		if (kind == FAMILY_FILE_WATCH_FILE && l > 0 && s[l - 1] == '/')
			kind = FAMILY_FILE_WATCH_TREE;
		if (strncmp(s, "~/", 2) == 0) {
			struct family_file_watch_entry *r;

			if (w->nrel >= FAMILY_FILE_WATCH_REL)
				return YM_E_TOOBIG;
			/* checked as an absolute path, kept without its "/" */
			r = &w->rel[w->nrel];
			rc = watch_set(r, kind, "/", s + 2);
			if (rc != 0 || r->len < 2)
				return rc ? rc : YM_E_INVAL;
			memmove(r->path, r->path + 1, r->len);
			r->len--;
			r->home = 1;
			w->nrel++;
			for (size_t h = 0; h < nh && rc == 0; h++)
				rc = watch_add(w, kind, homes[h], s + 2, 1);
		} else {
			if (nplain++ >= FAMILY_FILE_WATCH_PLAIN)
				return YM_E_TOOBIG;
			rc = watch_add(w, kind, "", s, 0);
		}
	}
	return rc;
}

int family_file_watch_build(const char *const *spec, struct family_file_watch *w)
{
	static const char *homes[FAMILY_FILE_WATCH_HOMES + 1];
	static char homebuf[FAMILY_FILE_WATCH_HOMES + 1][FAMILY_FILE_WATCH_PATH];
	size_t nh = 0;
	DIR *d;
	struct dirent *de;

	homes[nh++] = "/root/";
	d = opendir("/home");
	while (d != NULL && (de = readdir(d)) != NULL && nh <= FAMILY_FILE_WATCH_HOMES) {
		int n;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		n = snprintf(homebuf[nh], sizeof(homebuf[nh]), "/home/%s/", de->d_name);
		if (n > 0 && (size_t)n < sizeof(homebuf[nh])) {
			homes[nh] = homebuf[nh];
			nh++;
		}
	}
	if (d != NULL)
		closedir(d);
	return family_file_watch_build_homes(spec, homes, nh, w);
}

int family_file_watch_match(const struct family_file_watch *w, const char *path, size_t n)
{
	const char *rest;
	size_t rn;
	int k;

	for (size_t i = 0; i < w->n; i++)
		if (!w->e[i].home && (k = entry_match(&w->e[i], path, n)) != 0)
			return k;
	/* a "~/" entry, in whichever home (one made after the start too):
	 * what follows the home's folder against the entry as written */
	if (w->nrel == 0 || (rest = home_rest(path, n, &rn)) == NULL)
		return 0;
	for (size_t i = 0; i < w->nrel; i++)
		if ((k = entry_match(&w->rel[i], rest, rn)) != 0)
			return k;
	return 0;
}

int family_file_watch_is_tree(int kind)
{
	return kind == FAMILY_FILE_WATCH_TREE || kind == FAMILY_FILE_WATCH_LOSS;
}

int family_file_watch_leads_to(const struct family_file_watch *w, const char *path, size_t n)
{
	const char *rest;
	size_t rn;
	int rel_tree = 0;

	for (size_t i = 0; i < w->n; i++) {
		const struct family_file_watch_entry *e = &w->e[i];

		if (!e->home && family_file_watch_is_tree(e->kind) && n < e->len &&
		    e->path[n] == '/' && memcmp(e->path, path, n) == 0)
			return 1;
	}
	for (size_t i = 0; i < w->nrel; i++)
		rel_tree |= family_file_watch_is_tree(w->rel[i].kind);
	if (!rel_tree)
		return 0;
	/* /root, /home, a home's folder: every home tree entry lies below */
	if ((n == 5 && memcmp(path, "/root", 5) == 0) ||
	    (n == 5 && memcmp(path, "/home", 5) == 0) ||
	    (n > 6 && memcmp(path, "/home/", 6) == 0 && path[6] != '.' &&
	     memchr(path + 6, '/', n - 6) == NULL))
		return 1;
	/* a folder in a home: a tree entry's folder, or one on the way */
	if ((rest = home_rest(path, n, &rn)) == NULL)
		return 0;
	for (size_t i = 0; i < w->nrel; i++) {
		const struct family_file_watch_entry *e = &w->rel[i];

		if (family_file_watch_is_tree(e->kind) && rn < e->len && e->path[rn] == '/' &&
		    memcmp(e->path, rest, rn) == 0)
			return 1;
	}
	return 0;
}
