/* IORING_OP_EPOLL_WAIT (59): an epoll_wait(2) with no timeout that waits
 * for the epoll fd to be ready instead of blocking.  Prints one line per
 * case with the CQE and the events delivered. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define OP_EPOLL_WAIT 59

static struct io_uring ring;

static struct io_uring_sqe *ew(int epfd, struct epoll_event *evs, unsigned max,
			       unsigned long long ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = OP_EPOLL_WAIT;
	sqe->fd = epfd;
	sqe->addr = (unsigned long)evs;
	sqe->len = max;
	sqe->user_data = ud;
	return sqe;
}

static void run(const char *what, int n)
{
	struct io_uring_cqe *cqe;
	io_uring_submit(&ring);
	printf("%s:", what);
	for (int i = 0; i < n; i++) {
		io_uring_wait_cqe(&ring, &cqe);
		printf(" [ud=%llu res=%d flags=%u]", (unsigned long long)cqe->user_data, cqe->res,
		       cqe->flags);
		io_uring_cqe_seen(&ring, cqe);
	}
	printf("\n");
}

static void show(struct epoll_event *evs, int n)
{
	printf("  events:");
	for (int i = 0; i < n; i++)
		printf(" {0x%x data=0x%llx}", evs[i].events, (unsigned long long)evs[i].data.u64);
	printf("\n");
}

static int pending(void)
{
	struct io_uring_cqe *cqe;
	return io_uring_peek_cqe(&ring, &cqe) == -EAGAIN;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init(16, &ring, 0))
		return 1;
	int epfd = epoll_create1(0);
	int a[2], b[2];
	pipe(a);
	pipe(b);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ULL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, a[0], &ev);
	ev.data.u64 = 0xb0;
	ev.events = EPOLLIN | EPOLLET;
	epoll_ctl(epfd, EPOLL_CTL_ADD, b[0], &ev);
	struct epoll_event evs[8];

	/* Nothing ready: it waits. */
	memset(evs, 0, sizeof(evs));
	ew(epfd, evs, 8, 1);
	io_uring_submit(&ring);
	printf("waits with nothing ready: %d\n", pending());
	write(a[1], "x", 1);
	run("a readable", 1);
	show(evs, 1);

	/* Already ready: at once, both (the edge-triggered one once). */
	write(b[1], "y", 1);
	memset(evs, 0, sizeof(evs));
	ew(epfd, evs, 8, 2);
	run("both ready", 1);
	show(evs, 2);
	memset(evs, 0, sizeof(evs));
	ew(epfd, evs, 8, 3);
	run("again: level-triggered only", 1);
	show(evs, 1);
	memset(evs, 0, sizeof(evs));
	write(b[1], "y", 1);
	ew(epfd, evs, 1, 4);
	run("maxevents 1", 1);
	show(evs, 1);

	/* Checks. */
	ew(epfd, evs, 0, 10);
	run("maxevents 0", 1);
	ew(epfd, evs, 0x80000000u, 11);
	run("maxevents negative", 1);
	ew(epfd, (void *)16, 8, 12);
	run("unwritable events", 1);
	ew(a[0], evs, 8, 13);
	run("not an epoll fd", 1);
	ew(999, evs, 8, 14);
	run("bad fd", 1);
	ew(epfd, evs, 8, 15)->off = 1;
	run("off set", 1);
	ew(epfd, evs, 8, 16)->rw_flags = 1;
	run("rw_flags set", 1);
	ew(epfd, evs, 8, 17)->buf_index = 1;
	run("buf_index set", 1);
	ew(epfd, evs, 8, 18)->flags |= IOSQE_BUFFER_SELECT;
	run("buffer select", 1);

	/* Cancel a waiting one; a link after it. */
	char buf[8];
	read(a[0], buf, sizeof(buf));
	read(b[0], buf, sizeof(buf));
	ew(epfd, evs, 8, 20);
	io_uring_submit(&ring);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_cancel64(sqe, 20, 0);
	sqe->user_data = 21;
	run("cancel", 2);
	ew(epfd, evs, 8, 22)->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 23;
	io_uring_submit(&ring);
	write(a[1], "z", 1);
	run("linked nop after a wait", 2);
	return 0;
}
