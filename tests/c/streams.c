/* io_uring on pipes, eventfds and sockets: requests wait for readiness. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

static int wfd;

static void *late_writer(void *arg)
{
	usleep(50000);
	if (write(wfd, arg, strlen(arg)) < 0)
		FAIL("write");
	return NULL;
}

static void wait_print(struct io_uring *r, const char *tag, char *buf)
{
	struct io_uring_cqe *cqe;
	if (io_uring_wait_cqe(r, &cqe))
		FAIL("wait");
	printf("%s: user_data=%llu res=%d", tag, (unsigned long long)cqe->user_data, cqe->res);
	if (buf && cqe->res > 0)
		printf(" data=%.*s", cqe->res, buf);
	printf("\n");
	io_uring_cqe_seen(r, cqe);
}

int main(void)
{
	struct io_uring r;
	char buf[64];
	pthread_t t;
	if (io_uring_queue_init(8, &r, 0))
		FAIL("init");

	/* READ on an empty pipe completes when a thread writes later. */
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	struct io_uring_sqe *s = io_uring_get_sqe(&r);
	io_uring_prep_read(s, p[0], buf, sizeof(buf), 0);
	s->user_data = 1;
	printf("submitted: %d\n", io_uring_submit(&r));
	wfd = p[1];
	pthread_create(&t, NULL, late_writer, "from-thread");
	wait_print(&r, "pipe read", buf);
	pthread_join(t, NULL);

	/* Two READs queued on one pipe, served in order. */
	for (int i = 0; i < 2; i++) {
		s = io_uring_get_sqe(&r);
		io_uring_prep_read(s, p[0], buf + 32 * i, 5, 0);
		s->user_data = 10 + i;
	}
	io_uring_submit(&r);
	if (write(p[1], "AAAAABBBBB", 10) != 10)
		FAIL("write");
	/* Which waiting READ gets the data first is not specified (Linux
	 * happens to serve the later one); only the totals are compared. */
	struct io_uring_cqe *c2;
	int total = 0;
	for (int i = 0; i < 2; i++) {
		if (io_uring_wait_cqe(&r, &c2))
			FAIL("wait");
		total += c2->res;
		io_uring_cqe_seen(&r, c2);
	}
	int ab = (!memcmp(buf, "AAAAA", 5) && !memcmp(buf + 32, "BBBBB", 5)) ||
		 (!memcmp(buf, "BBBBB", 5) && !memcmp(buf + 32, "AAAAA", 5));
	printf("queued reads: total=%d both-chunks=%d\n", total, ab);

	/* WRITE to a pipe, then read(2) it back. */
	s = io_uring_get_sqe(&r);
	io_uring_prep_write(s, p[1], "via-uring", 9, 0);
	s->user_data = 2;
	io_uring_submit(&r);
	wait_print(&r, "pipe write", NULL);
	printf("read(2): %zd\n", read(p[0], buf, sizeof(buf)));

	/* EOF: the write end closed while a READ waits. */
	s = io_uring_get_sqe(&r);
	io_uring_prep_read(s, p[0], buf, sizeof(buf), 0);
	s->user_data = 3;
	io_uring_submit(&r);
	usleep(20000);
	close(p[1]);
	wait_print(&r, "read at EOF", NULL);

	/* RWF_NOWAIT asked for by the program: -EAGAIN, not a wait. */
	int q[2];
	if (pipe(q))
		FAIL("pipe");
	s = io_uring_get_sqe(&r);
	io_uring_prep_read(s, q[0], buf, sizeof(buf), 0);
	s->rw_flags = RWF_NOWAIT;
	s->user_data = 4;
	io_uring_submit(&r);
	wait_print(&r, "nowait read", NULL);

	/* eventfd: WRITE a counter, READ it back. */
	int efd = eventfd(0, 0);
	unsigned long long v = 42, got = 0;
	s = io_uring_get_sqe(&r);
	io_uring_prep_write(s, efd, &v, 8, 0);
	s->user_data = 5;
	io_uring_submit(&r);
	wait_print(&r, "eventfd write", NULL);
	s = io_uring_get_sqe(&r);
	io_uring_prep_read(s, efd, &got, 8, 0);
	s->user_data = 6;
	io_uring_submit(&r);
	wait_print(&r, "eventfd read", NULL);
	printf("eventfd value: %llu\n", got);

	/* A socketpair READ that waits for the peer. */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");
	s = io_uring_get_sqe(&r);
	io_uring_prep_read(s, sv[0], buf, sizeof(buf), 0);
	s->user_data = 7;
	io_uring_submit(&r);
	wfd = sv[1];
	pthread_create(&t, NULL, late_writer, "socket-data");
	wait_print(&r, "socket read", buf);
	pthread_join(t, NULL);
	return 0;
}
