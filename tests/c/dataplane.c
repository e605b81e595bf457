/* The hot ops the Sentry runs in its C data plane (NOP, READ, WRITE, READV,
 * WRITEV, READ_FIXED, WRITE_FIXED, FSYNC), mixed in batches with what stays
 * in Python, against Linux: results, CQE_SKIP_SUCCESS, a prep failure in
 * the middle of a batch, bad files and buffers, the file position, CQ
 * overflow, drain, links, the program's memory as later SQEs of the
 * same batch see it, read/write attributes (which stay in Python), cloned
 * buffers, and the checks Linux makes before any I/O (open mode, RWF
 * flags, ioprio, iovecs outside user space).  argv[1]: a scratch file.
 * Completions that Linux may deliver out of order (fsync and writes go to
 * io-wq there) are printed sorted by user_data. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "cqe_sorted.h"

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)
#define BS 4096
#define NBLOCKS 16
#ifndef IORING_NOP_INJECT_RESULT
#define IORING_NOP_INJECT_RESULT (1U << 0)
#endif

static int fd;

static struct io_uring_sqe *get(struct io_uring *r, unsigned long long ud)
{
	struct io_uring_sqe *s = io_uring_get_sqe(r);
	if (!s)
		FAIL("no sqe");
	io_uring_sqe_set_data64(s, ud);
	return s;
}

static struct io_uring_sqe *nop_result(struct io_uring *r, unsigned long long ud, int res)
{
	struct io_uring_sqe *s = get(r, ud);
	io_uring_prep_nop(s);
	s->rw_flags = IORING_NOP_INJECT_RESULT;
	s->len = (unsigned)res;
	return s;
}

static void print_sorted(struct io_uring *r, const char *tag, int n)
{
	struct sorted_cqe got[64];
	int k = reap_sorted(r, got, n, 5);
	for (int i = 0; i < k; i++)
		printf("%s: user_data=%llu res=%d\n", tag, got[i].ud, got[i].res);
	if (k != n)
		printf("%s: only %d of %d cqes\n", tag, k, n);
}

/* Any CQE left over means a CQE_SKIP_SUCCESS request posted one. */
static void print_leftovers(struct io_uring *r, const char *tag)
{
	struct io_uring_cqe *c;
	while (!io_uring_peek_cqe(r, &c)) {
		printf("%s: extra cqe user_data=%llu res=%d\n", tag,
		       (unsigned long long)c->user_data, c->res);
		io_uring_cqe_seen(r, c);
	}
}

static char block_byte(int i) { return 'A' + i; }

static int block_is(const char *buf, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

static char first_of_block(int i)
{
	char c = 0;
	if (pread(fd, &c, 1, (off_t)i * BS) != 1)
		FAIL("pread");
	return c;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		FAIL("usage: dataplane FILE");
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		FAIL("open: %s", strerror(errno));
	char *blk = aligned_alloc(BS, BS);
	for (int i = 0; i < NBLOCKS; i++) {
		memset(blk, block_byte(i), BS);
		if (pwrite(fd, blk, BS, (off_t)i * BS) != BS)
			FAIL("pwrite");
	}

	struct io_uring r;
	if (io_uring_queue_init(32, &r, 0))
		FAIL("init");
	int files[2] = { fd, -1 };
	printf("register files: %d\n", io_uring_register_files(&r, files, 2));
	char *fixed = aligned_alloc(BS, 4 * BS);
	memset(fixed, '.', 4 * BS);
	struct iovec regs[2] = { { fixed, 2 * BS }, { fixed + 2 * BS, 2 * BS } };
	printf("register buffers: %d\n", io_uring_register_buffers(&r, regs, 2));

	/* 1. Every hot op in one batch. */
	char *b1 = aligned_alloc(BS, BS), *b2 = aligned_alloc(BS, BS);
	char *w = aligned_alloc(BS, 2 * BS);
	memset(w, 'z', 2 * BS);
	memset(fixed + 2 * BS, 'y', BS);
	struct iovec rv[2] = { { b2, 2048 }, { b2 + 2048, 2048 } };
	struct iovec wv[2] = { { w, 1000 }, { w + 1000, 3096 } };
	io_uring_prep_read(get(&r, 1), fd, b1, BS, 0);
	io_uring_prep_readv(get(&r, 2), fd, rv, 2, BS);
	struct io_uring_sqe *s = get(&r, 3);
	io_uring_prep_read_fixed(s, 0, fixed, BS, 2 * BS, 0);
	s->flags |= IOSQE_FIXED_FILE;
	io_uring_prep_nop(get(&r, 4));
	nop_result(&r, 5, -5);
	nop_result(&r, 6, 7);
	io_uring_prep_write(get(&r, 7), fd, w, BS, 12 * BS);
	s = get(&r, 8);
	io_uring_prep_write_fixed(s, 0, fixed + 2 * BS, BS, 13 * BS, 1);
	s->flags |= IOSQE_FIXED_FILE;
	io_uring_prep_writev(get(&r, 9), fd, wv, 2, 14 * BS);
	io_uring_prep_fsync(get(&r, 10), fd, 0);
	s = get(&r, 11);
	io_uring_prep_fsync(s, 0, IORING_FSYNC_DATASYNC);
	s->flags |= IOSQE_FIXED_FILE;
	s = get(&r, 12);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_ASYNC;
	printf("batch: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "batch", 12);
	printf("batch: read=%d readv=%d read_fixed=%d\n", block_is(b1, BS, 'A'),
	       block_is(b2, BS, 'B'), block_is(fixed, BS, 'C'));
	printf("batch: blocks 12 13 14 now %c %c %c\n", first_of_block(12), first_of_block(13),
	       first_of_block(14));

	/* 2. CQE_SKIP_SUCCESS: only failures and short transfers post. */
	s = get(&r, 20);
	io_uring_prep_read(s, fd, b1, BS, 0);
	s->flags |= IOSQE_CQE_SKIP_SUCCESS;
	s = get(&r, 21);
	io_uring_prep_read(s, fd, b1, BS, (NBLOCKS - 1) * BS + 2048);      /* short: 2048 */
	s->flags |= IOSQE_CQE_SKIP_SUCCESS;
	nop_result(&r, 22, -1)->flags |= IOSQE_CQE_SKIP_SUCCESS;
	s = get(&r, 23);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_CQE_SKIP_SUCCESS;
	s = get(&r, 24);
	io_uring_prep_read(s, fd, b1, 0, 0);                               /* len 0: res 0 */
	s->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_prep_nop(get(&r, 25));
	printf("skip: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "skip", 3);
	print_leftovers(&r, "skip");

	/* 3. A write sees the data a read before it in the same batch put in
	 * its buffer; so does WRITE_FIXED after READ_FIXED. */
	char *x = aligned_alloc(BS, BS);
	memset(x, '?', BS);
	io_uring_prep_read(get(&r, 30), fd, x, BS, 3 * BS);
	io_uring_prep_write(get(&r, 31), fd, x, BS, 10 * BS);
	io_uring_prep_read_fixed(get(&r, 32), fd, fixed + 3 * BS, BS, 4 * BS, 1);
	io_uring_prep_write_fixed(get(&r, 33), fd, fixed + 3 * BS, BS, 11 * BS, 1);
	printf("read-then-write: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "read-then-write", 4);
	printf("read-then-write: blocks 10 11 now %c %c\n", first_of_block(10), first_of_block(11));

	/* 4. A READV's iovec array is read at its prep, after the READ before
	 * it in the batch rewrote it. */
	char *ya = aligned_alloc(BS, BS), *yb = aligned_alloc(BS, BS);
	memset(ya, '-', BS);
	memset(yb, '-', BS);
	struct iovec *arr = aligned_alloc(BS, BS);
	struct iovec newiov = { yb, BS };
	arr[0].iov_base = ya;
	arr[0].iov_len = BS;
	if (pwrite(fd, &newiov, sizeof(newiov), 9 * BS) != sizeof(newiov))
		FAIL("pwrite iovec");
	io_uring_prep_read(get(&r, 40), fd, arr, sizeof(newiov), 9 * BS);
	io_uring_prep_readv(get(&r, 41), fd, arr, 1, 5 * BS);
	printf("iovec-after-read: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "iovec-after-read", 2);
	printf("iovec-after-read: first buffer %c second buffer %c\n", ya[0], yb[0]);

	/* 5. A prep failure ends the batch: the SQEs before it are submitted,
	 * it completes with its error, the rest waits for the next submit. */
	io_uring_prep_nop(get(&r, 50));
	io_uring_prep_read(get(&r, 51), fd, (void *)0xffffffffffff0000ull, BS, 0);
	io_uring_prep_read(get(&r, 52), fd, b1, BS, 0);
	printf("prep-failure: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "prep-failure", 2);
	printf("prep-failure: resubmitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "prep-failure", 1);

	/* 6. Bad files and buffers complete with their errors. */
	io_uring_prep_read(get(&r, 60), 999, b1, BS, 0);
	s = get(&r, 61);
	io_uring_prep_read(s, 1, b1, BS, 0);             /* fixed slot 1 is empty */
	s->flags |= IOSQE_FIXED_FILE;
	io_uring_prep_read_fixed(get(&r, 62), fd, fixed, BS, 0, 5);         /* no buffer 5 */
	io_uring_prep_read_fixed(get(&r, 63), fd, fixed + BS, 2 * BS, 0, 0); /* past its end */
	io_uring_prep_fsync(get(&r, 64), 999, 0);
	s = get(&r, 65);
	io_uring_prep_nop(s);
	s->flags |= 1 << 7;                              /* an unknown SQE flag */
	io_uring_prep_read(get(&r, 66), fd, b1, BS, -2ull);  /* a negative offset */
	printf("errors: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "errors", 6);
	printf("errors: resubmitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "errors", 1);

	/* 7. The file position (off = -1) and explicit offsets in one batch. */
	lseek(fd, 0, SEEK_SET);
	char p1[100], p2[100];
	io_uring_prep_read(get(&r, 70), fd, p1, 100, -1);
	io_uring_prep_read(get(&r, 71), fd, b1, BS, 6 * BS);
	io_uring_prep_read(get(&r, 72), fd, p2, 100, -1);
	printf("position: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "position", 3);
	printf("position: now %ld, data %c %c %c\n", (long)lseek(fd, 0, SEEK_CUR), p1[0], p2[99],
	       b1[0]);

	/* 8. This ring has seen CQE_SKIP_SUCCESS: IO_DRAIN now fails on it
	 * (ctx->drain_disabled), and ends the batch. */
	s = get(&r, 80);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_IO_DRAIN;
	io_uring_prep_nop(get(&r, 81));
	printf("drain-after-skip: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "drain-after-skip", 1);
	printf("drain-after-skip: resubmitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "drain-after-skip", 1);

	/* Drain and links around hot requests, on a ring without skipped CQEs
	 * (or registered files: Linux then runs drained requests later). */
	struct io_uring d;
	if (io_uring_queue_init(8, &d, 0))
		FAIL("init drain ring");
	io_uring_prep_read(get(&d, 82), fd, b1, BS, 0);
	s = get(&d, 83);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_IO_DRAIN;
	io_uring_prep_read(get(&d, 84), fd, b2, BS, BS);
	s = get(&d, 85);
	io_uring_prep_read(s, fd, x, BS, 7 * BS);
	s->flags |= IOSQE_IO_LINK;
	io_uring_prep_write(get(&d, 86), fd, x, BS, 8 * BS);
	s = get(&d, 87);
	io_uring_prep_read(s, fd, b1, BS, 999 * BS);     /* 0 bytes: the link fails */
	s->flags |= IOSQE_IO_LINK;
	io_uring_prep_nop(get(&d, 88));
	printf("drain-link: submitted %d\n", io_uring_submit(&d));
	print_sorted(&d, "drain-link", 7);
	printf("drain-link: block 8 now %c\n", first_of_block(8));

	/* 9. More than the data plane stages at once (1 MiB): one read. */
	char *big = aligned_alloc(BS, 2 << 20);
	io_uring_prep_read(get(&r, 90), fd, big, 2 << 20, 0);
	io_uring_prep_read(get(&r, 91), fd, b1, BS, 0);
	s = get(&r, 92);
	io_uring_prep_read(s, fd, b2, BS, BS);
	s->rw_flags = RWF_NOWAIT;
	printf("big: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "big", 3);
	printf("big: block 15 seen %d\n", block_is(big + 15 * BS, BS, block_byte(15)));

	/* 10. Reads into memory that faults part-way copy what fits, a page
	 * at a time; wholly unwritable memory is -EFAULT.  Reads after the
	 * fault in the same batch are unaffected. */
	char *m = mmap(0, 3 * BS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + BS, BS, PROT_NONE))
		FAIL("mmap");
	struct iovec fv[2] = { { m, BS }, { m + BS, BS } };
	io_uring_prep_read(get(&r, 100), fd, b1, BS, 0);
	io_uring_prep_read(get(&r, 101), fd, m, 2 * BS, 0);
	io_uring_prep_readv(get(&r, 102), fd, fv, 2, 0);
	io_uring_prep_read(get(&r, 103), fd, m + BS, BS, 0);
	io_uring_prep_read(get(&r, 104), fd, m + 2048, BS, 0);
	io_uring_prep_read(get(&r, 105), fd, b2, BS, 2 * BS);
	printf("faults: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "faults", 6);
	printf("faults: data %c %c\n", b1[0], b2[0]);

	/* 11. O_DIRECT: a short read at the end of the file, then whole
	 * blocks, in one batch (each must reach the disk from an aligned
	 * buffer); an unaligned length fails. */
	char dpath[4096];
	snprintf(dpath, sizeof(dpath), "%s.direct", argv[1]);
	int dfd = open(dpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(blk, 'd', BS);
	if (dfd < 0 || pwrite(dfd, blk, BS, 0) != BS || pwrite(dfd, blk, BS, BS) != BS
	    || pwrite(dfd, blk, 100, 2 * BS) != 100)
		FAIL("direct file");
	close(dfd);
	dfd = open(dpath, O_RDONLY | O_DIRECT);
	if (dfd < 0) {
		printf("direct: not supported here\n");
	} else {
		char *db = aligned_alloc(BS, 3 * BS);
		/* (The Sentry learns the new fd here, so the batch below is
		 * all the data plane's.) */
		io_uring_prep_read(get(&r, 109), dfd, db, BS, 0);
		printf("direct: submitted %d\n", io_uring_submit(&r));
		print_sorted(&r, "direct", 1);
		io_uring_prep_read(get(&r, 110), dfd, db, BS, 2 * BS);
		io_uring_prep_read(get(&r, 111), dfd, db + BS, BS, 0);
		io_uring_prep_read(get(&r, 112), dfd, db + 2 * BS, BS, BS);
		io_uring_prep_read(get(&r, 113), dfd, db, 100, 0);
		printf("direct: submitted %d\n", io_uring_submit(&r));
		print_sorted(&r, "direct", 4);
		printf("direct: data %c %c\n", db[BS], db[2 * BS + BS - 1]);
		close(dfd);
	}
	unlink(dpath);

	/* 12. CQ overflow: 4-entry SQ and CQ, 12 completions, none lost. */
	struct io_uring o;
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 4;
	if (io_uring_queue_init_params(4, &o, &p))
		FAIL("init small");
	char *ob = aligned_alloc(BS, 12 * BS);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++) {
			int n = round * 4 + i;
			struct io_uring_sqe *q = io_uring_get_sqe(&o);
			if (n % 3 == 1)
				io_uring_prep_nop(q);
			else
				io_uring_prep_read(q, fd, ob + n * BS, BS, (off_t)n * BS);
			io_uring_sqe_set_data64(q, 100 + n);
		}
		printf("overflow: submitted %d\n", io_uring_submit(&o));
	}
	printf("overflow: flag set %d\n", !!(*o.sq.kflags & IORING_SQ_CQ_OVERFLOW));
	int seen = 0;
	for (int tries = 0; seen < 12 && tries < 100; tries++) {
		struct io_uring_cqe *c;
		while (!io_uring_peek_cqe(&o, &c)) {
			printf("overflow: user_data=%llu res=%d\n", (unsigned long long)c->user_data,
			       c->res);
			io_uring_cqe_seen(&o, c);
			seen++;
		}
		syscall(__NR_io_uring_enter, o.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
	}
	printf("overflow: flag after %d\n", !!(*o.sq.kflags & IORING_SQ_CQ_OVERFLOW));

	/* 13. A READ naming read/write attributes (attr_type_mask, the PI
	 * attribute at attr_ptr) between hot NOPs: it fails at issue, as
	 * Linux fails it for files without integrity metadata, and the NOPs
	 * around it complete. */
	struct { uint16_t flags, app_tag; uint32_t len; uint64_t addr, seed, rsvd; } pi = {
		.len = 8, .addr = (uintptr_t)b2 };
	io_uring_prep_nop(get(&r, 200));
	s = get(&r, 201);
	io_uring_prep_read(s, fd, b1, BS, 3 * BS);
	*(uint64_t *)((char *)s + 48) = (uintptr_t)&pi;         /* attr_ptr */
	*(uint64_t *)((char *)s + 56) = 1;                      /* attr_type_mask: PI */
	io_uring_prep_nop(get(&r, 202));
	printf("attr: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "attr", 3);

	/* 14. READ_FIXED into buffers cloned from r (IORING_REGISTER_CLONE_BUFFERS:
	 * r's slot 1 becomes slot 0), submitted through a registered ring fd;
	 * a range outside the clone is -EFAULT. */
	struct io_uring c2;
	if (io_uring_queue_init(4, &c2, 0))
		FAIL("init clone");
	struct { unsigned src_fd, flags, src_off, dst_off, nr, pad[3]; } ca = {
		(unsigned)r.ring_fd, 0, 1, 0, 1, { 0 } };
	printf("clone: %ld\n", (long)syscall(__NR_io_uring_register, c2.ring_fd, 30, &ca, 1));
	printf("clone: ring fd registered %d\n", io_uring_register_ring_fd(&c2));
	memset(fixed + 2 * BS, '.', BS);
	io_uring_prep_read_fixed(get(&c2, 210), fd, fixed + 2 * BS, BS, 5 * BS, 0);
	io_uring_prep_read_fixed(get(&c2, 211), fd, fixed, BS, 5 * BS, 0);
	printf("clone: submitted %d\n", io_uring_submit(&c2));
	print_sorted(&c2, "clone", 2);
	printf("clone: data %c\n", fixed[2 * BS]);

	/* 15. What io_rw_init_file() and import_iovec() refuse before any I/O,
	 * among hot SQEs: the open mode even for 0 bytes or an unmapped buffer
	 * (EBADF), RWF_HIPRI without IOPOLL (EINVAL), an iovec segment outside
	 * user space, an empty one too (EFAULT).  No host call makes these
	 * checks for the data plane, so it leaves such SQEs to Python. */
	int ro = open(argv[1], O_RDONLY), wo = open(argv[1], O_WRONLY);
	if (ro < 0 || wo < 0)
		FAIL("reopen");
	char *mb = aligned_alloc(BS, BS);
	io_uring_prep_read(get(&r, 120), ro, mb, 1, 0);
	io_uring_prep_write(get(&r, 121), wo, "A", 1, 0);     /* block 0 is all 'A' */
	printf("modes: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "modes", 2);
	struct iovec none[1] = { { mb, 0 } };
	struct iovec kv[2] = { { mb, 4 }, { (void *)0xffff888000000000ULL, 0 } };
	struct iovec kw[2] = { { w, 4 }, { (void *)0xffff888000000000ULL, 4 } };
	io_uring_prep_nop(get(&r, 122));
	io_uring_prep_read(get(&r, 123), wo, mb, 0, 0);
	io_uring_prep_write(get(&r, 124), ro, mb, 0, 0);
	io_uring_prep_readv(get(&r, 125), wo, none, 0, 0);
	io_uring_prep_read_fixed(get(&r, 126), wo, fixed, 0, 0, 0);
	io_uring_prep_read(get(&r, 127), ro, mb, 0, 0);
	io_uring_prep_read(get(&r, 128), ro, mb, 4, 0);
	s = get(&r, 129);
	io_uring_prep_read(s, fd, mb, 4, 0);
	s->rw_flags = RWF_HIPRI;
	io_uring_prep_write(get(&r, 130), ro, (void *)0x1000, 8, 0);
	io_uring_prep_nop(get(&r, 131));
	s = get(&r, 137);
	io_uring_prep_read(s, fd, mb, 4, 0);
	s->rw_flags = 0x100;            /* RWF_NOSIGNAL: Linux 6.18 accepts it */
	s = get(&r, 138);
	io_uring_prep_read(s, fd, mb, 4, 0);
	s->rw_flags = 0x200;            /* unknown: EOPNOTSUPP */
	s = get(&r, 139);
	io_uring_prep_read(s, fd, mb, 4, 0);
	s->ioprio = 0x4000 | 0x0100;    /* class BE with a hint: accepted */
	printf("modes: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "modes", 13);
	/* ioprio_check_cap(): a level under class NONE fails the prep. */
	s = get(&r, 140);
	io_uring_prep_read(s, fd, mb, 4, 0);
	s->ioprio = 1;
	printf("modes: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "modes", 1);
	/* A bad iovec fails the prep, which ends the batch: the NOP after each
	 * waits for the next submit. */
	io_uring_prep_readv(get(&r, 132), fd, kv, 2, 0);
	io_uring_prep_nop(get(&r, 133));
	printf("modes: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "modes", 1);
	io_uring_prep_writev(get(&r, 134), fd, kw, 2, 15 * BS);
	io_uring_prep_nop(get(&r, 135));
	printf("modes: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "modes", 2);
	printf("modes: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "modes", 1);
	char last[2] = { 0 };
	printf("modes: block 15 unchanged %d\n",
	       pread(fd, last, 1, 15 * BS) == 1 && last[0] == block_byte(15));
	return 0;
}
