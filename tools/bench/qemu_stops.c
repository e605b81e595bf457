/*
 * qemu_stops: what the syscalls of `qemu-img bench -i io_uring` cost, one
 * kind at a time, and together (docs/performance.md, "qemu-img's eventfd
 * writes").  FILE should be in the page cache (64 MiB: the bench's file).
 *
 *   qemu_stops FILE costs N     µs per call over N calls each: io_uring_enter
 *                               with one NOP, with one 4 KiB READV, a 4 KiB
 *                               pread64, an eventfd write
 *   qemu_stops FILE pattern W N qemu's pattern for N page-cached reads with
 *                               32 in flight: per read one io_uring_enter
 *                               with one READV, then W eventfd writes (qemu
 *                               makes 2); per 32 reads a ppoll (timeout 0)
 *                               of the ring fd and the eventfd, and an
 *                               eventfd read when it is readable.  Prints
 *                               the seconds taken.
 *
 * Build: gcc -O2 -o qemu_stops qemu_stops.c -luring
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define BLOCKS 16000    /* 4 KiB blocks visited in turn: 62.5 MiB */

static struct io_uring ring;
static char buf[4096];
static struct iovec iov = { buf, sizeof buf };

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* One SQE, submitted with io_uring_enter(fd, 1, 0, 0); its CQE reaped. */
static void one(int fd, int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	struct io_uring_cqe *cqe;

	if (fd < 0)
		io_uring_prep_nop(sqe);
	else
		io_uring_prep_readv(sqe, fd, &iov, 1, (uint64_t)(i % BLOCKS) * sizeof buf);
	if (io_uring_submit(&ring) != 1 ||
	    (io_uring_peek_cqe(&ring, &cqe) && io_uring_wait_cqe(&ring, &cqe))) {
		fprintf(stderr, "io_uring failed\n");
		exit(1);
	}
	if (cqe->res < 0) {
		fprintf(stderr, "cqe res %d\n", cqe->res);
		exit(1);
	}
	io_uring_cqe_seen(&ring, cqe);
}

int main(int argc, char **argv)
{
	uint64_t one_count = 1, value;
	int fd, efd, n, writes = 0;
	double t[5];

	if (argc < 4 || (!strcmp(argv[2], "pattern") && argc < 5)) {
		fprintf(stderr, "usage: %s FILE costs N | FILE pattern W N\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0 || efd < 0 || io_uring_queue_init(128, &ring, 0)) {
		perror("setup");
		return 1;
	}
	if (!strcmp(argv[2], "costs")) {
		n = atoi(argv[3]);
		/* Untimed warm-up: under pysentry the CPU placement settles in
		 * the first stops (docs/performance.md, "Trap latency"). */
		for (int i = 0; i < n; i++)
			one(-1, i);
		t[0] = now();
		for (int i = 0; i < n; i++)
			one(-1, i);
		t[1] = now();
		for (int i = 0; i < n; i++)
			one(fd, i);
		t[2] = now();
		for (int i = 0; i < n; i++)
			if (pread(fd, buf, sizeof buf, (off_t)(i % BLOCKS) * sizeof buf) < 0)
				return 1;
		t[3] = now();
		for (int i = 0; i < n; i++)
			if (write(efd, &one_count, 8) != 8)
				return 1;
		t[4] = now();
		printf("us/call: enter+NOP %.1f enter+READV %.1f pread64 %.1f eventfd write %.1f\n",
		       (t[1] - t[0]) * 1e6 / n, (t[2] - t[1]) * 1e6 / n, (t[3] - t[2]) * 1e6 / n,
		       (t[4] - t[3]) * 1e6 / n);
		return 0;
	}
	writes = atoi(argv[3]);
	n = atoi(argv[4]);
	t[0] = now();
	for (int i = 0; i < n; i++) {
		one(fd, i);
		for (int w = 0; w < writes; w++)
			if (write(efd, &one_count, 8) != 8)
				return 1;
		if (i % 32 == 31) {
			struct pollfd p[2] = { { efd, POLLIN, 0 }, { ring.ring_fd, POLLIN, 0 } };
			struct timespec zero = { 0, 0 };
			if (ppoll(p, 2, &zero, NULL) < 0)
				return 1;
			if ((p[0].revents & POLLIN) && read(efd, &value, 8) != 8)
				return 1;
		}
	}
	t[1] = now();
	printf("%d eventfd writes per read: %.3f s\n", writes, t[1] - t[0]);
	return 0;
}
