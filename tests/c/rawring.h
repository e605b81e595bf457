/* Minimal raw-syscall io_uring helpers for the test programs (no liburing). */
#ifndef RAWRING_H
#define RAWRING_H
#include <linux/io_uring.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than Debian 12's uapi headers; values from the io_uring uapi. */
#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif

struct rawring {
	int fd;
	struct io_uring_params p;
	unsigned char *sq, *cq;
	struct io_uring_sqe *sqes;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, *sq_flags, *sq_dropped;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
};

static inline int sys_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static inline int sys_enter(int fd, unsigned to_submit, unsigned min_complete,
			    unsigned flags, void *arg, size_t argsz)
{
	return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
}

/* Map the three regions separately, the way a program unaware of
 * IORING_FEAT_SINGLE_MMAP does. */
static inline int rawring_init(struct rawring *r, unsigned entries, unsigned flags)
{
	memset(r, 0, sizeof(*r));
	r->p.flags = flags;
	r->fd = sys_setup(entries, &r->p);
	if (r->fd < 0)
		return -errno;
	struct io_uring_params *p = &r->p;
	size_t sqsz = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	if (flags & IORING_SETUP_NO_SQARRAY)
		sqsz = p->sq_off.flags + 64;
	size_t cqsz = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
	r->sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	r->cq = mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(0, p->sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sq == MAP_FAILED || r->cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -errno;
	r->sq_head = (unsigned *)(r->sq + p->sq_off.head);
	r->sq_tail = (unsigned *)(r->sq + p->sq_off.tail);
	r->sq_mask = (unsigned *)(r->sq + p->sq_off.ring_mask);
	r->sq_flags = (unsigned *)(r->sq + p->sq_off.flags);
	r->sq_dropped = (unsigned *)(r->sq + p->sq_off.dropped);
	r->sq_array = (flags & IORING_SETUP_NO_SQARRAY) ? NULL : (unsigned *)(r->sq + p->sq_off.array);
	r->cq_head = (unsigned *)(r->cq + p->cq_off.head);
	r->cq_tail = (unsigned *)(r->cq + p->cq_off.tail);
	r->cq_mask = (unsigned *)(r->cq + p->cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(r->cq + p->cq_off.cqes);
	return 0;
}

/* Queue one SQE (copied) and bump the tail; returns the slot used. */
static inline unsigned rawring_push(struct rawring *r, const struct io_uring_sqe *sqe)
{
	unsigned tail = *r->sq_tail;
	unsigned slot = tail & *r->sq_mask;
	r->sqes[slot] = *sqe;
	if (r->sq_array)
		r->sq_array[slot] = slot;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return slot;
}

/* Pop one CQE if there is one. */
static inline int rawring_pop(struct rawring *r, struct io_uring_cqe *out)
{
	unsigned head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	*out = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

static inline struct io_uring_sqe nop_sqe(unsigned long long user_data)
{
	struct io_uring_sqe s;
	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_NOP;
	s.user_data = user_data;
	return s;
}

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)
#endif
