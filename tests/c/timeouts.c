/* TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT and ASYNC_CANCEL. */
#define _GNU_SOURCE
#include <liburing.h>
#include "cqe_sorted.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)
static struct io_uring r;

static struct io_uring_sqe *sqe(unsigned long long ud)
{
	return sqe_ud(&r, ud);
}

/* Print the next n CQEs sorted by user_data. */
static void drain(const char *tag, int n)
{
	struct sorted_cqe got[64];
	int k = reap_sorted(&r, got, n, 3);
	for (int i = 0; i < k; i++)
		printf("%s: user_data=%llu res=%d more=%d\n", tag, got[i].ud, got[i].res, got[i].more);
	if (k != n)
		printf("%s: only %d of %d\n", tag, k, n);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void)
{
	if (io_uring_queue_init(16, &r, 0))
		FAIL("init");
	struct __kernel_timespec ts50 = { 0, 50 * 1000 * 1000 }, ts10s = { 10, 0 };
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	char buf[16];

	/* A plain 50 ms timeout: -ETIME, after about 50 ms. */
	double t0 = now();
	io_uring_prep_timeout(sqe(1), &ts50, 0, 0);
	io_uring_submit(&r);
	drain("timeout", 1);
	printf("waited-enough=%d\n", now() - t0 >= 0.045);

	/* A count of 2 completions ends it with 0 before the timer. */
	io_uring_prep_timeout(sqe(2), &ts10s, 2, 0);
	io_uring_prep_nop(sqe(3));
	io_uring_prep_nop(sqe(4));
	io_uring_submit(&r);
	drain("count", 3);

	/* Remove a pending timeout; update another; remove an unknown one. */
	io_uring_prep_timeout(sqe(5), &ts10s, 0, 0);
	io_uring_submit(&r);
	io_uring_prep_timeout_remove(sqe(6), 5, 0);
	io_uring_submit(&r);
	drain("remove", 2);
	io_uring_prep_timeout(sqe(7), &ts10s, 0, 0);
	io_uring_submit(&r);
	io_uring_prep_timeout_update(sqe(8), &ts50, 7, 0);
	io_uring_submit(&r);
	drain("update", 2);
	io_uring_prep_timeout_remove(sqe(9), 4242, 0);
	io_uring_submit(&r);
	drain("remove unknown", 1);

	/* Bad timeouts. */
	struct io_uring_sqe *s = sqe(10);
	io_uring_prep_timeout(s, &ts50, 0, 0);
	s->len = 2;
	io_uring_submit(&r);
	drain("len 2", 1);
	io_uring_prep_timeout(sqe(11), &ts50, 0, 1u << 20);
	io_uring_submit(&r);
	drain("bad flags", 1);
	io_uring_prep_timeout(sqe(12), (void *)8, 0, 0);
	io_uring_submit(&r);
	drain("bad pointer", 1);
	io_uring_prep_timeout(sqe(13), &ts50, 0, IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME);
	io_uring_submit(&r);
	drain("two clocks", 1);

	/* LINK_TIMEOUT on a read that never gets data: read -ECANCELED, timeout -ETIME. */
	s = sqe(20);
	io_uring_prep_read(s, p[0], buf, sizeof(buf), 0);
	s->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(sqe(21), &ts50, 0);
	io_uring_submit(&r);
	drain("link timeout fires", 2);
	/* The guarded request finishes first: the link timeout is -ECANCELED. */
	s = sqe(22);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(sqe(23), &ts10s, 0);
	io_uring_submit(&r);
	drain("link timeout cancelled", 2);
	/* A LINK_TIMEOUT not linked to anything is -EINVAL. */
	io_uring_prep_link_timeout(sqe(24), &ts50, 0);
	io_uring_submit(&r);
	drain("lone link timeout", 1);

	/* ASYNC_CANCEL of a waiting read, by user_data, by fd, of nothing. */
	io_uring_prep_read(sqe(30), p[0], buf, sizeof(buf), 0);
	io_uring_submit(&r);
	io_uring_prep_cancel64(sqe(31), 30, 0);
	io_uring_submit(&r);
	drain("cancel by user_data", 2);
	io_uring_prep_read(sqe(32), p[0], buf, sizeof(buf), 0);
	io_uring_prep_read(sqe(33), p[0], buf, sizeof(buf), 0);
	io_uring_submit(&r);
	s = sqe(34);
	io_uring_prep_cancel_fd(s, p[0], IORING_ASYNC_CANCEL_ALL);
	io_uring_submit(&r);
	drain("cancel all by fd", 3);
	io_uring_prep_cancel64(sqe(35), 999, 0);
	io_uring_submit(&r);
	drain("cancel nothing", 1);
	io_uring_prep_timeout(sqe(36), &ts10s, 0, 0);
	io_uring_submit(&r);
	io_uring_prep_cancel64(sqe(37), 36, 0);
	io_uring_submit(&r);
	drain("cancel a timeout", 2);
	s = sqe(38);
	io_uring_prep_cancel64(s, 1, 0);
	s->rw_flags = 1u << 20;
	io_uring_submit(&r);
	drain("cancel bad flags", 1);

	/* A timeout does not count other timeouts' completions. */
	io_uring_prep_timeout(sqe(40), &ts10s, 1, 0);
	io_uring_prep_timeout(sqe(41), &ts50, 0, 0);
	io_uring_submit(&r);
	drain("timeouts do not count", 1);
	io_uring_prep_nop(sqe(42));
	io_uring_submit(&r);
	drain("then a nop counts", 2);
	return 0;
}
