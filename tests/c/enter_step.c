/* io_uring_enter as the C trap step serves it (dataplane.c ps_dp_enter):
 * one hot SQE per enter (NOP, READ, READV, WRITEV, FSYNC on a regular
 * file), the ring fd's readiness after such enters (poll, edge-triggered
 * epoll), a registered eventfd, and the cases C hands to Python part-way:
 * an SQE the data plane leaves (a pipe read) after a hot one, a wait for
 * more CQEs than are ready, to_submit beyond the SQEs queued, a bad SQ
 * index, a SINGLE_ISSUER ring entered by another thread, a forked child,
 * a DEFER_TASKRUN ring with a completion deferred outside the call.
 * Everything printed must be what Linux prints.
 *
 * usage: enter_step FILE [many]   (many: only the NOP loop, 3000 enters) */
#include "rawring.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

static struct rawring R;

static struct io_uring_sqe rw_sqe(int op, int fd, void *addr, unsigned len, unsigned long long off,
				  unsigned long long ud)
{
	struct io_uring_sqe s;
	memset(&s, 0, sizeof(s));
	s.opcode = op;
	s.fd = fd;
	s.addr = (unsigned long long)(uintptr_t)addr;
	s.len = len;
	s.off = off;
	s.user_data = ud;
	return s;
}

static int one(const struct io_uring_sqe *s, struct io_uring_cqe *c)
{
	rawring_push(&R, s);
	int ret = sys_enter(R.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (ret != 1)
		return ret < 0 ? ret : -1000 - ret;
	if (!rawring_pop(&R, c))
		return -2000;
	return 1;
}

static void nop_loop(int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe s = nop_sqe(1000 + i);
		struct io_uring_cqe c;
		if (one(&s, &c) != 1 || c.user_data != (unsigned long long)(1000 + i) || c.res != 0)
			bad++;
	}
	printf("nop: %d enters, bad %d\n", n, bad);
}

static int pipefd[2];

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(100000);
	if (write(pipefd[1], "later", 5) != 5)
		FAIL("late write");
	return NULL;
}

static void *other_thread_enter(void *arg)
{
	(void)arg;
	struct io_uring_sqe s = nop_sqe(77);
	rawring_push(&R, &s);
	int ret = sys_enter(R.fd, 1, 0, 0, NULL, 0);
	printf("single issuer, other thread: %d %s\n", ret, ret < 0 ? strerror(errno) : "");
	return NULL;
}

static void drain(const char *what)
{
	struct io_uring_cqe c;
	printf("%s:", what);
	while (rawring_pop(&R, &c))
		printf(" (%llu %d)", (unsigned long long)c.user_data, c.res);
	printf("\n");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2)
		FAIL("usage: enter_step FILE [many]");
	int ret = rawring_init(&R, 8, 0);
	if (ret < 0)
		FAIL("setup: %s", strerror(-ret));
	if (argc > 2) {
		nop_loop(3000);
		return 0;
	}
	nop_loop(300);

	/* READ one page at a time from a regular file. */
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		FAIL("open: %s", strerror(errno));
	static char page[4096], buf[4096];
	for (int i = 0; i < 16; i++) {
		memset(page, 'a' + i, sizeof(page));
		if (pwrite(fd, page, sizeof(page), i * 4096) != 4096)
			FAIL("pwrite");
	}
	int bad = 0;
	for (int i = 0; i < 200; i++) {
		struct io_uring_sqe s = rw_sqe(IORING_OP_READ, fd, buf, 4096, (i % 16) * 4096, i);
		struct io_uring_cqe c;
		memset(buf, 0, sizeof(buf));
		if (one(&s, &c) != 1 || c.res != 4096 || c.user_data != (unsigned long long)i
		    || buf[0] != 'a' + i % 16 || buf[4095] != 'a' + i % 16)
			bad++;
	}
	printf("read: 200 enters, bad %d\n", bad);

	/* WRITEV, FSYNC, READV. */
	char w1[5] = "hello", w2[6] = " world", r1[5], r2[6];
	struct iovec wv[2] = {{w1, 5}, {w2, 6}}, rv[2] = {{r1, 5}, {r2, 6}};
	struct io_uring_sqe s = rw_sqe(IORING_OP_WRITEV, fd, wv, 2, 100, 1);
	struct io_uring_cqe c;
	ret = one(&s, &c);
	printf("writev: %d res %d\n", ret, c.res);
	s = rw_sqe(IORING_OP_FSYNC, fd, NULL, 0, 0, 2);
	ret = one(&s, &c);
	printf("fsync: %d res %d\n", ret, c.res);
	s = rw_sqe(IORING_OP_READV, fd, rv, 2, 100, 3);
	ret = one(&s, &c);
	printf("readv: %d res %d '%.5s%.6s'\n", ret, c.res, r1, r2);

	/* The ring fd's readiness: a CQE waiting, then reaped and entered. */
	struct pollfd pfd = {R.fd, POLLIN, 0};
	s = nop_sqe(5);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 1, 0, 0, NULL, 0);
	printf("enter no wait: %d, poll %d revents %#x\n", ret, poll(&pfd, 1, 0), pfd.revents);
	drain("reaped");
	ret = sys_enter(R.fd, 0, 0, 0, NULL, 0);
	pfd.revents = 0;
	printf("enter nothing: %d, poll %d revents %#x\n", ret, poll(&pfd, 1, 0), pfd.revents);

	/* Edge-triggered epoll: each enter that posts is a new edge. */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET}, out[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, R.fd, &ev);
	for (int i = 0; i < 3; i++) {
		s = nop_sqe(10 + i);
		rawring_push(&R, &s);
		ret = sys_enter(R.fd, 1, 0, 0, NULL, 0);
		printf("epoll et after enter %d: %d\n", ret, epoll_wait(ep, out, 2, 0));
	}
	printf("epoll et, nothing new: %d\n", epoll_wait(ep, out, 2, 0));
	drain("reaped");
	close(ep);

	/* A registered eventfd: told of each enter's CQE. */
	int efd = eventfd(0, EFD_NONBLOCK);
	ret = (int)syscall(__NR_io_uring_register, R.fd, IORING_REGISTER_EVENTFD, &efd, 1);
	printf("register eventfd: %d\n", ret);
	for (int i = 0; i < 3; i++) {
		s = nop_sqe(20 + i);
		ret = one(&s, &c);
	}
	uint64_t count = 0;
	printf("eventfd after 3 enters: %zd count %llu\n", read(efd, &count, 8),
	       (unsigned long long)count);
	syscall(__NR_io_uring_register, R.fd, IORING_UNREGISTER_EVENTFD, NULL, 0);
	close(efd);

	/* A hot SQE, one the data plane leaves (a pipe read), a hot one. */
	if (pipe(pipefd) < 0)
		FAIL("pipe");
	if (write(pipefd[1], "piped", 5) != 5)
		FAIL("write");
	char pbuf[8] = {0};
	s = nop_sqe(30);
	rawring_push(&R, &s);
	s = rw_sqe(IORING_OP_READ, pipefd[0], pbuf, 5, 0, 31);
	rawring_push(&R, &s);
	s = nop_sqe(32);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 3, 3, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("mixed batch: %d '%s'\n", ret, pbuf);
	drain("cqes");

	/* A hot SQE submitted, then a wait for a CQE still to come. */
	s = rw_sqe(IORING_OP_READ, pipefd[0], pbuf, 5, 0, 40);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 1, 0, 0, NULL, 0);
	printf("pipe read pending: %d\n", ret);
	pthread_t th;
	pthread_create(&th, NULL, late_writer, NULL);
	s = nop_sqe(41);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 1, 2, IORING_ENTER_GETEVENTS, NULL, 0);
	pthread_join(th, NULL);
	printf("wait for 2: %d '%s'\n", ret, pbuf);
	drain("cqes");

	/* to_submit beyond the SQEs queued: no wait. */
	s = nop_sqe(50);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 4, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("to_submit 4 with 1 queued: %d\n", ret);
	drain("cqes");

	/* A bad SQ index between two NOPs. */
	s = nop_sqe(60);
	rawring_push(&R, &s);
	s = nop_sqe(61);
	unsigned slot = rawring_push(&R, &s);
	R.sq_array[slot] = 1000;
	s = nop_sqe(62);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 3, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("bad index: %d dropped %u\n", ret, *R.sq_dropped);
	ret = sys_enter(R.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("after it: %d\n", ret);
	drain("cqes");

	/* A forked child enters the ring it inherited. */
	pid_t pid = fork();
	if (pid == 0) {
		int cbad = 0;
		for (int i = 0; i < 20; i++) {
			s = nop_sqe(100 + i);
			if (one(&s, &c) != 1 || c.user_data != (unsigned long long)(100 + i))
				cbad++;
		}
		_exit(cbad);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child: exit %d\n", WEXITSTATUS(status));

	/* DEFER_TASKRUN (fio's default): hot SQEs per enter, then a pipe read
	 * completed while the submitter is outside io_uring_enter, which only a
	 * GETEVENTS enter posts (after that enter's own NOP). */
	close(R.fd);
	ret = rawring_init(&R, 8, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (ret < 0)
		FAIL("setup defer taskrun: %s", strerror(-ret));
	for (int i = 0; i < 3; i++) {
		s = nop_sqe(300 + i);
		ret = one(&s, &c);
		printf("defer taskrun nop: %d res %d ud %llu\n", ret, c.res,
		       (unsigned long long)c.user_data);
	}
	memset(pbuf, 0, sizeof(pbuf));
	s = rw_sqe(IORING_OP_READ, pipefd[0], pbuf, 5, 0, 310);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 1, 0, 0, NULL, 0);
	printf("defer taskrun pipe read: %d\n", ret);
	if (write(pipefd[1], "defer", 5) != 5)
		FAIL("write");
	ret = sys_enter(R.fd, 0, 0, 0, NULL, 0);
	printf("defer taskrun enter without GETEVENTS: %d\n", ret);
	drain("cqes");
	s = nop_sqe(311);
	rawring_push(&R, &s);
	ret = sys_enter(R.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("defer taskrun GETEVENTS: %d '%s'\n", ret, pbuf);
	drain("cqes");
	for (int i = 0; i < 3; i++) {
		s = nop_sqe(320 + i);
		ret = one(&s, &c);
		printf("defer taskrun nop: %d res %d ud %llu\n", ret, c.res,
		       (unsigned long long)c.user_data);
	}

	/* SINGLE_ISSUER: another thread's submit is refused. */
	close(R.fd);
	ret = rawring_init(&R, 8, IORING_SETUP_SINGLE_ISSUER);
	if (ret < 0)
		FAIL("setup single issuer: %s", strerror(-ret));
	for (int i = 0; i < 3; i++) {
		s = nop_sqe(200 + i);
		ret = one(&s, &c);
		printf("single issuer, submitter: %d res %d\n", ret, c.res);
	}
	pthread_create(&th, NULL, other_thread_enter, NULL);
	pthread_join(th, NULL);
	ret = sys_enter(R.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("single issuer, submitter again: %d\n", ret);
	drain("cqes");
	return 0;
}
