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
    "~/.ssh/",
    "~/.bashrc",
    "~/.profile",
    "~/.bash_profile",
    "~/.zshrc",
    "x:/tmp/",
    "x:/dev/shm/",
    NULL,
};

static int watch_add(struct family_file_watch *w, enum family_file_watch_kind kind, const char *a,
		     const char *b)
{
	struct family_file_watch_entry *e;
	int n;

	if (w->n >= FAMILY_FILE_WATCH_MAX)
		return YM_E_TOOBIG;
	e = &w->e[w->n];
	n = snprintf(e->path, sizeof(e->path), "%s%s", a, b);
	if (n < 0 || (size_t)n >= sizeof(e->path))
		return YM_E_TOOBIG;
	if (e->path[0] != '/' || strstr(e->path, "/../") != NULL || strstr(e->path, "//") != NULL)
		return YM_E_INVAL;
	if (kind != FAMILY_FILE_WATCH_FILE && e->path[n - 1] != '/')
		return YM_E_INVAL;
	e->kind = kind;
	e->len = (size_t)n;
	w->n++;
	return 0;
}

int family_file_watch_build(const char *const *spec, struct family_file_watch *w)
{
	static const char *homes[FAMILY_FILE_WATCH_HOMES];
	static char homebuf[FAMILY_FILE_WATCH_HOMES][FAMILY_FILE_WATCH_PATH];
	size_t nh = 0;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (spec == NULL)
		spec = family_file_watch_defaults;
	w->n = 0;
	homes[nh++] = "/root/";
	d = opendir("/home");
	while (d != NULL && (de = readdir(d)) != NULL && nh < FAMILY_FILE_WATCH_HOMES) {
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
	for (size_t i = 0; spec[i] != NULL && rc == 0; i++) {
		const char *s = spec[i];
		enum family_file_watch_kind kind = FAMILY_FILE_WATCH_FILE;
		size_t l;

		if (strncmp(s, "x:", 2) == 0) {
			kind = FAMILY_FILE_WATCH_EXEC;
			s += 2;
		}
		l = strlen(s);
		if (kind == FAMILY_FILE_WATCH_FILE && l > 0 && s[l - 1] == '/')
			kind = FAMILY_FILE_WATCH_TREE;
		if (strncmp(s, "~/", 2) == 0) {
			for (size_t h = 0; h < nh && rc == 0; h++)
				rc = watch_add(w, kind, homes[h], s + 2);
		} else {
			rc = watch_add(w, kind, "", s);
		}
	}
	return rc;
}

int family_file_watch_match(const struct family_file_watch *w, const char *path, size_t n)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct family_file_watch_entry *e = &w->e[i];

		switch (e->kind) {
		case FAMILY_FILE_WATCH_TREE:
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
	}
	return 0;
}

int family_file_watch_leads_to(const struct family_file_watch *w, const char *path, size_t n)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct family_file_watch_entry *e = &w->e[i];

		if (e->kind == FAMILY_FILE_WATCH_TREE && n < e->len && e->path[n] == '/' &&
		    memcmp(e->path, path, n) == 0)
			return 1;
	}
	return 0;
}
