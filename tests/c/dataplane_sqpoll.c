/* An SQPOLL ring whose SQ thread runs the hot ops itself (the Sentry's C
 * data plane) and hands the rest to the Sentry, against Linux: fixed files
 * and buffers, waits in io_uring_enter, a registered eventfd, hot and
 * other requests mixed, drain, CQE_SKIP_SUCCESS, CQ overflow, and files
 * swapped under reads in flight (dup2 onto the fd, FILES_UPDATE of the
 * slot) by another thread.  argv[1..3]: scratch files. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cqe_sorted.h"

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)
#define BS 4096
#define NBLOCKS 64
#ifndef IORING_NOP_INJECT_RESULT
#define IORING_NOP_INJECT_RESULT (1U << 0)
#endif

static struct io_uring_sqe *get(struct io_uring *r, unsigned long long ud)
{
	struct io_uring_sqe *s = io_uring_get_sqe(r);
	if (!s)
		FAIL("no sqe");
	io_uring_sqe_set_data64(s, ud);
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

static int sqpoll_ring(struct io_uring *r, unsigned entries, unsigned cq)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL;
	p.sq_thread_idle = 50;
	if (cq) {
		p.flags |= IORING_SETUP_CQSIZE;
		p.cq_entries = cq;
	}
	return io_uring_queue_init_params(entries, r, &p);
}

static int make_file(const char *path, int pattern)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		FAIL("open %s: %s", path, strerror(errno));
	char *blk = malloc(BS);
	for (int i = 0; i < NBLOCKS; i++) {
		memset(blk, pattern ? pattern : 'A' + i % 26, BS);
		if (pwrite(fd, blk, BS, (off_t)i * BS) != BS)
			FAIL("pwrite");
	}
	free(blk);
	return fd;
}

/* The swapper: alternates which file `target` (and fixed slot 1) names. */
static struct {
	int target, a, b, ring_fd;
	struct io_uring *ring;
	volatile int stop;
	int swaps;
} sw;

static void *swapper(void *arg)
{
	(void)arg;
	while (!sw.stop) {
		int next = sw.swaps & 1 ? sw.a : sw.b;
		if (dup2(next, sw.target) < 0)
			FAIL("dup2");
		if (io_uring_register_files_update(sw.ring, 1, &next, 1) != 1)
			FAIL("files update");
		sw.swaps++;
		usleep(200);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		FAIL("usage: dataplane_sqpoll FILE FILE2 FILE3");
	int fd = make_file(argv[1], 0);
	struct io_uring r;
	int ret = sqpoll_ring(&r, 16, 0);
	if (ret)
		FAIL("init: %s", strerror(-ret));
	int files[2] = { fd, -1 };
	printf("register files: %d\n", io_uring_register_files(&r, files, 2));
	char *fixed = aligned_alloc(BS, 16 * BS);
	struct iovec regs[1] = { { fixed, 16 * BS } };
	printf("register buffers: %d\n", io_uring_register_buffers(&r, regs, 1));
	int efd = eventfd(0, EFD_NONBLOCK);
	printf("register eventfd: %d\n", io_uring_register_eventfd(&r, efd));

	/* 1. Rounds of fixed reads, each waited for in io_uring_enter. */
	for (int round = 0; round < 4; round++) {
		memset(fixed, '.', 16 * BS);
		for (int i = 0; i < 16; i++) {
			struct io_uring_sqe *s = get(&r, round * 100 + i);
			io_uring_prep_read_fixed(s, 0, fixed + i * BS, BS,
						 (off_t)(round * 16 + i) * BS, 0);
			s->flags |= IOSQE_FIXED_FILE;
		}
		int sub = io_uring_submit(&r);
		struct io_uring_cqe *c;
		int ok = 0, n = 0;
		for (; n < 16; n++) {
			if (io_uring_wait_cqe(&r, &c))
				break;
			int i = (int)(c->user_data - round * 100);
			ok += c->res == BS && fixed[i * BS] == 'A' + (round * 16 + i) % 26
			      && fixed[i * BS + BS - 1] == fixed[i * BS];
			io_uring_cqe_seen(&r, c);
		}
		printf("round %d: submitted %d, %d cqes, %d reads right\n", round, sub, n, ok);
	}
	uint64_t v = 0;
	printf("eventfd signalled: %d\n", read(efd, &v, sizeof(v)) == sizeof(v) && v > 0);

	/* 2. Hot requests and one for the Sentry (a poll) in one submission;
	 * a read into fixed-file slot 1 (empty) and a bad fd fail. */
	int pfd[2];
	if (pipe(pfd) || write(pfd[1], "x", 1) != 1)
		FAIL("pipe");
	char *b1 = aligned_alloc(BS, BS), *b2 = aligned_alloc(BS, BS);
	io_uring_prep_nop(get(&r, 200));
	io_uring_prep_read(get(&r, 201), fd, b1, BS, 5 * BS);
	io_uring_prep_poll_add(get(&r, 202), pfd[0], POLLIN);
	io_uring_prep_read(get(&r, 203), fd, b2, BS, 6 * BS);
	struct io_uring_sqe *s = get(&r, 204);
	io_uring_prep_nop(s);
	s->rw_flags = IORING_NOP_INJECT_RESULT;
	s->len = (unsigned)-3;
	s = get(&r, 205);
	io_uring_prep_read(s, 1, b1, BS, 0);
	s->flags |= IOSQE_FIXED_FILE;
	io_uring_prep_read(get(&r, 206), 999, b1, BS, 0);
	printf("mixed: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "mixed", 7);
	printf("mixed: data %c %c\n", b2[0], b2[BS - 1]);

	/* 3. Drain keeps its order with the SQ thread (before any skipped CQE
	 * disables it on this ring). */
	io_uring_prep_read(get(&r, 300), fd, b1, BS, 0);
	s = get(&r, 301);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_IO_DRAIN;
	io_uring_prep_read(get(&r, 302), fd, b2, BS, BS);
	s = get(&r, 303);
	io_uring_prep_read(s, fd, b1, BS, 2 * BS);
	s->flags |= IOSQE_IO_LINK;
	io_uring_prep_nop(get(&r, 304));
	printf("drain-link: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "drain-link", 5);

	/* 4. Writes through the SQ thread, then read back with pread(2). */
	char *w = aligned_alloc(BS, BS);
	memset(w, 'w', BS);
	memset(fixed, 'f', BS);
	io_uring_prep_write(get(&r, 400), fd, w, BS, 40 * BS);
	s = get(&r, 401);
	io_uring_prep_write_fixed(s, 0, fixed, BS, 41 * BS, 0);
	s->flags |= IOSQE_FIXED_FILE;
	io_uring_prep_fsync(get(&r, 402), fd, IORING_FSYNC_DATASYNC);
	printf("writes: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "writes", 3);
	char c40 = 0, c41 = 0;
	if (pread(fd, &c40, 1, 40 * BS) != 1 || pread(fd, &c41, 1, 41 * BS) != 1)
		FAIL("pread");
	printf("writes: blocks 40 41 now %c %c\n", c40, c41);

	/* 5. CQE_SKIP_SUCCESS: only the NOP after the skipped read posts. */
	s = get(&r, 500);
	io_uring_prep_read(s, fd, b1, BS, 0);
	s->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_prep_nop(get(&r, 501));
	printf("skip: submitted %d\n", io_uring_submit(&r));
	print_sorted(&r, "skip", 1);
	struct io_uring_cqe *c;
	printf("skip: nothing more %d\n", io_uring_peek_cqe(&r, &c) == -EAGAIN);

	/* 6. CQ overflow: a 4-entry CQ left full, then 6 more completions. */
	struct io_uring o;
	ret = sqpoll_ring(&o, 4, 4);
	if (ret)
		FAIL("init small: %s", strerror(-ret));
	char *ob = aligned_alloc(BS, 10 * BS);
	for (int i = 0; i < 10; i++) {
		s = io_uring_get_sqe(&o);
		if (!s) {
			io_uring_submit(&o);
			/* Let the SQ thread take what is queued before the next. */
			for (int t = 0; t < 2000 && io_uring_sq_ready(&o); t++)
				usleep(1000);
			s = io_uring_get_sqe(&o);
		}
		if (i % 3 == 1)
			io_uring_prep_nop(s);
		else
			io_uring_prep_read(s, fd, ob + i * BS, BS, (off_t)i * BS);
		io_uring_sqe_set_data64(s, 600 + i);
	}
	io_uring_submit(&o);
	for (int t = 0; t < 2000 && io_uring_sq_ready(&o); t++)
		usleep(1000);
	for (int t = 0; t < 2000 && !(*o.sq.kflags & IORING_SQ_CQ_OVERFLOW); t++)
		usleep(1000);
	printf("overflow: flag set %d\n", !!(*o.sq.kflags & IORING_SQ_CQ_OVERFLOW));
	int seen = 0;
	for (int tries = 0; seen < 10 && tries < 100; tries++) {
		while (!io_uring_peek_cqe(&o, &c)) {
			printf("overflow: user_data=%llu res=%d\n", (unsigned long long)c->user_data,
			       c->res);
			io_uring_cqe_seen(&o, c);
			seen++;
		}
		syscall(__NR_io_uring_enter, o.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
	}
	printf("overflow: flag after %d\n", !!(*o.sq.kflags & IORING_SQ_CQ_OVERFLOW));

	/* 7. Reads while another thread swaps the file under them: each
	 * finds one whole file or the other, never a mix or a stale fd. */
	int fa = make_file(argv[2], 'a');
	int fb = make_file(argv[3], 'b');
	int target = dup(fa);
	if (io_uring_register_files_update(&r, 1, &fa, 1) != 1)
		FAIL("files update");
	sw.target = target;
	sw.a = fa;
	sw.b = fb;
	sw.ring = &r;
	pthread_t th;
	pthread_create(&th, NULL, swapper, NULL);
	char *rb = aligned_alloc(BS, 8 * BS);
	int bad = 0, done = 0;
	/* At least 300 rounds, and until the files were swapped 50 times. */
	for (int round = 0; round < 300 || (sw.swaps < 50 && round < 1000000); round++) {
		for (int i = 0; i < 8; i++) {
			s = get(&r, 700 + i);
			if (i & 1) {
				io_uring_prep_read(s, 1, rb + i * BS, BS, (off_t)i * BS);
				s->flags |= IOSQE_FIXED_FILE;
			} else {
				io_uring_prep_read(s, target, rb + i * BS, BS, (off_t)i * BS);
			}
		}
		io_uring_submit(&r);
		for (int i = 0; i < 8; i++) {
			if (io_uring_wait_cqe(&r, &c))
				FAIL("wait");
			int k = (int)(c->user_data - 700);
			char *p = rb + k * BS;
			if (c->res != BS || (p[0] != 'a' && p[0] != 'b') || memcmp(p, p + 1, BS - 1))
				bad++;
			done++;
			io_uring_cqe_seen(&r, c);
		}
	}
	sw.stop = 1;
	pthread_join(th, NULL);
	printf("swapped files: %d wrong, swaps happened %d\n", bad, sw.swaps >= 50);
	return 0;
}
