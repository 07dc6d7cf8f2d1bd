/* famtest: the harness the family tests share: a real family_env whose
 * proc_fill reads /proc, an event recorder, and a pump that waits on the
 * module's fd and calls tick() once a second, like the collector. */
#ifndef YM_FAMTEST_H
#define YM_FAMTEST_H

#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "family.h"

#define FT_MAX_EVENTS 4096

struct ft_event {
	uint16_t category;
	uint64_t ts_ns;	     /* the event's time (ns since the epoch) */
	const char *service; /* static strings only (the modules' constants) */
	int n;
	char *name[EVENT_MAX_FIELDS];
	char *value[EVENT_MAX_FIELDS];
};

struct ft {
	const struct family_ops *ops;
	struct family *f;
	struct family_env env;
	struct ft_event ev[FT_MAX_EVENTS];
	int nev;
	int shed; /* when set, emit refuses every event (the module must count drops) */
};

#define FT_SKIP 77

/* Fails the test with a message. */
#define FT_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
			ft_dump_events(ft_current);                                                \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

extern struct ft *ft_current;

/* Starts ops with watch paths (may be NULL); exits 77 with the reason when
 * the kernel or the privileges refuse the mode, 1 on other errors. */
void ft_start(struct ft *t, const struct family_ops *ops, const char *const *watch);
void ft_stop(struct ft *t);
/* Runs the module for ms milliseconds. */
void ft_pump(struct ft *t, int ms);
/* What the collector does at the stop (collect_drain): quiesce, then
 * polls until a poll finds less than it may take, then flush, with no tick
 * before. */
void ft_final(struct ft *t);
/* Polls (no tick) until the polls have handled want records or ms pass;
 * returns how many they handled. */
int ft_poll_until(struct ft *t, int want, int ms);
/* A bpf module's reads as it says them (how: "direct loads" or "helper
 * reads"; what: the module's name for its log line): helper reads when
 * forced (reads), else direct loads wherever the kernel has
 * bpf_rdonly_cast (a program the verifier refuses would otherwise hide
 * behind the fallback). Built with eBPF only. */
void ft_expect_reads(const char *what, const char *how, int reads);
/* Pumps up to ms until an event with every (name, value) pair given (NULL
 * terminated) is recorded; returns it or NULL. A value NULL means "absent". */
const struct ft_event *ft_wait(struct ft *t, int ms, ...);
/* Counts recorded events matching the pairs. */
int ft_count(struct ft *t, ...);
const char *ft_get(const struct ft_event *e, const char *name);
/* Checks name == value (value NULL: absent) and fails the test otherwise. */
void ft_expect(const struct ft_event *e, const char *name, const char *value);
void ft_dump_events(const struct ft *t);
/* fork() whose child dies with the test (PR_SET_PDEATHSIG). */
pid_t ft_fork(void);
/* One operation through a new io_uring ring (no liburing: the kernel's
 * ABI): *sqe submitted, its completion's result in *res (with
 * IOSQE_CQE_SKIP_SUCCESS, which posts none on success: a NOP linked after
 * it is waited for, and *res is 0 once it succeeded). An SQE with a
 * file_index (an open into a fixed-file slot) gets a sparse table of two
 * slots registered first. Returns 0, or -1
 * when the ring cannot be made (io_uring disabled:
 * kernel.io_uring_disabled). */
int ft_uring(const struct io_uring_sqe *sqe, int *res);
/* The wall clock now, ns since the epoch. */
uint64_t ft_now_ns(void);
/* Fails the test unless e's time is within [from_ns, to_ns] (with 5 ms of
 * slack each side): the kernel's time of the action, not the time a later
 * poll read it. */
void ft_expect_time(const struct ft_event *e, uint64_t from_ns, uint64_t to_ns);
/* The image of the running program (readlink /proc/self/exe). */
const char *ft_self_image(void);

#endif
