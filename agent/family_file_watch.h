/* family_file_watch: the watched paths of the file family, shared by its
 * modes. An entry is one of:
 *   "/dir/"      the folder and everything below it;
 *   "/dir/file"  that file only;
 *   "x:/dir/"    executables in that folder (not below): files with an x bit;
 *   "d:/dir/"    the folder and everything below it, but only what loses
 *                content: unlink, rename (from or onto), truncation (an
 *                open with O_TRUNC of a file that was there, truncate(2))
 *                and mounts over it (logs: where every write is routine
 *                and only their erasing tells);
 *   "r:/dir/file" that file's opens for reading (a credential store read:
 *                /etc/shadow), at most FAMILY_FILE_WATCH_READS, no "~/";
 *                kept apart (reads[]): they match no other action;
 * and a leading "~/" stands for every home: /root and each folder of /home
 * (at most FAMILY_FILE_WATCH_HOMES). NULL = the defaults of docs/sensors.md.
 * Immutable once built; thread-safe to read. */
#ifndef YM_AGENT_FAMILY_FILE_WATCH_H
#define YM_AGENT_FAMILY_FILE_WATCH_H

#include <stddef.h>

#define FAMILY_FILE_WATCH_HOMES 256 /* folders of /home expanded (for marks, prefixes) */
#define FAMILY_FILE_WATCH_PLAIN 64  /* entries without "~/"; more are refused */
#define FAMILY_FILE_WATCH_REL	16  /* "~/" entries; more are refused */
/* entries after home expansion: never more (/root and every home) */
#define FAMILY_FILE_WATCH_MAX                                                                      \
	(FAMILY_FILE_WATCH_PLAIN + FAMILY_FILE_WATCH_REL * (FAMILY_FILE_WATCH_HOMES + 1))
#define FAMILY_FILE_WATCH_PATH 256 /* bytes of one entry's path, with its NUL */
#define FAMILY_FILE_WATCH_READS 8   /* "r:" entries; more are refused */

enum family_file_watch_kind {
	FAMILY_FILE_WATCH_TREE = 1,
	FAMILY_FILE_WATCH_FILE = 2,
	FAMILY_FILE_WATCH_EXEC = 3,
	FAMILY_FILE_WATCH_LOSS = 4, /* "d:": a tree, content lost only */
};

struct family_file_watch_entry {
	enum family_file_watch_kind kind;
	int home; /* a "~/" entry expanded for one home: for marks and prefixes */
	size_t len;
	char path[FAMILY_FILE_WATCH_PATH]; /* TREE, EXEC and LOSS end with '/' */
};

/* e: every entry, "~/" ones once per home (what a mode marks or gives the
 * kernel); rel: the "~/" entries as written, without "~/", which match and
 * leads_to compare with what follows any home's folder (/root/,
 * /home/NAME/: one made after the start too) */
struct family_file_watch {
	size_t n, nrel, nreads;
	struct family_file_watch_entry e[FAMILY_FILE_WATCH_MAX];
	struct family_file_watch_entry rel[FAMILY_FILE_WATCH_REL];
	struct family_file_watch_entry reads[FAMILY_FILE_WATCH_READS]; /* "r:", kind FILE */
};

/* The default list (NULL-terminated, static). */
extern const char *const family_file_watch_defaults[];

/* Builds *w from spec (NULL: the defaults), "~/" expanded for /root and
 * the folders of /home (the first FAMILY_FILE_WATCH_HOMES). Returns 0,
 * YM_E_INVAL (an entry that is not an absolute path, or has "..", an "r:"
 * entry that is a folder or in "~/") or YM_E_TOOBIG (more than
 * FAMILY_FILE_WATCH_PLAIN, FAMILY_FILE_WATCH_REL or
 * FAMILY_FILE_WATCH_READS entries). */
int family_file_watch_build(const char *const *spec, struct family_file_watch *w);

/* The same with the homes given (nh folders, each ending with '/'). */
int family_file_watch_build_homes(const char *const *spec, const char *const *homes, size_t nh,
				  struct family_file_watch *w);

/* What path (absolute, n bytes) falls under: the kind of the first matching
 * entry, or 0. EXEC entries match files directly in the folder; the caller
 * checks the x bit. */
int family_file_watch_match(const struct family_file_watch *w, const char *path, size_t n);

/* Whether kind (a match's) is a tree: TREE or LOSS. */
int family_file_watch_is_tree(int kind);

/* 1 when the folder path (absolute, n bytes, no trailing '/') is a tree
 * entry's folder or one of its ancestors: a folder made there after the
 * start (~/.ssh of an account that had none) must be watched for the tree
 * to be. 0 otherwise. */
int family_file_watch_leads_to(const struct family_file_watch *w, const char *path, size_t n);

#endif
