/* Ring memory the program supplies or resizes: IORING_SETUP_NO_MMAP,
 * IORING_SETUP_REGISTERED_FD_ONLY and IORING_REGISTER_RESIZE_RINGS, with
 * raw syscalls (the uapi headers here predate them).  Prints results only,
 * so that the host's output and the sandbox's can be compared byte for
 * byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SETUP_SQPOLL (1U << 1)
#define SETUP_CQSIZE (1U << 3)
#define SETUP_CLAMP (1U << 4)
#define SETUP_SINGLE_ISSUER (1U << 12)
#define SETUP_DEFER_TASKRUN (1U << 13)
#define SETUP_NO_MMAP (1U << 14)
#define SETUP_REGISTERED_FD_ONLY (1U << 15)
#define SETUP_NO_SQARRAY (1U << 16)
#define ENTER_GETEVENTS 1U
#define ENTER_SQ_WAKEUP 2U
#define ENTER_REGISTERED_RING (1U << 4)
#define REG_PROBE 8
#define REG_UNREGISTER_RING_FDS 21
#define REG_RESIZE_RINGS 33
#define REG_USE_REGISTERED_RING (1U << 31)
#define OFF_SQ_RING 0ULL
#define OFF_SQES 0x10000000ULL
#define OP_NOP 0
#define OP_READ 22
#define OP_WRITE 23
#define PAGE 4096

struct sq_off {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
	uint64_t user_addr;
};
struct cq_off {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
	uint64_t user_addr;
};
struct params {
	uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd;
	uint32_t resv[3];
	struct sq_off sq_off;
	struct cq_off cq_off;
};
struct sqe {
	uint8_t opcode, flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off, addr;
	uint32_t len, op_flags;
	uint64_t user_data;
	uint16_t buf_index, personality;
	int32_t splice_fd_in;
	uint64_t addr3, pad;
};
struct cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};
struct rsrc_update {
	uint32_t offset, resv;
	uint64_t data;
};

/* A ring as the program sees it: where its pieces are. */
struct ring {
	int fd;
	unsigned enter_flags;       /* ENTER_REGISTERED_RING for an index */
	struct params p;
	char *rings, *sqes_mem;
	size_t rings_len, sqes_len;
};

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %ld %s\n", what, r, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static long setup(unsigned entries, struct params *p)
{
	return syscall(__NR_io_uring_setup, entries, p);
}

static long enter(struct ring *r, unsigned submit, unsigned min, unsigned flags)
{
	return syscall(__NR_io_uring_enter, r->fd, submit, min, flags | r->enter_flags, NULL, 0);
}

static long reg(int fd, unsigned op, void *arg, unsigned nr)
{
	return syscall(__NR_io_uring_register, fd, op, arg, nr);
}

/* Linux's sizes: the rings (struct io_rings, the CQEs, the SQ array) and
 * the SQE array, each rounded up to pages. */
static size_t rings_bytes(unsigned sq, unsigned cq, unsigned flags)
{
	size_t off = 320 + (size_t)cq * 16;
	if (!(flags & SETUP_NO_SQARRAY))
		off = ((off + 63) & ~(size_t)63) + 4 * (size_t)sq;
	return (off + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static size_t sqes_bytes(unsigned sq)
{
	return ((size_t)sq * 64 + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static void *anon(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return m;
}

#define U32(r, off) ((volatile uint32_t *)((r)->rings + (off)))

static void print_params(const char *what, const struct params *p, const struct ring *r)
{
	/* 6.18's RECVSEND_BUNDLE (0x4000) is the one feature pysentry lacks. */
	printf("%s: sq=%u cq=%u flags=%#x features=%#x\n", what, p->sq_entries, p->cq_entries,
	       p->flags, p->features & ~0x4000u);
	printf("  sq_off: head=%u tail=%u mask=%u entries=%u flags=%u dropped=%u array=%u resv1=%u user_addr=%s\n",
	       p->sq_off.head, p->sq_off.tail, p->sq_off.ring_mask, p->sq_off.ring_entries,
	       p->sq_off.flags, p->sq_off.dropped, p->sq_off.array, p->sq_off.resv1,
	       !p->sq_off.user_addr ? "0" : r && p->sq_off.user_addr == (uintptr_t)r->sqes_mem
	       ? "sqes" : "other");
	printf("  cq_off: head=%u tail=%u mask=%u entries=%u overflow=%u cqes=%u flags=%u resv1=%u user_addr=%s\n",
	       p->cq_off.head, p->cq_off.tail, p->cq_off.ring_mask, p->cq_off.ring_entries,
	       p->cq_off.overflow, p->cq_off.cqes, p->cq_off.flags, p->cq_off.resv1,
	       !p->cq_off.user_addr ? "0" : r && p->cq_off.user_addr == (uintptr_t)r->rings
	       ? "rings" : "other");
}

/* Where the program's pointers go after setup or a resize: its own memory
 * (NO_MMAP) or the ring fd's regions mapped anew. */
static int map_ring(struct ring *r)
{
	/* A resize writes back the caller's sq_off.array: the SQ array
	 * follows the CQEs, cache-line aligned, as at setup. */
	if (!(r->p.flags & SETUP_NO_SQARRAY) && !r->p.sq_off.array)
		r->p.sq_off.array = (r->p.cq_off.cqes + r->p.cq_entries * 16 + 63) & ~63u;
	if (r->p.flags & SETUP_NO_MMAP)
		return 0;
	r->rings_len = rings_bytes(r->p.sq_entries, r->p.cq_entries, r->p.flags);
	r->sqes_len = sqes_bytes(r->p.sq_entries);
	r->rings = mmap(NULL, r->rings_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, OFF_SQ_RING);
	r->sqes_mem = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, OFF_SQES);
	if (r->rings == MAP_FAILED || r->sqes_mem == MAP_FAILED) {
		perror("mmap ring");
		return -1;
	}
	return 0;
}

/* Set up with user memory (fresh anonymous pages) or mapped by the kernel. */
static long ring_init(struct ring *r, unsigned entries, unsigned flags, unsigned cq)
{
	memset(r, 0, sizeof(*r));
	r->p.flags = flags;
	r->p.cq_entries = cq;
	if (flags & SETUP_NO_MMAP) {
		unsigned sq = entries, c = cq ? cq : 2 * entries;
		r->rings_len = rings_bytes(sq, c, flags);
		r->sqes_len = sqes_bytes(sq);
		r->rings = anon(r->rings_len);
		r->sqes_mem = anon(r->sqes_len);
		r->p.cq_off.user_addr = (uintptr_t)r->rings;
		r->p.sq_off.user_addr = (uintptr_t)r->sqes_mem;
	}
	long fd = setup(entries, &r->p);
	if (fd < 0)
		return fd;
	r->fd = (int)fd;
	if (flags & SETUP_REGISTERED_FD_ONLY)
		r->enter_flags = ENTER_REGISTERED_RING;
	if (map_ring(r))
		return -1;
	return fd;
}

static void push(struct ring *r, const struct sqe *s)
{
	uint32_t tail = *U32(r, r->p.sq_off.tail);
	uint32_t mask = *U32(r, r->p.sq_off.ring_mask);
	struct sqe *slots = (struct sqe *)r->sqes_mem;
	slots[tail & mask] = *s;
	if (!(r->p.flags & SETUP_NO_SQARRAY))
		U32(r, r->p.sq_off.array)[tail & mask] = tail & mask;
	__atomic_store_n(U32(r, r->p.sq_off.tail), tail + 1, __ATOMIC_RELEASE);
}

static void push_nop(struct ring *r, uint64_t ud)
{
	struct sqe s = { .opcode = OP_NOP, .user_data = ud };
	push(r, &s);
}

/* Reap and print every CQE there is. */
static void reap(struct ring *r, const char *what)
{
	uint32_t head = *U32(r, r->p.cq_off.head);
	uint32_t tail = __atomic_load_n(U32(r, r->p.cq_off.tail), __ATOMIC_ACQUIRE);
	uint32_t mask = *U32(r, r->p.cq_off.ring_mask);
	struct cqe *cqes = (struct cqe *)(r->rings + r->p.cq_off.cqes);
	printf("%s: %u CQEs:", what, tail - head);
	for (; head != tail; head++)
		printf(" %llu=%d", (unsigned long long)cqes[head & mask].user_data,
		       cqes[head & mask].res);
	printf("\n");
	__atomic_store_n(U32(r, r->p.cq_off.head), head, __ATOMIC_RELEASE);
}

static void show_ring_words(const char *what, struct ring *r)
{
	printf("%s: sq head=%u tail=%u mask=%u entries=%u cq head=%u tail=%u mask=%u entries=%u\n",
	       what, *U32(r, r->p.sq_off.head), *U32(r, r->p.sq_off.tail),
	       *U32(r, r->p.sq_off.ring_mask), *U32(r, r->p.sq_off.ring_entries),
	       *U32(r, r->p.cq_off.head), *U32(r, r->p.cq_off.tail),
	       *U32(r, r->p.cq_off.ring_mask), *U32(r, r->p.cq_off.ring_entries));
}

/* -- setup with the program's memory: bad arguments ------------------------ */
static void bad_setups(void)
{
	struct params p;
	char *rings = anon(4 * PAGE), *sqes = anon(PAGE);

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_REGISTERED_FD_ONLY;
	show("REGISTERED_FD_ONLY without NO_MMAP", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	show("NO_MMAP, no addresses", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.cq_off.user_addr = (uintptr_t)rings;
	show("NO_MMAP, no SQE address", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.sq_off.user_addr = (uintptr_t)sqes;
	show("NO_MMAP, no rings address", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.cq_off.user_addr = (uintptr_t)rings + 64;
	p.sq_off.user_addr = (uintptr_t)sqes;
	show("NO_MMAP, rings misaligned", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.cq_off.user_addr = (uintptr_t)rings;
	p.sq_off.user_addr = (uintptr_t)sqes + 8;
	show("NO_MMAP, SQEs misaligned", setup(8, &p));

	/* 256 entries need 3 pages of rings; only 2 are mapped. */
	char *short_rings = anon(3 * PAGE);
	munmap(short_rings + 2 * PAGE, PAGE);
	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.cq_off.user_addr = (uintptr_t)short_rings;
	p.sq_off.user_addr = (uintptr_t)anon(sqes_bytes(256));
	show("NO_MMAP, rings shorter than needed", setup(256, &p));

	char *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.cq_off.user_addr = (uintptr_t)ro;
	p.sq_off.user_addr = (uintptr_t)sqes;
	show("NO_MMAP, read-only rings", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.cq_off.user_addr = (uintptr_t)rings;
	p.sq_off.user_addr = (uintptr_t)ro;
	show("NO_MMAP, read-only SQEs", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP;
	p.cq_off.user_addr = 0xfffffffffffff000ull;
	p.sq_off.user_addr = (uintptr_t)sqes;
	show("NO_MMAP, rings at the top of the address space", setup(8, &p));

	memset(&p, 0, sizeof(p));
	p.flags = SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY;
	show("NO_MMAP|REGISTERED_FD_ONLY, no addresses", setup(8, &p));
	munmap(ro, PAGE);
}

/* -- I/O through a ring in the program's memory --------------------------- */
static void user_memory_io(unsigned flags, const char *tag)
{
	struct ring r;
	char name[] = "/tmp/ring_memory.XXXXXX";
	int fd = mkstemp(name);
	char buf[64] = { 0 };
	char line[128];

	unlink(name);
	/* The program's bytes stay: a marker past what the rings use. */
	long rc;
	{
		memset(&r, 0, sizeof(r));
		r.rings_len = rings_bytes(8, 16, flags);
		r.sqes_len = sqes_bytes(8);
		r.rings = anon(r.rings_len);
		r.sqes_mem = anon(r.sqes_len);
		memcpy(r.rings + r.rings_len - 8, "MARKER1", 8);
		memcpy(r.sqes_mem + r.sqes_len - 8, "MARKER2", 8);
		r.p.flags = flags;
		r.p.cq_off.user_addr = (uintptr_t)r.rings;
		r.p.sq_off.user_addr = (uintptr_t)r.sqes_mem;
		rc = setup(8, &r.p);
	}
	snprintf(line, sizeof(line), "%s setup", tag);
	show(line, rc >= 0 ? 0 : rc);
	if (rc < 0)
		return;
	r.fd = (int)rc;
	print_params(tag, &r.p, &r);
	printf("%s markers: %.7s %.7s\n", tag, r.rings + r.rings_len - 8, r.sqes_mem + r.sqes_len - 8);
	show_ring_words(tag, &r);
	errno = 0;
	void *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, r.fd, OFF_SQ_RING);
	snprintf(line, sizeof(line), "%s mmap of the ring fd", tag);
	show(line, m == MAP_FAILED ? -1 : 0);

	struct sqe w = { .opcode = OP_WRITE, .fd = fd, .addr = (uintptr_t)"user memory ring",
			 .len = 16, .off = 0, .user_data = 1 };
	struct sqe rd = { .opcode = OP_READ, .fd = fd, .addr = (uintptr_t)buf, .len = 16,
			  .off = 0, .user_data = 2 };
	push(&r, &w);
	snprintf(line, sizeof(line), "%s enter write", tag);
	show(line, enter(&r, 1, 1, ENTER_GETEVENTS));
	push(&r, &rd);
	push_nop(&r, 3);
	snprintf(line, sizeof(line), "%s enter read+nop", tag);
	show(line, enter(&r, 2, 2, ENTER_GETEVENTS));
	snprintf(line, sizeof(line), "%s CQEs", tag);
	reap(&r, line);
	printf("%s read back: %s\n", tag, buf);
	show_ring_words(tag, &r);
	close(r.fd);
	close(fd);
}

/* The pages are the ring wherever the program moves them (mremap), and it
 * goes on if the program unmaps them. */
static void move_and_unmap(void)
{
	struct ring r;
	long rc = ring_init(&r, 4, SETUP_NO_MMAP, 0);
	show("move: setup", rc >= 0 ? 0 : rc);
	if (rc < 0)
		return;
	char *dst = anon(r.rings_len + PAGE);
	void *moved = mremap(r.rings, r.rings_len, r.rings_len, MREMAP_MAYMOVE | MREMAP_FIXED,
			     dst + PAGE);
	show("move: mremap the rings", moved == MAP_FAILED ? -1 : 0);
	r.rings = moved;
	push_nop(&r, 51);
	show("move: enter", enter(&r, 1, 1, ENTER_GETEVENTS));
	reap(&r, "move");
	munmap(r.rings, r.rings_len);
	munmap(r.sqes_mem, r.sqes_len);
	show("move: enter after munmap", enter(&r, 0, 0, ENTER_GETEVENTS));
	close(r.fd);
}

static void sqpoll_user_memory(void)
{
	struct ring r;
	long rc = ring_init(&r, 4, SETUP_NO_MMAP | SETUP_SQPOLL, 0);
	show("NO_MMAP|SQPOLL setup", rc >= 0 ? 0 : rc);
	if (rc < 0)
		return;
	push_nop(&r, 41);
	push_nop(&r, 42);
	/* Wake the thread in case it went idle before the SQEs came. */
	show("NO_MMAP|SQPOLL wait", enter(&r, 0, 2, ENTER_GETEVENTS | ENTER_SQ_WAKEUP));
	reap(&r, "NO_MMAP|SQPOLL");
	close(r.fd);
}

/* -- REGISTERED_FD_ONLY: setup returns a registered ring index ------------- */
static void registered_only(void)
{
	struct ring r;
	long rc = ring_init(&r, 4, SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY, 0);
	show("REGISTERED_FD_ONLY setup (the index)", rc);
	if (rc < 0)
		return;
	push_nop(&r, 7);
	show("enter through the index", enter(&r, 1, 1, ENTER_GETEVENTS));
	reap(&r, "REGISTERED_FD_ONLY");
	unsigned char probe[16 + 8 * 4];
	memset(probe, 0, sizeof(probe));
	show("register PROBE through the index",
	     reg(r.fd, REG_PROBE | REG_USE_REGISTERED_RING, probe, 4));
	printf("probe last_op nonzero: %d\n", probe[0] != 0);
	/* Fill the 16 slots; the next setup finds none free. */
	struct ring more[17];
	int n = 1;
	for (;;) {
		rc = ring_init(&more[n], 2, SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY, 0);
		if (rc < 0)
			break;
		n++;
	}
	printf("rings registered: %d\n", n);
	show("setup with every slot taken", rc);
	struct rsrc_update u = { .offset = (uint32_t)r.fd };
	show("unregister the first slot", reg(more[1].fd, REG_UNREGISTER_RING_FDS | REG_USE_REGISTERED_RING, &u, 1));
	show("enter through the emptied slot", enter(&r, 0, 0, 0));
	rc = ring_init(&more[0], 2, SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY, 0);
	show("setup again (the freed index)", rc);
	for (int i = 0; i < 16; i++) {
		struct rsrc_update v = { .offset = i };
		reg(more[1].fd, REG_UNREGISTER_RING_FDS | REG_USE_REGISTERED_RING, &v, 1);
	}
}

/* -- RESIZE_RINGS --------------------------------------------------------- */
static long resize(struct ring *r, struct params *np)
{
	return reg(r->fd, REG_RESIZE_RINGS | (r->enter_flags ? REG_USE_REGISTERED_RING : 0), np, 1);
}

static void *other_thread_resize(void *arg)
{
	struct ring *r = arg;
	struct params np = { .sq_entries = 16 };
	long rc = resize(r, &np);
	show("resize from another thread", rc);
	return NULL;
}

static void resize_errors(void)
{
	struct ring r;
	struct params np;

	ring_init(&r, 8, 0, 0);
	memset(&np, 0, sizeof(np));
	np.sq_entries = 16;
	show("resize a ring without DEFER_TASKRUN", resize(&r, &np));
	close(r.fd);

	ring_init(&r, 8, SETUP_SQPOLL, 0);
	show("resize an SQPOLL ring", resize(&r, &np));
	close(r.fd);

	ring_init(&r, 8, SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN, 0);
	show("resize, bad params pointer", reg(r.fd, REG_RESIZE_RINGS, (void *)8, 1));
	show("resize, nr_args 0", reg(r.fd, REG_RESIZE_RINGS, &np, 0));
	show("resize, nr_args 2", reg(r.fd, REG_RESIZE_RINGS, &np, 2));
	show("resize, no params", reg(r.fd, REG_RESIZE_RINGS, NULL, 1));
	memset(&np, 0, sizeof(np));
	np.sq_entries = 16;
	np.flags = SETUP_SQPOLL;
	show("resize with SQPOLL in flags", resize(&r, &np));
	np.flags = SETUP_NO_SQARRAY;
	show("resize with NO_SQARRAY in flags", resize(&r, &np));
	memset(&np, 0, sizeof(np));
	show("resize to 0 entries", resize(&r, &np));
	np.sq_entries = 65536;
	show("resize to 65536 entries", resize(&r, &np));
	np.flags = SETUP_CLAMP;
	np.sq_entries = 65536;
	show("resize to 65536 entries, CLAMP", resize(&r, &np));
	printf("  clamped: sq=%u cq=%u\n", np.sq_entries, np.cq_entries);
	memset(&np, 0, sizeof(np));
	np.sq_entries = 16;
	np.flags = SETUP_CQSIZE;
	np.cq_entries = 8;
	show("resize, CQ smaller than SQ", resize(&r, &np));
	np.cq_entries = 0;
	show("resize, CQSIZE 0", resize(&r, &np));
	memset(&np, 0, sizeof(np));
	np.sq_entries = 16;
	np.resv[0] = 1;
	np.sq_thread_idle = 77;
	np.wq_fd = 99;
	np.features = 5;
	np.sq_off.array = 1234;
	np.sq_off.resv1 = 5;
	np.sq_off.user_addr = 4096;
	np.cq_off.resv1 = 6;
	np.cq_off.user_addr = 8192;
	np.cq_off.head = 999;
	show("resize with resv, idle, wq_fd, features, offsets set", resize(&r, &np));
	printf("  written back: resv0=%u idle=%u wq_fd=%u features=%#x\n",
	       np.resv[0], np.sq_thread_idle, np.wq_fd, np.features);
	print_params("  written back", &np, NULL);
	close(r.fd);

	ring_init(&r, 8, SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN, 0);
	map_ring(&r);
	push_nop(&r, 1);
	show("first submit (the ring's issuer)", enter(&r, 1, 1, ENTER_GETEVENTS));
	reap(&r, "issuer");
	pthread_t t;
	pthread_create(&t, NULL, other_thread_resize, &r);
	pthread_join(t, NULL);
	close(r.fd);
}

/* Pending SQEs (queued, not submitted) and CQEs (posted, not reaped) move
 * with the rings. */
static void resize_pending(unsigned flags, const char *tag)
{
	struct ring r;
	struct params np;
	char line[160];
	long rc = ring_init(&r, 8, flags | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN, 0);
	snprintf(line, sizeof(line), "%s setup", tag);
	show(line, rc >= 0 ? 0 : rc);
	if (rc < 0)
		return;
	/* 6 CQEs waiting, 3 SQEs queued; the tails are past the first lap. */
	for (int i = 0; i < 6; i++)
		push_nop(&r, 100 + i);
	enter(&r, 6, 6, ENTER_GETEVENTS);
	reap(&r, "first lap");
	for (int i = 0; i < 6; i++)
		push_nop(&r, 200 + i);
	enter(&r, 6, 6, ENTER_GETEVENTS);
	for (int i = 0; i < 3; i++)
		push_nop(&r, 300 + i);
	show_ring_words(tag, &r);

	/* Too small for what is pending: EOVERFLOW, nothing changes. */
	memset(&np, 0, sizeof(np));
	np.sq_entries = 2;
	np.flags = SETUP_CQSIZE;
	np.cq_entries = 4;
	struct ring small = r;
	if (flags & SETUP_NO_MMAP) {
		small.rings = anon(rings_bytes(2, 4, flags));
		small.sqes_mem = anon(sqes_bytes(2));
		np.cq_off.user_addr = (uintptr_t)small.rings;
		np.sq_off.user_addr = (uintptr_t)small.sqes_mem;
	}
	snprintf(line, sizeof(line), "%s resize to 2/4", tag);
	show(line, resize(&r, &np));
	np.sq_entries = 4;
	np.cq_entries = 4;
	snprintf(line, sizeof(line), "%s resize to 4/4", tag);
	show(line, resize(&r, &np));
	show_ring_words(tag, &r);

	/* Up: 32 SQ entries, 128 CQ entries. */
	memset(&np, 0, sizeof(np));
	np.sq_entries = 32;
	np.flags = SETUP_CQSIZE;
	np.cq_entries = 128;
	struct ring big = r;
	if (flags & SETUP_NO_MMAP) {
		big.rings_len = rings_bytes(32, 128, flags);
		big.sqes_len = sqes_bytes(32);
		big.rings = anon(big.rings_len);
		big.sqes_mem = anon(big.sqes_len);
		np.cq_off.user_addr = (uintptr_t)big.rings;
		np.sq_off.user_addr = (uintptr_t)big.sqes_mem;
	}
	snprintf(line, sizeof(line), "%s resize to 32/128", tag);
	rc = resize(&r, &np);
	show(line, rc);
	if (rc < 0)
		return;
	big.p = np;
	print_params(tag, &np, &big);
	if (map_ring(&big))
		return;
	show_ring_words(tag, &big);
	if (!(flags & SETUP_NO_SQARRAY)) {
		/* The SQ array is not carried over: fill in the pending entries. */
		uint32_t head = *U32(&big, big.p.sq_off.head), tail = *U32(&big, big.p.sq_off.tail);
		printf("%s array after resize:", tag);
		for (uint32_t i = head; i != tail; i++)
			printf(" %u", U32(&big, big.p.sq_off.array)[i & 31]);
		printf("\n");
		for (uint32_t i = head; i != tail; i++)
			U32(&big, big.p.sq_off.array)[i & 31] = i & 31;
	}
	for (int i = 0; i < 20; i++)
		push_nop(&big, 400 + i);
	snprintf(line, sizeof(line), "%s enter after resize", tag);
	show(line, enter(&big, 23, 23, ENTER_GETEVENTS));
	reap(&big, line);
	show_ring_words(tag, &big);

	/* File I/O through the resized ring. */
	char name[] = "/tmp/ring_memory.XXXXXX";
	int fd = mkstemp(name);
	char buf[32] = { 0 };
	unlink(name);
	struct sqe w = { .opcode = OP_WRITE, .fd = fd, .addr = (uintptr_t)"resized ring",
			 .len = 12, .off = 0, .user_data = 450 };
	struct sqe rd = { .opcode = OP_READ, .fd = fd, .addr = (uintptr_t)buf, .len = 12,
			  .off = 0, .user_data = 451 };
	push(&big, &w);
	enter(&big, 1, 1, ENTER_GETEVENTS);
	push(&big, &rd);
	snprintf(line, sizeof(line), "%s I/O after resize", tag);
	show(line, enter(&big, 1, 1, ENTER_GETEVENTS));
	reap(&big, line);
	printf("%s read back: %s\n", tag, buf);
	close(fd);

	/* Down again, with CQEs waiting across the array's end. */
	for (int i = 0; i < 5; i++)
		push_nop(&big, 500 + i);
	enter(&big, 5, 5, ENTER_GETEVENTS);
	push_nop(&big, 600);
	memset(&np, 0, sizeof(np));
	np.sq_entries = 4;
	struct ring down = big;
	if (flags & SETUP_NO_MMAP) {
		down.rings_len = rings_bytes(4, 8, flags);
		down.sqes_len = sqes_bytes(4);
		down.rings = anon(down.rings_len);
		down.sqes_mem = anon(down.sqes_len);
		np.cq_off.user_addr = (uintptr_t)down.rings;
		np.sq_off.user_addr = (uintptr_t)down.sqes_mem;
	}
	snprintf(line, sizeof(line), "%s resize to 4/8", tag);
	rc = resize(&r, &np);
	show(line, rc);
	if (rc < 0)
		return;
	down.p = np;
	print_params(tag, &np, &down);
	if (map_ring(&down))
		return;
	show_ring_words(tag, &down);
	if (!(flags & SETUP_NO_SQARRAY)) {
		uint32_t t = *U32(&down, down.p.sq_off.tail) - 1;
		U32(&down, down.p.sq_off.array)[t & 3] = t & 3;
	}
	push_nop(&down, 601);
	snprintf(line, sizeof(line), "%s enter after shrinking", tag);
	show(line, enter(&down, 2, 2, ENTER_GETEVENTS));
	reap(&down, line);
	/* The old mapping is no longer the ring (kernel-allocated rings). */
	if (!(flags & SETUP_NO_MMAP))
		printf("%s old mapping cq tail: %u\n", tag, *U32(&r, r.p.cq_off.tail));
	close(r.fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	bad_setups();
	user_memory_io(SETUP_NO_MMAP, "NO_MMAP");
	user_memory_io(SETUP_NO_MMAP | SETUP_NO_SQARRAY, "NO_MMAP|NO_SQARRAY");
	move_and_unmap();
	sqpoll_user_memory();
	registered_only();
	resize_errors();
	resize_pending(0, "resize");
	resize_pending(SETUP_NO_SQARRAY, "resize NO_SQARRAY");
	resize_pending(SETUP_NO_MMAP, "resize NO_MMAP");
	resize_pending(SETUP_NO_MMAP | SETUP_NO_SQARRAY | SETUP_REGISTERED_FD_ONLY,
		       "resize NO_MMAP REGISTERED_FD_ONLY");
	return 0;
}
