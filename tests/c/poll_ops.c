/* POLL_ADD / POLL_REMOVE: one-shot, multishot (edge), updates, removal. */
#define _GNU_SOURCE
#include <liburing.h>
#include "cqe_sorted.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	int k = reap_sorted(&r, got, n, 1);
	for (int i = 0; i < k; i++)
		printf("%s: user_data=%llu res=%#x more=%d\n", tag, got[i].ud, got[i].res, got[i].more);
	if (k != n)
		printf("%s: got %d of %d\n", tag, k, n);
}

int main(void)
{
	if (io_uring_queue_init(16, &r, 0))
		FAIL("init");
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	char buf[64];

	/* One-shot on an empty pipe: completes when written. */
	io_uring_prep_poll_add(sqe(1), p[0], POLLIN);
	io_uring_submit(&r);
	if (write(p[1], "a", 1) != 1)
		FAIL("write");
	drain("oneshot", 1);
	/* Already ready: completes at once; POLLOUT on the write end too. */
	io_uring_prep_poll_add(sqe(2), p[0], POLLIN);
	io_uring_prep_poll_add(sqe(3), p[1], POLLOUT);
	io_uring_submit(&r);
	drain("ready", 2);
	if (read(p[0], buf, sizeof(buf)) != 1)
		FAIL("read");

	/* A regular file is always ready. */
	int f = open("/proc/self/exe", O_RDONLY);
	io_uring_prep_poll_add(sqe(4), f, POLLIN | POLLOUT);
	io_uring_submit(&r);
	drain("regular file", 1);

	/* Remove a pending poll: it ends with -ECANCELED, the remove with 0. */
	io_uring_prep_poll_add(sqe(5), p[0], POLLIN);
	io_uring_submit(&r);
	io_uring_prep_poll_remove(sqe(6), 5);
	io_uring_submit(&r);
	drain("remove", 2);
	io_uring_prep_poll_remove(sqe(7), 12345);
	io_uring_submit(&r);
	drain("remove unknown", 1);

	/* Multishot: one CQE per write, each flagged MORE, until removed. */
	io_uring_prep_poll_multishot(sqe(8), p[0], POLLIN);
	io_uring_submit(&r);
	for (int i = 0; i < 3; i++) {
		if (write(p[1], "b", 1) != 1)
			FAIL("write");
		struct io_uring_cqe *c;
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait");
		printf("multishot event %d: user_data=%llu res=%#x more=%d\n", i,
		       (unsigned long long)c->user_data, c->res, !!(c->flags & IORING_CQE_F_MORE));
		io_uring_cqe_seen(&r, c);
		if (read(p[0], buf, sizeof(buf)) != 1)
			FAIL("read");
	}
	/* Update its user_data, then remove it. */
	io_uring_prep_poll_update(sqe(9), 8, 80, 0, IORING_POLL_UPDATE_USER_DATA);
	io_uring_submit(&r);
	drain("update", 1);
	if (write(p[1], "c", 1) != 1)
		FAIL("write");
	drain("after update", 1);
	if (read(p[0], buf, sizeof(buf)) != 1)
		FAIL("read");
	/* An events update keeps a multishot poll multishot, though the update
	 * itself does not say IORING_POLL_ADD_MULTI. */
	io_uring_prep_poll_update(sqe(15), 80, 0, POLLIN | POLLRDNORM, IORING_POLL_UPDATE_EVENTS);
	io_uring_submit(&r);
	drain("update events", 1);
	for (int i = 0; i < 2; i++) {
		if (write(p[1], "d", 1) != 1)
			FAIL("write");
		drain(i ? "after events update, again" : "after events update", 1);
		if (read(p[0], buf, sizeof(buf)) != 1)
			FAIL("read");
	}
	io_uring_prep_poll_remove(sqe(10), 80);
	io_uring_submit(&r);
	drain("remove multishot", 2);

	/* Bad SQEs. */
	/* (Each alone: an SQE that fails to initialise ends its batch.) */
	struct io_uring_sqe *s = sqe(11);
	io_uring_prep_poll_add(s, p[0], POLLIN);
	s->addr = 1;
	io_uring_submit(&r);
	drain("bad addr", 1);
	s = sqe(12);
	io_uring_prep_poll_add(s, p[0], POLLIN);
	s->len = 1u << 7;
	io_uring_submit(&r);
	drain("bad flags", 1);
	s = sqe(13);
	io_uring_prep_poll_add(s, 999, POLLIN);
	io_uring_submit(&r);
	drain("bad fd", 1);
	s = sqe(14);
	io_uring_prep_poll_multishot(s, p[0], POLLIN);
	s->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_submit(&r);
	drain("multishot with skip", 1);
	return 0;
}
