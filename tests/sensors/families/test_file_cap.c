/* file family, mode fanotify, at its mark cap: a watched tree of more
 * folders than FAMILY_FILE_FANOTIFY_MARKS. The folders past the cap are
 * not marked, and the module says so (W3612, the first folder left out and
 * how many more) instead of leaving them blind in silence; the folders it
 * marked still report. */
#include "famtest.h"
#include "family_file_fanotify.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAP_EXTRA 5 /* folders past the cap */

static struct ft t;
static char root[] = "/tmp/ym-fancap-XXXXXX";

int main(void)
{
	char path[512], log[] = "/tmp/ym-fancap-log-XXXXXX", w[512], *text = NULL;
	const char *watch[2] = {w, NULL};
	const struct ft_event *e;
	int lfd, saved, marked = 0;
	size_t n;

	FT_CHECK(mkdtemp(root) != NULL);
	snprintf(path, sizeof(path), "%s/tree", root);
	FT_CHECK(mkdir(path, 0755) == 0);
	/* the tree's own folder and these: CAP_EXTRA more than the cap */
	for (int i = 0; i < FAMILY_FILE_FANOTIFY_MARKS - 1 + CAP_EXTRA; i++) {
		snprintf(path, sizeof(path), "%s/tree/d%05d", root, i);
		FT_CHECK(mkdir(path, 0755) == 0);
	}
	snprintf(w, sizeof(w), "%s/tree/", root);

	/* the module's log lines go to stderr: into a file for the start */
	lfd = mkstemp(log);
	FT_CHECK(lfd >= 0);
	saved = dup(STDERR_FILENO);
	FT_CHECK(saved >= 0 && dup2(lfd, STDERR_FILENO) == STDERR_FILENO);
	ft_start(&t, &family_file_fanotify_ops, watch);
	FT_CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
	close(saved);
	close(lfd);
	FT_CHECK(util_read_file(log, 1 << 20, &text, &n) == 0);
	unlink(log);
	fputs(text, stderr);
	FT_CHECK(strstr(text, "W3612") != NULL);
	snprintf(path, sizeof(path),
		 "%d folders of the watched paths not watched (the first: %s/tree/d", CAP_EXTRA,
		 root);
	FT_CHECK(strstr(text, path) != NULL);
	free(text);

	/* the folders it marked still report: a file written in the first
	 * ones (by a child: the test's own process is the "agent", whose
	 * actions are never reported); at most CAP_EXTRA of them unmarked */
	for (int i = 0; i < CAP_EXTRA + 1; i++) {
		pid_t c;
		int st;

		snprintf(path, sizeof(path), "%s/tree/d%05d/f", root, i);
		c = ft_fork();
		if (c == 0) {
			int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

			_exit(fd >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0 ? 0 : 1);
		}
		FT_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		e = ft_wait(&t, 300, "TargetFilename", path, "Action", "create", NULL);
		marked += e != NULL;
	}
	FT_CHECK(marked >= 1);

	ft_stop(&t);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	FT_CHECK(system(path) == 0);
	printf("ok: file=fanotify at its cap of %d marks\n", FAMILY_FILE_FANOTIFY_MARKS);
	return 0;
}
