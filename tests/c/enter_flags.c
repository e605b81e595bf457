/* io_uring_enter flags of 6.x and the features that go with them:
 * IORING_ENTER_NO_IOWAIT (FEAT_NO_IOWAIT), IORING_ENTER_ABS_TIMER,
 * io_uring_getevents_arg.min_wait_usec (FEAT_MIN_TIMEOUT), and linked
 * requests whose file is assigned at issue (FEAT_LINKED_FILE).
 * Prints results only, never timings. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ENTER_ABS_TIMER (1U << 5)
#define ENTER_EXT_ARG_REG (1U << 6)
#define ENTER_NO_IOWAIT (1U << 7)
#define FEAT_MIN_TIMEOUT (1U << 15)
#define FEAT_NO_IOWAIT (1U << 17)

struct getevents_arg {
	__u64 sigmask;
	__u32 sigmask_sz;
	__u32 min_wait_usec;
	__u64 ts;
};

static struct io_uring ring;

static const char *res(long r)
{
	static char buf[64];
	if (r < 0)
		snprintf(buf, sizeof(buf), "%ld %s", r, strerrorname_np(errno));
	else
		snprintf(buf, sizeof(buf), "%ld", r);
	return buf;
}

static long r;

static long enter(unsigned to_submit, unsigned min, unsigned flags, void *arg, size_t sz)
{
	return syscall(__NR_io_uring_enter, ring.ring_fd, to_submit, min, flags, arg, sz);
}

static int drain(void)
{
	struct io_uring_cqe *cqe;
	int n = 0;
	while (io_uring_peek_cqe(&ring, &cqe) == 0) {
		io_uring_cqe_seen(&ring, cqe);
		n++;
	}
	return n;
}

static void queue_nop(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	io_uring_submit(&ring);
}

int main(void)
{
	struct io_uring_params p = {0};
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init_params(8, &ring, &p))
		return 1;
	printf("FEAT_NO_IOWAIT: %d\n", !!(p.features & FEAT_NO_IOWAIT));
	printf("FEAT_MIN_TIMEOUT: %d\n", !!(p.features & FEAT_MIN_TIMEOUT));
	printf("FEAT_LINKED_FILE: %d\n", !!(p.features & IORING_FEAT_LINKED_FILE));

	struct __kernel_timespec ts;
	struct getevents_arg arg = { .sigmask_sz = 8 };

	/* NO_IOWAIT: accepted, and changes no result. */
	queue_nop();
	r = enter(0, 1, IORING_ENTER_GETEVENTS | ENTER_NO_IOWAIT, NULL, 8);
	printf("NO_IOWAIT wait for 1: %s cqes=%d\n", res(r), drain());
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000;
	arg.ts = (unsigned long)&ts;
	printf("NO_IOWAIT timed out: %s\n",
	       res(enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_NO_IOWAIT,
			 &arg, sizeof(arg))));

	/* ABS_TIMER: the timeout is a CLOCK_MONOTONIC time. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ts.tv_sec = now.tv_sec - 1;
	ts.tv_nsec = now.tv_nsec;
	printf("ABS_TIMER in the past: %s\n",
	       res(enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_ABS_TIMER,
			 &arg, sizeof(arg))));
	clock_gettime(CLOCK_MONOTONIC, &now);
	ts.tv_sec = now.tv_sec;
	ts.tv_nsec = now.tv_nsec + 20000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	printf("ABS_TIMER 20ms ahead: %s\n",
	       res(enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_ABS_TIMER,
			 &arg, sizeof(arg))));
	queue_nop();
	r = enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_ABS_TIMER,
			 &arg, sizeof(arg));
	printf("ABS_TIMER with a CQE ready: %s cqes=%d\n", res(r), drain());
	printf("ABS_TIMER without EXT_ARG: %s\n",
	       res(enter(0, 0, IORING_ENTER_GETEVENTS | ENTER_ABS_TIMER, NULL, 0)));

	/* min_wait_usec: after it, one CQE is enough; with no timeout it ends the wait. */
	queue_nop();
	arg.min_wait_usec = 10000;
	arg.ts = 0;
	r = enter(0, 4, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	printf("min_wait, no timeout, 1 of 4 ready: %s cqes=%d\n", res(r), drain());
	printf("min_wait, no timeout, none ready: %s\n",
	       res(enter(0, 4, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg))));
	/* With a longer timeout: after min_wait any one completion ends the wait. */
	int pfd[2];
	pipe(pfd);
	char buf[4];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, pfd[0], buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	struct __kernel_timespec lt = { 0, 30000000 };
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_link_timeout(sqe, &lt, 0);
	io_uring_submit(&ring);
	ts.tv_sec = 30;
	ts.tv_nsec = 0;
	arg.ts = (unsigned long)&ts;
	r = enter(0, 4, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	printf("min_wait, long timeout, completions later: %s cqes=%d\n", res(r), drain());
	ts.tv_sec = 0;
	ts.tv_nsec = 5000000;
	printf("min_wait longer than the timeout: %s\n",
	       res(enter(0, 4, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg))));
	arg.min_wait_usec = 0;

	/* Linked files: an OPENAT's file used by the next request of its link. */
	char path[] = "/tmp/enter_flags.XXXXXX";
	int tfd = mkstemp(path);
	write(tfd, "linked!", 7);
	close(tfd);
	int files[1] = { -1 };
	io_uring_register_files(&ring, files, 1);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, path, O_RDONLY, 0, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	char rbuf[16] = {0};
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, 0, rbuf, 7, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 2;
	io_uring_submit_and_wait(&ring, 2);
	struct io_uring_cqe *cqe;
	printf("openat direct then linked read:");
	while (io_uring_peek_cqe(&ring, &cqe) == 0) {
		printf(" [ud=%llu res=%d]", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	printf(" data=%s\n", rbuf);
	/* A normal fd: the link's read names the number the open will get. */
	int next = dup(0);
	close(next);
	memset(rbuf, 0, sizeof(rbuf));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 3;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, next, rbuf, 7, 0);
	sqe->user_data = 4;
	io_uring_submit_and_wait(&ring, 2);
	printf("openat then linked read of its fd:");
	while (io_uring_peek_cqe(&ring, &cqe) == 0) {
		printf(" [ud=%llu res=%s]", (unsigned long long)cqe->user_data,
		       cqe->res == next ? "fd" : res(cqe->res));
		io_uring_cqe_seen(&ring, cqe);
	}
	printf(" data=%s\n", rbuf);
	unlink(path);

	/* EXT_ARG_REG names an offset in a registered wait region; none is. */
	unsigned char regw[64] = {0};
	printf("EXT_ARG_REG, no region: %s\n",
	       res(enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_EXT_ARG_REG,
			 (void *)0, sizeof(regw))));
	printf("EXT_ARG_REG, wrong size: %s\n",
	       res(enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_EXT_ARG_REG,
			 (void *)0, sizeof(arg))));
	queue_nop();
	r = enter(0, 1, IORING_ENTER_GETEVENTS | ENTER_EXT_ARG_REG, NULL, 8);
	printf("EXT_ARG_REG without EXT_ARG: %s cqes=%d\n", res(r), drain());

	printf("unknown enter flag 1<<8: %s\n", res(enter(0, 0, 1U << 8, NULL, 0)));
	return 0;
}
