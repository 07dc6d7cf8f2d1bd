/* uringnop: what the agent's io_uring programs add to every io_uring
 * operation of the machine (docs/sensors.md, "Network", io_uring): one
 * thread submits IORING_OP_NOP in batches of 64 through one ring (the
 * kernel's ABI, no liburing) and waits for each batch's completions, for
 * SECONDS; a NOP does nothing else, so the time per operation is the
 * kernel's io_uring path plus whatever runs on its tracepoints.
 * Usage: uringnop [SECONDS (2)]; prints "OPS SECONDS NS_PER_OP". */
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define UN_BATCH 64

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 2, t0, t;
	struct io_uring_params p;
	struct io_uring_sqe *sqes;
	size_t ssz, csz;
	unsigned *tail, *array, *chead, *ctail, mask;
	long ops = 0;
	char *sq;
	int fd;

	if (!(secs > 0)) {
		fprintf(stderr, "usage: uringnop [SECONDS]\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, UN_BATCH, &p);
	if (fd < 0) {
		perror("uringnop: io_uring_setup");
		return 1;
	}
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		fprintf(stderr, "uringnop: kernel without IORING_FEAT_SINGLE_MMAP\n");
		return 1;
	}
	ssz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	csz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (csz > ssz)
		ssz = csz;
	sq = mmap(NULL, ssz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_SQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || sqes == MAP_FAILED) {
		perror("uringnop: mmap");
		return 1;
	}
	tail = (unsigned *)(sq + p.sq_off.tail);
	array = (unsigned *)(sq + p.sq_off.array);
	chead = (unsigned *)(sq + p.cq_off.head);
	ctail = (unsigned *)(sq + p.cq_off.tail);
	mask = p.sq_entries - 1;
	t0 = now_s();
	do {
		unsigned k = *tail;

		for (unsigned i = 0; i < UN_BATCH; i++) {
			unsigned s = (k + i) & mask;

			memset(&sqes[s], 0, sizeof(sqes[s]));
			sqes[s].opcode = IORING_OP_NOP;
			array[s] = s;
		}
		__atomic_store_n(tail, k + UN_BATCH, __ATOMIC_RELEASE);
		if (syscall(__NR_io_uring_enter, fd, UN_BATCH, UN_BATCH, IORING_ENTER_GETEVENTS,
			    NULL, 0) != UN_BATCH) {
			perror("uringnop: io_uring_enter");
			return 1;
		}
		if (__atomic_load_n(ctail, __ATOMIC_ACQUIRE) - *chead != UN_BATCH) {
			fprintf(stderr, "uringnop: completions missing\n");
			return 1;
		}
		__atomic_store_n(chead, *chead + UN_BATCH, __ATOMIC_RELEASE);
		ops += UN_BATCH;
		t = now_s();
	} while (t - t0 < secs);
	printf("%ld %.3f %.1f\n", ops, t - t0, (t - t0) * 1e9 / (double)ops);
	return 0;
}
