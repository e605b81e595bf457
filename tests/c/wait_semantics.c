/* io_uring_enter waits: timeouts, signals, sigmask, submitted counts. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

static volatile int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void arm(long usec)
{
	struct itimerval it = { { 0, 0 }, { 0, usec } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int enter(int fd, unsigned sub, unsigned min, unsigned flags, void *arg, size_t sz)
{
	int r = syscall(__NR_io_uring_enter, fd, sub, min, flags, arg, sz);
	return r < 0 ? -errno : r;
}

int main(void)
{
	struct io_uring r;
	struct io_uring_cqe *cqe;
	if (io_uring_queue_init(8, &r, 0))
		FAIL("init");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;          /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);

	/* A 50 ms timeout with nothing pending. */
	struct __kernel_timespec ts = { 0, 50 * 1000 * 1000 };
	double t0 = now();
	int ret = io_uring_wait_cqe_timeout(&r, &cqe, &ts);
	double dt = now() - t0;
	printf("timeout: %d waited-enough=%d\n", ret, dt >= 0.045);

	/* A signal interrupts a wait: -EINTR. */
	arm(30000);
	ret = enter(r.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("signal during wait: %d alarms=%d\n", ret, alarms);

	/* Submitting and then being interrupted returns the submitted count. */
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_submit(&r);        /* 2 NOPs complete at once */
	unsigned n = 0, head;
	io_uring_for_each_cqe(&r, head, cqe) n++;
	io_uring_cq_advance(&r, n);
	printf("nops reaped: %u\n", n);
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_smp_store_release(r.sq.ktail, r.sq.sqe_tail);
	arm(30000);
	ret = enter(r.ring_fd, 1, 5, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("submit 1 then wait for 5 (interrupted): %d alarms=%d\n", ret, alarms);
	n = 0;
	io_uring_for_each_cqe(&r, head, cqe) n++;
	io_uring_cq_advance(&r, n);

	/* A wait that is interrupted while a CQE is available returns 0. */
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_submit(&r);
	arm(30000);
	ret = enter(r.ring_fd, 0, 2, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("interrupted with 1 of 2 ready: %d alarms=%d\n", ret, alarms);
	n = 0;
	io_uring_for_each_cqe(&r, head, cqe) n++;
	io_uring_cq_advance(&r, n);

	/* With SIGALRM blocked by the wait's sigmask, the wait times out;
	 * the signal is delivered once the old mask is back. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGALRM);
	struct io_uring_getevents_arg arg = { 0 };
	arg.sigmask = (unsigned long)&mask;
	arg.sigmask_sz = 8;
	struct __kernel_timespec ts2 = { 0, 80 * 1000 * 1000 };
	arg.ts = (unsigned long)&ts2;
	int before = alarms;
	arm(20000);
	ret = enter(r.ring_fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	printf("masked signal during timed wait: %d delivered-after=%d\n", ret, alarms - before);
	printf("user timespec untouched: %lld %lld\n", (long long)ts2.tv_sec, (long long)ts2.tv_nsec);

	/* Bad sigmask size and bad sigmask pointer (only checked when waiting). */
	ret = enter(r.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, &mask, 3);
	printf("sigmask size 3: %d\n", ret);
	ret = enter(r.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, (void *)8, 8);
	printf("sigmask bad pointer: %d\n", ret);
	arg.ts = 8;
	ret = enter(r.ring_fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	printf("ext arg bad timespec pointer: %d\n", ret);
	ret = enter(r.ring_fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, (void *)8, sizeof(arg));
	printf("ext arg bad pointer: %d\n", ret);

	/* SA_RESTART does not restart io_uring_enter (nothing is resubmitted). */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	arm(30000);
	ret = enter(r.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("SA_RESTART signal during wait: %d\n", ret);
	return 0;
}
