/* Fuzz target: a spool segment file as the agent finds it at its start
 * (agent/spool.c): written by an agent before a crash, or damaged on disk.
 * The bytes become DIR/00000000000000000001.yms; the spool opens the
 * folder and every batch it hands out is acknowledged. What it hands out
 * must be in order, of the length its record says, and once all are done
 * nothing of the segment may be left. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char p[512];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) != 0)
			rm_tree(p);
	}
	closedir(d);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/ym-fuzz-spool.XXXXXX", path[256];
	struct spool *sp;
	struct spool_item it;
	uint64_t prev = 0;
	int fd;

	log_set_level(LOG_LVL_ERROR); /* the damage is the input: its errors only */
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/%020d.yms", dir, 1);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	if (spool_open(dir, 1u << 30, 1u << 16, &sp) == 0) {
		for (;;) {
			uint8_t *b = NULL;
			size_t n = 0;

			if (spool_next(sp, 0, &it, &b, &n) != 0)
				break;
			if (it.first_seq <= prev || it.last_seq < it.first_seq || it.count == 0 ||
			    n != it.bytes || !b)
				abort();
			prev = it.last_seq;
			free(b);
			if (spool_ack(sp, it.first_seq) != 0)
				abort();
		}
		spool_close(sp);
		if (spool_inspect(dir, &it) != 0 || it.count != 0)
			abort();
		if (access(path, F_OK) == 0)
			abort(); /* everything done: the segment goes */
	}
	rm_tree(dir);
	return 0;
}
