/* The entry-size setup flags against Linux 6.18: IORING_SETUP_SQE128
 * (128-byte SQEs), IORING_SETUP_CQE32 (32-byte CQEs with big_cqe[]),
 * IORING_SETUP_CQE_MIXED (16-byte slots, 32-byte CQEs flagged
 * IORING_CQE_F_32 and padding CQEs flagged IORING_CQE_F_SKIP before one that
 * would wrap) and IORING_SETUP_SQE_MIXED (not in 6.18: EINVAL).  Setup and
 * its errors, the ring sizes (as differences of offsets: the layout itself
 * is the kernel's own), NOP/READ/WRITE/URING_CMD on 128-byte SQEs placed at
 * scattered slots, the zeros a CQE32 ring writes over stale big_cqe[],
 * IORING_NOP_CQE32, overflow of 32-byte CQEs and their flush, and the same
 * rings with an SQ thread.  Run with the data plane on and off. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than Debian 12's uapi headers; values from the io_uring uapi. */
#define SETUP_SQE128 (1U << 10)
#define SETUP_CQE32 (1U << 11)
#define SETUP_NO_SQARRAY (1U << 16)
#define SETUP_CQE_MIXED (1U << 18)
#define SETUP_SQE_MIXED (1U << 19)
#define CQE_F_SKIP (1U << 5)
#define CQE_F_32 (1U << 15)
#define NOP_INJECT_RESULT (1U << 0)
#define NOP_CQE32 (1U << 5)
#define OP_URING_CMD 46
#define SOCKET_URING_OP_GETSOCKOPT 2

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

struct ring {
	int fd;
	unsigned flags, sqe_size, cqe_size;
	struct io_uring_params p;
	unsigned char *sq, *cq, *sqes;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned *cq_head, *cq_tail, *cq_mask;
	unsigned char *cqes;
	unsigned next_slot;
};

static int setup(unsigned entries, unsigned flags, unsigned cq_entries, struct io_uring_params *p)
{
	memset(p, 0, sizeof(*p));
	p->flags = flags;
	p->cq_entries = cq_entries;
	int fd = (int)syscall(__NR_io_uring_setup, entries, p);
	return fd < 0 ? -errno : fd;
}

static int enter(struct ring *r, unsigned submit, unsigned wait, unsigned flags)
{
	int n = (int)syscall(__NR_io_uring_enter, r->fd, submit, wait, flags, NULL, 0);
	return n < 0 ? -errno : n;
}

static void ring_init(struct ring *r, unsigned entries, unsigned flags, unsigned cq_entries)
{
	memset(r, 0, sizeof(*r));
	r->flags = flags;
	r->fd = setup(entries, flags, cq_entries, &r->p);
	if (r->fd < 0)
		FAIL("setup %#x: %d", flags, r->fd);
	struct io_uring_params *p = &r->p;
	r->sqe_size = flags & SETUP_SQE128 ? 128 : 64;
	r->cqe_size = flags & SETUP_CQE32 ? 32 : 16;
	size_t sqsz = flags & SETUP_NO_SQARRAY ? p->sq_off.flags + 64
					       : p->sq_off.array + p->sq_entries * 4;
	size_t cqsz = p->cq_off.cqes + (size_t)p->cq_entries * r->cqe_size;
	r->sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	r->cq = mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(0, (size_t)p->sq_entries * r->sqe_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sq == MAP_FAILED || r->cq == MAP_FAILED || r->sqes == MAP_FAILED)
		FAIL("mmap: %d", errno);
	r->sq_head = (unsigned *)(r->sq + p->sq_off.head);
	r->sq_tail = (unsigned *)(r->sq + p->sq_off.tail);
	r->sq_mask = (unsigned *)(r->sq + p->sq_off.ring_mask);
	r->sq_flags = (unsigned *)(r->sq + p->sq_off.flags);
	r->sq_array = flags & SETUP_NO_SQARRAY ? NULL : (unsigned *)(r->sq + p->sq_off.array);
	r->cq_head = (unsigned *)(r->cq + p->cq_off.head);
	r->cq_tail = (unsigned *)(r->cq + p->cq_off.tail);
	r->cq_mask = (unsigned *)(r->cq + p->cq_off.ring_mask);
	r->cqes = r->cq + p->cq_off.cqes;
	/* Stale bytes where big_cqe[] go: a CQE32 ring must overwrite them. */
	memset(r->cqes, 0xAA, (size_t)p->cq_entries * r->cqe_size);
}

static void ring_exit(struct ring *r)
{
	close(r->fd);
}

/* Queue an SQE (its second half, on a 128-byte ring, filled with a
 * pattern no op reads) in a slot that walks the SQE array backwards, so
 * that the SQ array's indexes are really used. */
static void push(struct ring *r, const struct io_uring_sqe *s)
{
	unsigned tail = *r->sq_tail, slot;
	if (r->sq_array)
		slot = (r->p.sq_entries - 1 - r->next_slot++) & *r->sq_mask;
	else
		slot = tail & *r->sq_mask;
	unsigned char *dst = r->sqes + (size_t)slot * r->sqe_size;
	if (r->sqe_size == 128)
		memset(dst + 64, 0x5C, 64);
	memcpy(dst, s, 64);
	if (r->sq_array)
		r->sq_array[tail & *r->sq_mask] = slot;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
}

static struct io_uring_sqe sqe(unsigned char op, unsigned long long ud)
{
	struct io_uring_sqe s;
	memset(&s, 0, sizeof(s));
	s.opcode = op;
	s.user_data = ud;
	return s;
}

static const char *ename(int res)
{
	switch (res) {
	case -EINVAL: return " EINVAL";
	case -EOVERFLOW: return " EOVERFLOW";
	case -EOPNOTSUPP: return " EOPNOTSUPP";
	case -EBADF: return " EBADF";
	default: return "";
	}
}

/* Print and consume every CQE: a CQE32 ring's big_cqe[] always, a mixed
 * ring's for those flagged IORING_CQE_F_32 (which take two slots). */
static int reap(struct ring *r, const char *tag, unsigned max)
{
	int n = 0;
	unsigned head = *r->cq_head;
	while (max-- && head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
		unsigned idx = head & *r->cq_mask;
		struct io_uring_cqe *c = (struct io_uring_cqe *)(r->cqes + (size_t)idx * r->cqe_size);
		int big = r->cqe_size == 32 || (r->flags & SETUP_CQE_MIXED && c->flags & CQE_F_32);
		printf("%s slot %u: ud=%llu res=%d%s flags=%#x", tag, idx,
		       (unsigned long long)c->user_data, c->res, ename(c->res), c->flags);
		if (big) {
			uint64_t *x = (uint64_t *)(c + 1);
			printf(" big=%#llx,%#llx", (unsigned long long)x[0], (unsigned long long)x[1]);
		}
		printf("\n");
		head += (r->flags & SETUP_CQE_MIXED && c->flags & CQE_F_32) ? 2 : 1;
		__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
		n++;
	}
	return n;
}

static void submit_wait(struct ring *r, unsigned n, unsigned wait)
{
	int got = enter(r, n, wait, wait ? IORING_ENTER_GETEVENTS : 0);
	if (got != (int)n)
		printf("enter: %d%s\n", got, ename(got));
}

static void section_setup(void)
{
	static const struct { const char *name; unsigned flags, entries, cq; } cases[] = {
		{ "SQE128", SETUP_SQE128, 8, 0 },
		{ "CQE32", SETUP_CQE32, 8, 0 },
		{ "CQE_MIXED", SETUP_CQE_MIXED, 8, 0 },
		{ "SQE128|CQE32", SETUP_SQE128 | SETUP_CQE32, 8, 0 },
		{ "SQE128|CQE_MIXED", SETUP_SQE128 | SETUP_CQE_MIXED, 8, 0 },
		{ "SQE128|NO_SQARRAY", SETUP_SQE128 | SETUP_NO_SQARRAY, 8, 0 },
		{ "CQE32|CQE_MIXED", SETUP_CQE32 | SETUP_CQE_MIXED, 8, 0 },
		{ "SQE_MIXED", SETUP_SQE_MIXED, 8, 0 },
		{ "SQE_MIXED|SQE128", SETUP_SQE_MIXED | SETUP_SQE128, 8, 0 },
		{ "CQE_MIXED cq=1", SETUP_CQE_MIXED | IORING_SETUP_CQSIZE, 1, 1 },
		{ "CQE_MIXED entries=1", SETUP_CQE_MIXED, 1, 0 },
		{ "CQE32 cq=65536", SETUP_CQE32 | IORING_SETUP_CQSIZE, 32768, 65536 },
		{ "CQE32 cq=65537", SETUP_CQE32 | IORING_SETUP_CQSIZE, 8, 65537 },
		{ "SQE128 entries=32768", SETUP_SQE128, 32768, 0 },
		{ "SQE128 entries=32769", SETUP_SQE128, 32769, 0 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct io_uring_params p;
		int fd = setup(cases[i].entries, cases[i].flags, cases[i].cq, &p);
		if (fd < 0) {
			printf("setup %s: %d%s\n", cases[i].name, fd, ename(fd));
			continue;
		}
		/* The SQ array follows the CQEs on a cache line: its distance
		 * from them is the CQ's size in bytes. */
		if (cases[i].flags & SETUP_NO_SQARRAY)
			printf("setup %s: sq=%u cq=%u flags=%#x array=%u\n", cases[i].name,
			       p.sq_entries, p.cq_entries, p.flags, p.sq_off.array);
		else
			printf("setup %s: sq=%u cq=%u flags=%#x array-cqes=%u\n", cases[i].name,
			       p.sq_entries, p.cq_entries, p.flags, p.sq_off.array - p.cq_off.cqes);
		close(fd);
	}
}

/* NOP, WRITE, READ and a socket URING_CMD on a ring of the given flags. */
static void section_ops(const char *tag, unsigned flags, const char *path)
{
	struct ring r;
	char buf[32] = { 0 };
	int sv[2];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("open/socketpair");
	ring_init(&r, 8, flags, 0);

	struct io_uring_sqe s = sqe(IORING_OP_NOP, 1);
	push(&r, &s);
	s = sqe(IORING_OP_NOP, 2);
	s.rw_flags = NOP_INJECT_RESULT;
	s.len = 77;
	push(&r, &s);
	s = sqe(IORING_OP_WRITE, 3);
	s.fd = fd;
	s.addr = (uintptr_t)"0123456789abcdef";
	s.len = 16;
	s.off = 0;
	push(&r, &s);
	submit_wait(&r, 3, 3);
	reap(&r, tag, 8);

	s = sqe(IORING_OP_READ, 4);
	s.fd = fd;
	s.addr = (uintptr_t)buf;
	s.len = 10;
	s.off = 3;
	push(&r, &s);
	s = sqe(IORING_OP_NOP, 6);
	s.rw_flags = NOP_CQE32;
	s.off = 0x1111;
	s.addr = 0x2222;
	push(&r, &s);
	/* URING_CMD GETSOCKOPT(SOL_SOCKET, SO_TYPE): level and optname share
	 * addr, optval is addr3, optlen splice_fd_in; cmd_op is off. */
	int val = -1;
	s = sqe(OP_URING_CMD, 5);
	s.fd = sv[0];
	s.off = SOCKET_URING_OP_GETSOCKOPT;
	s.addr = (uint64_t)SOL_SOCKET | ((uint64_t)SO_TYPE << 32);
	s.addr3 = (uintptr_t)&val;
	s.splice_fd_in = sizeof(val);
	push(&r, &s);
	submit_wait(&r, 3, 3);
	reap(&r, tag, 8);
	printf("%s read \"%s\" sockopt value=%d\n", tag, buf, val);
	ring_exit(&r);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/* 32-byte CQEs that do not fit wait in the overflow list with their
 * big_cqe[] and are flushed in order. */
static void section_overflow32(void)
{
	struct ring r;
	ring_init(&r, 2, SETUP_CQE32 | IORING_SETUP_CQSIZE, 2);
	for (int i = 0; i < 4; i++) {
		struct io_uring_sqe s = sqe(IORING_OP_NOP, 10 + i);
		s.rw_flags = NOP_CQE32;
		s.off = 0x100 + i;
		s.addr = 0x200 + i;
		push(&r, &s);
		if (i % 2)
			submit_wait(&r, 2, 0);
	}
	printf("cqe32 overflow flag: %d\n", !!(*r.sq_flags & IORING_SQ_CQ_OVERFLOW));
	reap(&r, "cqe32 ovf", 1);
	enter(&r, 0, 0, IORING_ENTER_GETEVENTS);
	reap(&r, "cqe32 ovf", 8);
	enter(&r, 0, 0, IORING_ENTER_GETEVENTS);
	reap(&r, "cqe32 ovf", 8);
	printf("cqe32 overflow flag: %d\n", !!(*r.sq_flags & IORING_SQ_CQ_OVERFLOW));
	ring_exit(&r);
}

static void nop(struct ring *r, unsigned long long ud, int big)
{
	struct io_uring_sqe s = sqe(IORING_OP_NOP, ud);
	if (big) {
		s.rw_flags = NOP_CQE32;
		s.off = ud << 8;
		s.addr = ud << 16;
	}
	push(r, &s);
	submit_wait(r, 1, 0);
}

/* A mixed CQ of 4 slots: a 32-byte CQE takes two; one that would wrap is
 * preceded by a padding CQE; one that finds no room after the padding
 * overflows, and is flushed whole. */
static void section_mixed(void)
{
	struct ring r;
	ring_init(&r, 2, SETUP_CQE_MIXED | IORING_SETUP_CQSIZE, 4);
	printf("mixed cq_entries=%u\n", r.p.cq_entries);
	nop(&r, 1, 0);
	nop(&r, 2, 1);
	nop(&r, 3, 0);
	reap(&r, "mixed", 8);
	nop(&r, 4, 0);
	nop(&r, 5, 0);
	nop(&r, 6, 0);
	reap(&r, "mixed", 8);
	nop(&r, 7, 1);          /* slot 3 is the last: padding, then slots 0-1 */
	printf("mixed tail-head=%u\n", *r.cq_tail - *r.cq_head);
	reap(&r, "mixed", 8);
	/* Fill slots 2, 3, 0; free one (slot 2) and post a 32-byte CQE at
	 * slot 1: no padding needed, but only one slot free... */
	nop(&r, 8, 0);
	nop(&r, 9, 0);
	nop(&r, 10, 0);
	reap(&r, "mixed", 1);
	nop(&r, 11, 1);
	printf("mixed overflow flag: %d tail-head=%u\n",
	       !!(*r.sq_flags & IORING_SQ_CQ_OVERFLOW), *r.cq_tail - *r.cq_head);
	reap(&r, "mixed", 8);
	enter(&r, 0, 0, IORING_ENTER_GETEVENTS);
	reap(&r, "mixed", 8);
	/* Now the padding case that then overflows: tail at slot 3 with two
	 * queued. */
	nop(&r, 12, 0);         /* slot 3 */
	nop(&r, 13, 0);         /* slot 0 */
	nop(&r, 14, 0);         /* slot 1 */
	nop(&r, 15, 0);         /* slot 2 */
	reap(&r, "mixed", 2);
	nop(&r, 16, 1);         /* two queued, slot 3 last: pad, then no room */
	printf("mixed overflow flag: %d tail-head=%u\n",
	       !!(*r.sq_flags & IORING_SQ_CQ_OVERFLOW), *r.cq_tail - *r.cq_head);
	reap(&r, "mixed", 8);
	enter(&r, 0, 0, IORING_ENTER_GETEVENTS);
	reap(&r, "mixed", 8);
	printf("mixed overflow flag: %d\n", !!(*r.sq_flags & IORING_SQ_CQ_OVERFLOW));
	ring_exit(&r);

	/* IORING_NOP_CQE32 needs 32-byte CQEs. */
	ring_init(&r, 2, 0, 0);
	nop(&r, 20, 1);
	reap(&r, "plain", 8);
	ring_exit(&r);
}

/* An SQ thread reads 128-byte SQEs and posts 32-byte or mixed CQEs. */
static void section_sqpoll(const char *tag, unsigned flags, const char *path)
{
	struct ring r;
	char buf[16] = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, "sqpoll data", 11, 0) != 11)
		FAIL("open");
	ring_init(&r, 4, flags | IORING_SETUP_SQPOLL, 0);
	struct io_uring_sqe s = sqe(IORING_OP_NOP, 1);
	push(&r, &s);
	s = sqe(IORING_OP_READ, 2);
	s.fd = fd;
	s.addr = (uintptr_t)buf;
	s.len = 11;
	push(&r, &s);
	s = sqe(IORING_OP_NOP, 3);
	s.rw_flags = NOP_CQE32;
	s.off = 0xabc;
	s.addr = 0xdef;
	push(&r, &s);
	int got = 0;
	while (got < 3) {
		if (*r.sq_flags & IORING_SQ_NEED_WAKEUP)
			enter(&r, 0, 0, IORING_ENTER_SQ_WAKEUP);
		enter(&r, 0, 1, IORING_ENTER_GETEVENTS);
		got += reap(&r, tag, 8);
	}
	printf("%s read \"%s\"\n", tag, buf);
	ring_exit(&r);
	close(fd);
}

/* ZCRX_IFQ needs DEFER_TASKRUN and 32-byte CQEs; with both, the
 * registration and its region descriptor are copied first (a NULL
 * region_ptr: EFAULT). */
static void section_zcrx(void)
{
	static const struct { const char *name; unsigned flags; } cases[] = {
		{ "CQE32", SETUP_CQE32 },
		{ "CQE32|DEFER_TASKRUN", SETUP_CQE32 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN },
		{ "CQE_MIXED|DEFER_TASKRUN", SETUP_CQE_MIXED | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct io_uring_params p;
		unsigned char z[128] = { 0 };
		int fd = setup(8, cases[i].flags, 0, &p);
		if (fd < 0)
			FAIL("setup %s", cases[i].name);
		int rc = (int)syscall(__NR_io_uring_register, fd, 32, z, 1);
		rc = rc < 0 ? -errno : rc;
		printf("ZCRX_IFQ on %s: %d%s\n", cases[i].name, rc,
		       rc == -EFAULT ? " EFAULT" : rc == -EPERM ? " EPERM" : ename(rc));
		close(fd);
	}
}

/* IORING_REGISTER_QUERY's setup flags include the three entry-size flags
 * (and not SQE_MIXED), in the kernel's answer and the Sentry's. */
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

static void section_query(void)
{
	struct qops q;
	memset(&q, 0, sizeof(q));
	struct qhdr h = { 0, (unsigned long)&q, 0, sizeof(q), 0, {0} };
	int rc = (int)syscall(__NR_io_uring_register, -1, 35, &h, 0);
	printf("QUERY: %d result=%d setup SQE128=%d CQE32=%d CQE_MIXED=%d SQE_MIXED=%d\n",
	       rc, h.result, !!(q.setup & SETUP_SQE128), !!(q.setup & SETUP_CQE32),
	       !!(q.setup & SETUP_CQE_MIXED), !!(q.setup & SETUP_SQE_MIXED));
}

int main(int argc, char **argv)
{
	if (argc < 2)
		FAIL("usage: big_entries SCRATCH");
	setvbuf(stdout, NULL, _IOLBF, 0);
	section_setup();
	section_ops("sqe128", SETUP_SQE128, argv[1]);
	section_ops("sqe128-noarray", SETUP_SQE128 | SETUP_NO_SQARRAY, argv[1]);
	section_ops("cqe32", SETUP_CQE32, argv[1]);
	section_ops("sqe128+cqe32", SETUP_SQE128 | SETUP_CQE32, argv[1]);
	section_ops("mixed", SETUP_CQE_MIXED, argv[1]);
	section_overflow32();
	section_mixed();
	section_sqpoll("sqpoll sqe128+cqe32", SETUP_SQE128 | SETUP_CQE32, argv[1]);
	section_sqpoll("sqpoll sqe128+mixed", SETUP_SQE128 | SETUP_CQE_MIXED, argv[1]);
	section_zcrx();
	section_query();
	unlink(argv[1]);
	printf("done\n");
	return 0;
}
