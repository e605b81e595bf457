/* IORING_REGISTER_EVENTFD: the eventfd counts completion batches. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

static unsigned long long drain(int efd)
{
	unsigned long long v = 0;
	if (read(efd, &v, 8) != 8)
		return 0;
	return v;
}

static void reap(struct io_uring *r, int n)
{
	struct io_uring_cqe *c;
	for (int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(r, &c))
			FAIL("wait");
		io_uring_cqe_seen(r, c);
	}
}

int main(void)
{
	struct io_uring r;
	if (io_uring_queue_init(8, &r, 0))
		FAIL("init");
	int efd = eventfd(0, EFD_NONBLOCK);
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	printf("unregister with none: %d\n", io_uring_unregister_eventfd(&r));
	printf("register a pipe: %d\n", io_uring_register_eventfd(&r, p[0]));
	printf("register a bad fd: %d\n", io_uring_register_eventfd(&r, 999));
	printf("register: %d\n", io_uring_register_eventfd(&r, efd));
	printf("register again: %d\n", io_uring_register_eventfd(&r, efd));

	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_submit(&r);
	reap(&r, 1);
	printf("after a nop, eventfd signalled: %d\n", drain(efd) > 0);

	/* A completion that arrives later (pipe read) signals too. */
	char buf[8];
	io_uring_prep_read(io_uring_get_sqe(&r), p[0], buf, sizeof(buf), 0);
	io_uring_submit(&r);
	drain(efd);
	if (write(p[1], "x", 1) != 1)
		FAIL("write");
	struct pollfd pf = { efd, POLLIN, 0 };
	printf("eventfd readable after async completion: %d\n", poll(&pf, 1, 2000) == 1);
	reap(&r, 1);
	drain(efd);

	/* IORING_CQ_EVENTFD_DISABLED turns signalling off. */
	io_uring_cq_eventfd_toggle(&r, false);
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_submit(&r);
	reap(&r, 1);
	printf("disabled: signalled=%d\n", drain(efd) > 0);
	io_uring_cq_eventfd_toggle(&r, true);

	printf("unregister: %d\n", io_uring_unregister_eventfd(&r));
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_submit(&r);
	reap(&r, 1);
	printf("after unregister: signalled=%d\n", drain(efd) > 0);

	/* EVENTFD_ASYNC: inline completions do not count, later ones do. */
	printf("register async: %d\n", io_uring_register_eventfd_async(&r, efd));
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_submit(&r);
	reap(&r, 1);
	printf("async-only after an inline nop: signalled=%d\n", drain(efd) > 0);
	io_uring_prep_read(io_uring_get_sqe(&r), p[0], buf, sizeof(buf), 0);
	io_uring_submit(&r);
	if (write(p[1], "y", 1) != 1)
		FAIL("write");
	printf("async-only after a pipe read: readable=%d\n", poll(&pf, 1, 2000) == 1);
	reap(&r, 1);
	return 0;
}
