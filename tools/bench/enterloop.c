/*
 * enterloop: the cost of one io_uring_enter carrying one SQE, as a loop of
 * N (the shape of fio's io_uring defaults and qemu's: submit one, reap).
 *
 *   enterloop nop [N]          one NOP per io_uring_enter(1, 1, GETEVENTS)
 *   enterloop read FILE [N]    one 4 KiB READ at offset 0 of a regular file
 *   enterloop eventfd [N]      an 8-byte eventfd write(2), for comparison
 *                              (the trap step passes it to the host)
 *
 * Output: one line of key=value pairs, e.g.
 *   mode=nop calls=20000 secs=0.4 us_per_call=20.00
 * N/10 untimed calls come first.  Exit status: 0 ok, 1 error, 2 usage.
 * Raw syscalls, no liburing.
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char buf[4096];
	const char *mode = argc > 1 ? argv[1] : "";
	int rd = !strcmp(mode, "read"), ev = !strcmp(mode, "eventfd");
	if (!rd && !ev && strcmp(mode, "nop")) {
		fprintf(stderr, "usage: enterloop nop [N] | read FILE [N] | eventfd [N]\n");
		return 2;
	}
	long n = atol(argc > 2 + rd ? argv[2 + rd] : "20000");
	int fd = -1;
	if (rd && (argc < 3 || (fd = open(argv[2], O_RDONLY)) < 0)) {
		perror("open");
		return argc < 3 ? 2 : 1;
	}
	if (n <= 0)
		return 2;
	double t0 = 0;
	if (ev) {
		int efd = eventfd(0, EFD_NONBLOCK);
		uint64_t one = 1;
		for (long i = -(n / 10); i < n; i++) {
			if (i == 0)
				t0 = mono_now();
			if (write(efd, &one, 8) != 8) {
				perror("write");
				return 1;
			}
		}
	} else {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
		if (ring < 0) {
			perror("io_uring_setup");
			return 1;
		}
		char *sq = mmap(0, p.sq_off.array + p.sq_entries * 4, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
		char *cq = mmap(0, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
				PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
		struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
						 MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
		if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail);
		unsigned *sq_array = (unsigned *)(sq + p.sq_off.array);
		unsigned *cq_head = (unsigned *)(cq + p.cq_off.head);
		unsigned cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
		struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
		memset(&sqes[0], 0, sizeof(sqes[0]));
		sqes[0].opcode = rd ? IORING_OP_READ : IORING_OP_NOP;
		sqes[0].fd = fd;
		sqes[0].addr = (uintptr_t)buf;
		sqes[0].len = rd ? sizeof(buf) : 0;
		for (unsigned i = 0; i < p.sq_entries; i++)
			sq_array[i] = 0;
		for (long i = -(n / 10); i < n; i++) {
			if (i == 0)
				t0 = mono_now();
			__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
			int r = (int)syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS,
					     NULL, 0);
			unsigned head = *cq_head;
			if (r != 1 || head == __atomic_load_n((unsigned *)(cq + p.cq_off.tail),
							      __ATOMIC_ACQUIRE)
			    || cqes[head & cq_mask].res != (rd ? (int)sizeof(buf) : 0)) {
				fprintf(stderr, "enter %d\n", r);
				return 1;
			}
			__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
		}
	}
	double secs = mono_now() - t0;
	printf("mode=%s calls=%ld secs=%.6f us_per_call=%.2f\n", mode, n, secs, secs * 1e6 / n);
	return 0;
}
