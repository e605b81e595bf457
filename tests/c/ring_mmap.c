/* The ring memory seen through different mmaps of the ring fd.
 *
 * With IORING_FEAT_SINGLE_MMAP one mapping at IORING_OFF_SQ_RING covers both
 * the SQ and the CQ ring; mapping the CQ ring separately at IORING_OFF_CQ_RING
 * must still work and show the same memory.  Without the feature the program
 * falls back to the separate mapping, so the printed lines never depend on the
 * feature bits (which legitimately differ between the host and pysentry).
 */
#include "rawring.h"

struct view {
	unsigned *head, *tail, *mask;
	struct io_uring_cqe *cqes;
};

static struct view cq_view(unsigned char *base, const struct io_uring_params *p)
{
	struct view v = {
		(unsigned *)(base + p->cq_off.head), (unsigned *)(base + p->cq_off.tail),
		(unsigned *)(base + p->cq_off.ring_mask),
		(struct io_uring_cqe *)(base + p->cq_off.cqes),
	};
	return v;
}

static void *map(int fd, size_t len, off_t off)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off);
	if (m == MAP_FAILED)
		FAIL("mmap at %#llx: %s", (unsigned long long)off, strerror(errno));
	return m;
}

int main(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = sys_setup(4, &p);
	if (fd < 0)
		FAIL("setup: %s", strerror(errno));
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
	size_t ringsz = single && cqsz > sqsz ? cqsz : sqsz;

	unsigned char *sq = map(fd, ringsz, IORING_OFF_SQ_RING);
	unsigned char *cq_sep = map(fd, cqsz, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = map(fd, p.sq_entries * sizeof(*sqes), IORING_OFF_SQES);
	/* The CQ as the program would use it: through the single mapping if the
	 * kernel offers one, else through the separate one. */
	struct view a = cq_view(single ? sq : cq_sep, &p);
	struct view b = cq_view(cq_sep, &p);   /* always the separate mapping */

	unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail);
	unsigned *sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *sq_array = (unsigned *)(sq + p.sq_off.array);
	for (unsigned i = 0; i < 2; i++) {
		unsigned slot = (*sq_tail + i) & *sq_mask;
		sqes[slot] = nop_sqe(100 + i);
		sq_array[slot] = slot;
	}
	__atomic_store_n(sq_tail, *sq_tail + 2, __ATOMIC_RELEASE);
	int ret = sys_enter(fd, 2, 2, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("enter(2 nops, wait 2) = %d\n", ret);

	unsigned tail_a = __atomic_load_n(a.tail, __ATOMIC_ACQUIRE);
	unsigned tail_b = __atomic_load_n(b.tail, __ATOMIC_ACQUIRE);
	printf("cq tail through both mappings: %u %u\n", tail_a, tail_b);
	for (unsigned h = *a.head; h != tail_a; h++) {
		struct io_uring_cqe *ca = &a.cqes[h & *a.mask], *cb = &b.cqes[h & *b.mask];
		printf("cqe user_data=%llu res=%d same-in-both=%d\n", (unsigned long long)ca->user_data,
		       ca->res, ca->user_data == cb->user_data && ca->res == cb->res);
	}
	/* Consuming through one mapping is visible through the other. */
	__atomic_store_n(a.head, tail_a, __ATOMIC_RELEASE);
	printf("cq head through the separate mapping: %u\n", *b.head);

	/* Dropping one mapping leaves the other working. */
	if (single) {
		munmap(cq_sep, cqsz);
	} else {
		/* Nothing to drop: remap the CQ ring and drop the first one. */
		unsigned char *again = map(fd, cqsz, IORING_OFF_CQ_RING);
		munmap(cq_sep, cqsz);
		a = cq_view(again, &p);
	}
	unsigned slot = *sq_tail & *sq_mask;
	sqes[slot] = nop_sqe(102);
	sq_array[slot] = slot;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
	ret = sys_enter(fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	struct io_uring_cqe *c = &a.cqes[*a.head & *a.mask];
	printf("after munmap of one mapping: enter=%d user_data=%llu res=%d\n", ret,
	       (unsigned long long)c->user_data, c->res);
	__atomic_store_n(a.head, *a.head + 1, __ATOMIC_RELEASE);

	/* The mappings outlive the ring fd. */
	close(fd);
	printf("after close: cq tail=%u head=%u\n", __atomic_load_n(a.tail, __ATOMIC_ACQUIRE), *a.head);
	return 0;
}
