/* ym-fuse-hold: a FUSE file system whose daemon answers one process and
 * leaves everyone else's requests unanswered, as a user's own FUSE mount can
 * (fusermount3, or a user namespace) to hold whoever looks at his files.
 *
 *   ym-fuse-hold DIR SRC SECONDS MARKER
 *
 * mounts at DIR a file system with two files, "prog", SRC's content (mode
 * 0755), and "data", 64 KiB of zeros (for a program that maps it: read by
 * no one before); forks a child that runs DIR/prog with the arguments MARKER SECONDS
 * (SRC being sleep: it sleeps) and prints "pid N"; answers the child's
 * requests (its exec's lookups, open and reads) and the kernel's, and no
 * other process's: the agent's open or stat of the child's executable waits
 * until the end. When the child ends, it unmounts DIR and exits, which fails
 * every request still waiting (ENOTCONN). Speaks the kernel's protocol
 * (linux/fuse.h) on /dev/fuse itself: no libfuse. Root. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define FH_BUF (FUSE_MIN_READ_BUFFER + (1u << 20))

static unsigned char *content;
static size_t content_len;
#define FH_DATA_LEN 65536 /* "data" (node 3): zeros */
static unsigned char zeros[FH_DATA_LEN];

static void die(const char *what)
{
	fprintf(stderr, "ym-fuse-hold: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void reply(int fd, uint64_t unique, int err, const void *body, size_t len)
{
	struct fuse_out_header h = {
	    .len = (uint32_t)(sizeof(h) + len), .error = -err, .unique = unique};
	unsigned char buf[sizeof(h) + 4096];

	if (len > sizeof(buf) - sizeof(h)) { /* a read's data: two pieces */
		struct iovec iv[2] = {{&h, sizeof(h)}, {(void *)body, len}};
		(void)!writev(fd, iv, 2);
		return;
	}
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	(void)!write(fd, buf, sizeof(h) + len);
}

static void attr_of(uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	a->blksize = 4096;
	if (node == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		size_t len = node == 3 ? FH_DATA_LEN : content_len;

		a->mode = S_IFREG | 0755;
		a->nlink = 1;
		a->size = len;
		a->blocks = (len + 511) / 512;
	}
}

static void serve(int fd, const unsigned char *req, size_t n)
{
	const struct fuse_in_header *h = (const void *)req;
	const unsigned char *arg = req + sizeof(*h);

	switch (h->opcode) {
	case FUSE_INIT: {
		const struct fuse_init_in *in = (const void *)arg;
		struct fuse_init_out out = {.major = FUSE_KERNEL_VERSION,
					    .minor = FUSE_KERNEL_MINOR_VERSION,
					    .max_readahead = in->max_readahead,
					    .max_background = 16,
					    .congestion_threshold = 12,
					    .max_write = 65536,
					    .time_gran = 1};
		if (in->minor < out.minor)
			out.minor = in->minor;
		reply(fd, h->unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_LOOKUP: {
		struct fuse_entry_out e = {0};
		if (h->nodeid != FUSE_ROOT_ID || n <= sizeof(*h) ||
		    (strcmp((const char *)arg, "prog") != 0 &&
		     strcmp((const char *)arg, "data") != 0)) {
			reply(fd, h->unique, ENOENT, NULL, 0);
			break;
		}
		e.nodeid = strcmp((const char *)arg, "prog") == 0 ? 2 : 3;
		e.generation = 1;
		attr_of(e.nodeid, &e.attr); /* entry_valid, attr_valid 0: ask every time */
		reply(fd, h->unique, 0, &e, sizeof(e));
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out a = {0};
		attr_of(h->nodeid, &a.attr);
		reply(fd, h->unique, 0, &a, sizeof(a));
		break;
	}
	case FUSE_OPEN: {
		struct fuse_open_out o = {.fh = 1};
		reply(fd, h->unique, h->nodeid == 2 || h->nodeid == 3 ? 0 : EISDIR, &o, sizeof(o));
		break;
	}
	case FUSE_READ: {
		const struct fuse_read_in *r = (const void *)arg;
		const unsigned char *c = h->nodeid == 3 ? zeros : content;
		size_t clen = h->nodeid == 3 ? FH_DATA_LEN : content_len;
		size_t off = r->offset < clen ? (size_t)r->offset : clen;
		size_t len = clen - off < r->size ? clen - off : r->size;
		reply(fd, h->unique, 0, c + off, len);
		break;
	}
	case FUSE_RELEASE:
	case FUSE_FLUSH:
		reply(fd, h->unique, 0, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break; /* no answer is wanted */
	default:
		reply(fd, h->unique, ENOSYS, NULL, 0);
	}
}

int main(int argc, char **argv)
{
	char opts[160], prog[4096];
	unsigned char *buf;
	pid_t child;
	int fd, src, st;
	struct stat sst;

	if (argc != 5) {
		fprintf(stderr, "usage: ym-fuse-hold DIR SRC SECONDS MARKER\n");
		return 2;
	}
	src = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (src < 0 || fstat(src, &sst) < 0)
		die(argv[2]);
	content_len = (size_t)sst.st_size;
	content = malloc(content_len ? content_len : 1);
	buf = malloc(FH_BUF);
	if (!content || !buf || read(src, content, content_len) != (ssize_t)content_len)
		die("read source");
	close(src);
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("/dev/fuse");
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("ym-fuse-hold", argv[1], "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
		die("mount");
	snprintf(prog, sizeof(prog), "%s/prog", argv[1]);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		char *cargv[] = {argv[4], argv[3], NULL};
		close(fd);
		execv(prog, cargv);
		_exit(127);
	}
	printf("pid %d\n", (int)child);
	fflush(stdout);
	for (;;) {
		ssize_t k;
		const struct fuse_in_header *h = (const void *)buf;

		if (waitpid(child, &st, WNOHANG) == child)
			break;
		/* a short wait, so the child's end is seen */
		struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
		fd_set rf;
		FD_ZERO(&rf);
		FD_SET(fd, &rf);
		if (select(fd + 1, &rf, NULL, NULL, &tv) <= 0)
			continue;
		k = read(fd, buf, FH_BUF);
		if (k < 0) {
			if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
				continue;
			if (errno == ENODEV)
				break; /* unmounted from outside */
			die("read /dev/fuse");
		}
		if ((size_t)k < sizeof(*h))
			continue;
		/* the child's, the kernel's (pid 0) and our own INIT; every
		 * other process waits */
		if (h->opcode == FUSE_INIT || h->pid == 0 || (pid_t)h->pid == child)
			serve(fd, buf, (size_t)k);
	}
	umount2(argv[1], MNT_DETACH);
	close(fd); /* fails what still waits */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
