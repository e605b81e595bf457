/* io_uring_register opcodes of 6.x beyond files and buffers: IOWQ_AFF,
 * UNREGISTER_IOWQ_AFF, IOWQ_MAX_WORKERS, NAPI, UNREGISTER_NAPI, CLOCK,
 * SEND_MSG_RING (fd -1), ZCRX_IFQ (no capable NIC), QUERY, and opcodes past
 * the host's IORING_REGISTER_LAST.  Prints results only; the worker limits
 * depend on the CPUs and RLIMIT_NPROC, which are the same natively and
 * in the sandbox. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define R_IOWQ_AFF 17
#define R_UNIOWQ_AFF 18
#define R_MAX_WORKERS 19
#define R_NAPI 27
#define R_UNNAPI 28
#define R_CLOCK 29
#define R_SEND_MSG_RING 31
#define R_ZCRX_IFQ 32
#define R_QUERY 35

static long reg(int fd, unsigned op, void *arg, unsigned nr)
{
	return syscall(__NR_io_uring_register, fd, op, arg, nr);
}

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %ld %s\n", what, r, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

struct napi {
	unsigned busy_poll_to;
	unsigned char prefer, opcode, pad[2];
	unsigned op_param, resv;
};

struct qhdr {
	unsigned long long next, data;
	unsigned op, size;
	int result;
	unsigned resv[3];
};

struct qops {
	unsigned nr_request, nr_register;
	unsigned long long features, setup, enter, sqe;
	unsigned nr_query, pad;
};

static int thread_fd;
static void *other_thread(void *arg)
{
	unsigned char mask[8] = { 1 };
	unsigned w[2] = { 0, 0 };
	(void)arg;
	/* A thread that never used a ring has no io-wq. */
	show("other thread IOWQ_AFF", reg(thread_fd, R_IOWQ_AFF, mask, sizeof(mask)));
	long r = reg(thread_fd, R_MAX_WORKERS, w, 2);
	printf("other thread MAX_WORKERS: %ld %u %u\n", r, w[0], w[1]);
	return NULL;
}

int main(void)
{
	struct io_uring ring, sq;
	struct io_uring_params p = {0};
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init_params(16, &ring, &p))
		return 1;
	int fd = ring.ring_fd;

	/* IOWQ_AFF: a mask within the cpuset, or EINVAL. */
	unsigned char mask[8] = { 1 };
	show("IOWQ_AFF cpu0", reg(fd, R_IOWQ_AFF, mask, sizeof(mask)));
	show("IOWQ_AFF 1 byte", reg(fd, R_IOWQ_AFF, mask, 1));
	memset(mask, 0, sizeof(mask));
	mask[7] = 0x80;
	show("IOWQ_AFF cpu63", reg(fd, R_IOWQ_AFF, mask, sizeof(mask)));
	show("IOWQ_AFF empty", reg(fd, R_IOWQ_AFF, (unsigned char[8]){0}, 8));
	show("IOWQ_AFF no mask", reg(fd, R_IOWQ_AFF, NULL, 8));
	show("IOWQ_AFF len 0", reg(fd, R_IOWQ_AFF, mask, 0));
	show("IOWQ_AFF bad pointer", reg(fd, R_IOWQ_AFF, (void *)8, 8));
	show("UNREGISTER_IOWQ_AFF", reg(fd, R_UNIOWQ_AFF, NULL, 0));
	show("UNREGISTER_IOWQ_AFF with arg", reg(fd, R_UNIOWQ_AFF, mask, 0));

	/* IOWQ_MAX_WORKERS: returns the previous limits. */
	unsigned w[2] = { 0, 0 };
	long r = reg(fd, R_MAX_WORKERS, w, 2);
	printf("MAX_WORKERS get: %ld bounded=%u unbounded=%s\n", r, w[0],
	       w[1] == (unsigned)sysconf(_SC_CHILD_MAX) ? "RLIMIT_NPROC" : "other");
	w[0] = 3;
	w[1] = 0;
	r = reg(fd, R_MAX_WORKERS, w, 2);
	printf("MAX_WORKERS set 3: %ld prev bounded=%u\n", r, w[0]);
	w[0] = 0;
	w[1] = 5;
	r = reg(fd, R_MAX_WORKERS, w, 2);
	printf("MAX_WORKERS set unbounded 5: %ld prev %u\n", r, w[0]);
	w[0] = w[1] = 0;
	r = reg(fd, R_MAX_WORKERS, w, 2);
	printf("MAX_WORKERS get: %ld %u %u\n", r, w[0], w[1]);
	w[0] = 0x80000000u;
	show("MAX_WORKERS over INT_MAX", reg(fd, R_MAX_WORKERS, w, 2));
	show("MAX_WORKERS nr 1", reg(fd, R_MAX_WORKERS, w, 1));
	show("MAX_WORKERS bad pointer", reg(fd, R_MAX_WORKERS, (void *)8, 2));
	w[0] = 1000000000;
	w[1] = 0;
	r = reg(fd, R_MAX_WORKERS, w, 2);
	w[0] = w[1] = 0;
	reg(fd, R_MAX_WORKERS, w, 2);
	printf("MAX_WORKERS capped at RLIMIT_NPROC: %d\n", w[0] == (unsigned)sysconf(_SC_CHILD_MAX));

	thread_fd = fd;
	pthread_t t;
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, NULL);

	/* An SQPOLL ring's io-wq is its SQ thread's. */
	struct io_uring_params sp = { .flags = IORING_SETUP_SQPOLL };
	if (io_uring_queue_init_params(4, &sq, &sp) == 0) {
		w[0] = w[1] = 0;
		r = reg(sq.ring_fd, R_MAX_WORKERS, w, 2);
		printf("SQPOLL MAX_WORKERS: %ld bounded=%u\n", r, w[0]);
		w[0] = 2;
		reg(sq.ring_fd, R_MAX_WORKERS, w, 2);
		w[0] = 0;
		r = reg(sq.ring_fd, R_MAX_WORKERS, w, 2);
		printf("SQPOLL MAX_WORKERS after 2: %ld bounded=%u\n", r, w[0]);
		mask[0] = 1;
		show("SQPOLL IOWQ_AFF cpu0", reg(sq.ring_fd, R_IOWQ_AFF, (unsigned char[8]){1}, 8));
		io_uring_queue_exit(&sq);
	}

	/* NAPI: the previous settings come back. */
	struct napi n = {0};
	r = reg(fd, R_NAPI, &n, 1);
	printf("NAPI first: %ld busy=%u prefer=%u op_param=%u\n", r, n.busy_poll_to, n.prefer,
	       n.op_param);
	n = (struct napi){ .busy_poll_to = 50000, .prefer = 7, .opcode = 0, .op_param = 1 };
	show("NAPI register static", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){0};
	r = reg(fd, R_NAPI, &n, 1);
	printf("NAPI again: %ld busy=%u prefer=%u op_param=%u\n", r, n.busy_poll_to, n.prefer,
	       n.op_param);
	n = (struct napi){ .op_param = 1 };
	reg(fd, R_NAPI, &n, 1);
	n = (struct napi){ .opcode = 2, .op_param = 12345 };
	show("NAPI static del unknown", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .opcode = 1, .op_param = 12345 };
	show("NAPI static add", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .opcode = 1, .op_param = 12345 };
	show("NAPI static add again", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .opcode = 2, .op_param = 12345 };
	show("NAPI static del", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .opcode = 1, .op_param = 5 };
	show("NAPI static add cpu id", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .opcode = 1, .op_param = 0xffffffff };
	show("NAPI static add max", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .op_param = 0 };
	reg(fd, R_NAPI, &n, 1);
	n = (struct napi){ .opcode = 1, .op_param = 12345 };
	show("NAPI dynamic add", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .op_param = 1 };
	reg(fd, R_NAPI, &n, 1);
	n = (struct napi){ .opcode = 2, .op_param = 0xffffffff };
	show("NAPI re-registered: del", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .op_param = 9 };
	show("NAPI bad mode", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .opcode = 9 };
	show("NAPI bad opcode", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .resv = 1 };
	show("NAPI resv", reg(fd, R_NAPI, &n, 1));
	n = (struct napi){ .pad = { 1 } };
	show("NAPI pad", reg(fd, R_NAPI, &n, 1));
	show("NAPI nr 0", reg(fd, R_NAPI, &n, 0));
	show("NAPI bad pointer", reg(fd, R_NAPI, (void *)8, 1));
	n = (struct napi){0};
	r = reg(fd, R_UNNAPI, &n, 1);
	printf("UNREGISTER_NAPI: %ld busy=%u prefer=%u op_param=%u\n", r, n.busy_poll_to,
	       n.prefer, n.op_param);
	show("UNREGISTER_NAPI null", reg(fd, R_UNNAPI, NULL, 1));
	show("UNREGISTER_NAPI nr 0", reg(fd, R_UNNAPI, NULL, 0));
	n = (struct napi){0};
	r = reg(fd, R_NAPI, &n, 1);
	printf("NAPI after unregister: %ld busy=%u prefer=%u op_param=%u\n", r, n.busy_poll_to,
	       n.prefer, n.op_param);
	reg(fd, R_UNNAPI, NULL, 1);

	/* CLOCK: MONOTONIC or BOOTTIME; ABS_TIMER deadlines then use it. */
	unsigned clk[4] = { CLOCK_BOOTTIME };
	show("CLOCK boottime", reg(fd, R_CLOCK, clk, 0));
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	struct __kernel_timespec ts = { now.tv_sec, now.tv_nsec + 10000000 };
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	struct io_uring_getevents_arg ga = { .sigmask_sz = 8, .ts = (unsigned long)&ts };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = syscall(__NR_io_uring_enter, fd, 0, 1,
		    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | (1U << 5), &ga, sizeof(ga));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("ABS_TIMER on BOOTTIME 10ms ahead: %ld %s, under a second: %d\n", r,
	       r < 0 ? strerrorname_np(errno) : "", ms < 1000);
	clk[0] = CLOCK_REALTIME;
	show("CLOCK realtime", reg(fd, R_CLOCK, clk, 0));
	clk[0] = CLOCK_MONOTONIC;
	clk[2] = 1;
	show("CLOCK resv", reg(fd, R_CLOCK, clk, 0));
	clk[2] = 0;
	show("CLOCK nr 1", reg(fd, R_CLOCK, clk, 1));
	show("CLOCK bad pointer", reg(fd, R_CLOCK, (void *)8, 0));
	show("CLOCK monotonic", reg(fd, R_CLOCK, clk, 0));

	/* SEND_MSG_RING: no ring of one's own (fd -1), MSG_DATA only. */
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_MSG_RING;
	sqe.fd = fd;
	sqe.addr = IORING_MSG_DATA;
	sqe.off = 0x1234;
	sqe.len = 77;
	show("SEND_MSG_RING", reg(-1, R_SEND_MSG_RING, &sqe, 1));
	struct io_uring_cqe *cqe;
	if (io_uring_peek_cqe(&ring, &cqe) == 0) {
		printf("  cqe ud=%#llx res=%d flags=%u\n", (unsigned long long)cqe->user_data,
		       cqe->res, cqe->flags);
		io_uring_cqe_seen(&ring, cqe);
	}
	sqe.msg_ring_flags = (1U << 1);
	sqe.file_index = 0x42;
	show("SEND_MSG_RING flags pass", reg(-1, R_SEND_MSG_RING, &sqe, 1));
	if (io_uring_peek_cqe(&ring, &cqe) == 0) {
		printf("  cqe ud=%#llx res=%d flags=%#x\n", (unsigned long long)cqe->user_data,
		       cqe->res, cqe->flags);
		io_uring_cqe_seen(&ring, cqe);
	}
	sqe.msg_ring_flags = 0;
	sqe.file_index = 0;
	show("SEND_MSG_RING on a ring fd", reg(fd, R_SEND_MSG_RING, &sqe, 1));
	sqe.flags = IOSQE_ASYNC;
	show("SEND_MSG_RING sqe flags", reg(-1, R_SEND_MSG_RING, &sqe, 1));
	sqe.flags = 0;
	sqe.addr = IORING_MSG_SEND_FD;
	show("SEND_MSG_RING SEND_FD", reg(-1, R_SEND_MSG_RING, &sqe, 1));
	sqe.addr = IORING_MSG_DATA;
	sqe.fd = 1;
	show("SEND_MSG_RING to stdout", reg(-1, R_SEND_MSG_RING, &sqe, 1));
	sqe.fd = 999;
	show("SEND_MSG_RING to a closed fd", reg(-1, R_SEND_MSG_RING, &sqe, 1));
	sqe.fd = fd;
	sqe.opcode = IORING_OP_NOP;
	show("SEND_MSG_RING a NOP", reg(-1, R_SEND_MSG_RING, &sqe, 1));
	show("SEND_MSG_RING nr 2", reg(-1, R_SEND_MSG_RING, &sqe, 2));
	show("PROBE with fd -1", reg(-1, IORING_REGISTER_PROBE, NULL, 0));

	/* ZCRX_IFQ: no capable NIC queue, and no ring with 32-byte CQEs. */
	unsigned char z[128] = {0};
	show("ZCRX_IFQ", reg(fd, R_ZCRX_IFQ, z, 1));
	show("ZCRX_IFQ nr 0", reg(fd, R_ZCRX_IFQ, z, 0));

	/* QUERY: what the kernel (or the Sentry) serves. */
	struct qops q;
	memset(&q, 0xee, sizeof(q));
	struct qhdr h2 = { 0, (unsigned long)z, 7, 16, 0, {0} };
	struct qhdr h = { (unsigned long)&h2, (unsigned long)&q, 0, sizeof(q), 0, {0} };
	memset(z, 0xee, sizeof(z));
	show("QUERY", reg(fd, R_QUERY, &h, 0));
	printf("  opcodes: result=%d size=%u ops=%u register_ops=%u query_ops=%u pad=%u\n",
	       h.result, h.size, q.nr_request, q.nr_register, q.nr_query, q.pad);
	printf("  features = params.features: %d; sqe flags %#llx; enter flags %#llx\n",
	       q.features == p.features, q.sqe, q.enter);
	printf("  setup flags within the host's: %d\n", !(q.setup & ~0x7ffffULL));
	printf("  unknown query: result=%d size=%u data=%02x%02x\n", h2.result, h2.size, z[0],
	       z[15]);
	h = (struct qhdr){ 0, (unsigned long)&q, 0, 8, 0, {0} };
	memset(&q, 0xee, sizeof(q));
	reg(-1, R_QUERY, &h, 0);
	printf("QUERY fd -1, 8 bytes: result=%d size=%u ops=%u next=%#x\n", h.result, h.size,
	       q.nr_request, (unsigned)q.features);
	h = (struct qhdr){ 0, (unsigned long)&q, 0, 0, 0, {0} };
	reg(fd, R_QUERY, &h, 0);
	printf("QUERY size 0: result=%d\n", h.result);
	h = (struct qhdr){ 0, (unsigned long)&q, 0, 8, 5, {0} };
	reg(fd, R_QUERY, &h, 0);
	printf("QUERY result set: result=%d\n", h.result);
	h = (struct qhdr){ 0, (unsigned long)&q, 0, 8, 0, {1} };
	reg(fd, R_QUERY, &h, 0);
	printf("QUERY resv: result=%d\n", h.result);
	show("QUERY null", reg(fd, R_QUERY, NULL, 0));
	show("QUERY nr 1", reg(fd, R_QUERY, &h, 1));
	show("QUERY bad header", reg(fd, R_QUERY, (void *)8, 0));
	h = (struct qhdr){ 0, 8, 0, 8, 0, {0} };
	show("QUERY bad data", reg(fd, R_QUERY, &h, 0));
	h = (struct qhdr){ (unsigned long)&h, (unsigned long)&q, 0, 8, 0, {0} };
	show("QUERY cycle", reg(fd, R_QUERY, &h, 0));

	show("opcode 36", reg(fd, 36, NULL, 0));
	show("opcode 36 on fd 999", reg(999, 36, NULL, 0));
	show("opcode 37 on fd 999", reg(999, 37, NULL, 0));
	return 0;
}
