/* IORING_SETUP_SQPOLL: submissions without io_uring_enter, NEED_WAKEUP. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

int main(int argc, char **argv)
{
	struct io_uring r;
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL;
	p.sq_thread_idle = 100;
	int ret = io_uring_queue_init_params(8, &r, &p);
	if (ret)
		FAIL("init: %s", strerror(-ret));
	printf("sqpoll ring: ok\n");

	/* Queue NOPs by hand: only the tail moves, no syscall. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++) {
			struct io_uring_sqe *s = io_uring_get_sqe(&r);
			io_uring_prep_nop(s);
			s->user_data = round * 10 + i;
		}
		io_uring_smp_store_release(r.sq.ktail, r.sq.sqe_tail);
		/* Spin on the CQ ring (no syscall) until all 4 are there. */
		unsigned seen = 0;
		for (long spin = 0; seen < 4 && spin < 2000000000L; spin++) {
			struct io_uring_cqe *c;
			while (!io_uring_peek_cqe(&r, &c)) {
				if (c->user_data != (unsigned long long)(round * 10 + seen))
					FAIL("order");
				io_uring_cqe_seen(&r, c);
				seen++;
			}
			if (*r.sq.kflags & IORING_SQ_NEED_WAKEUP)
				syscall(__NR_io_uring_enter, r.ring_fd, 0, 0, IORING_ENTER_SQ_WAKEUP, NULL, 0);
		}
		printf("round %d: %u completions\n", round, seen);
	}
	/* After the idle time the thread asks to be woken. */
	usleep(400000);
	printf("need wakeup after idle: %d\n", !!(*r.sq.kflags & IORING_SQ_NEED_WAKEUP));
	/* liburing's submit wakes it when needed. */
	io_uring_prep_nop(io_uring_get_sqe(&r));
	ret = io_uring_submit_and_wait(&r, 1);
	printf("submit after idle: %d\n", ret);
	struct io_uring_cqe *c;
	io_uring_wait_cqe(&r, &c);
	printf("cqe res: %d\n", c->res);
	io_uring_cqe_seen(&r, c);

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQ_AFF;
	struct io_uring r2;
	printf("SQ_AFF without SQPOLL: %d\n", io_uring_queue_init_params(4, &r2, &p));
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF;
	p.sq_thread_cpu = 4096;
	printf("SQ_AFF on a missing CPU: %d\n", io_uring_queue_init_params(4, &r2, &p));
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_ATTACH_WQ;
	p.wq_fd = 1;
	printf("ATTACH_WQ to a non-ring: %d\n", io_uring_queue_init_params(4, &r2, &p));
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ;
	p.wq_fd = r.ring_fd;
	ret = io_uring_queue_init_params(4, &r2, &p);
	printf("ATTACH_WQ to the sqpoll ring: %d\n", ret);
	return 0;
}
