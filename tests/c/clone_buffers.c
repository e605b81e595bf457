/* IORING_REGISTER_CLONE_BUFFERS: registered buffers copied from one ring to
 * another (by fd or registered ring index), with offsets, a count and
 * DST_REPLACE; the clones work for READ_FIXED in the destination and outlive
 * the source's unregistration.  Prints results only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define R_CLONE_BUFFERS 30
#define SRC_REGISTERED 1
#define DST_REPLACE 2

struct clone_arg {
	unsigned src_fd, flags, src_off, dst_off, nr, pad[3];
};

static struct io_uring src, dst;
static char bufs[4][64];

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %ld %s\n", what, r, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static long clone_bufs(struct io_uring *to, unsigned src_fd, unsigned flags, unsigned src_off,
		       unsigned dst_off, unsigned nr)
{
	struct clone_arg a = { src_fd, flags, src_off, dst_off, nr, {0} };
	return syscall(__NR_io_uring_register, to->ring_fd, R_CLONE_BUFFERS, &a, 1);
}

/* Which registered slots of `r` hold which of bufs[]: READ_FIXED of a pipe
 * into each slot's start, reported as the buffer index it landed in. */
static void slots(const char *what, struct io_uring *r, int n)
{
	printf("%s:", what);
	for (int i = 0; i < n; i++) {
		int p[2];
		pipe(p);
		write(p[1], "Z", 1);
		for (int b = 0; b < 4; b++)
			bufs[b][0] = 0;
		struct io_uring_sqe *sqe = io_uring_get_sqe(r);
		struct io_uring_cqe *cqe;
		/* try each buffer's address; the one in the slot's range succeeds */
		int found = -1, res = 0;
		for (int b = 0; b < 4 && found < 0; b++) {
			if (!sqe)
				sqe = io_uring_get_sqe(r);
			io_uring_prep_read_fixed(sqe, p[0], bufs[b], 1, 0, i);
			sqe = NULL;
			io_uring_submit(r);
			io_uring_wait_cqe(r, &cqe);
			res = cqe->res;
			io_uring_cqe_seen(r, cqe);
			if (res == 1)
				found = b;
		}
		if (found >= 0)
			printf(" %d=buf%d", i, found);
		else
			printf(" %d=%s", i, strerrorname_np(-res));
		close(p[0]);
		close(p[1]);
	}
	printf("\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init(8, &src, 0) || io_uring_queue_init(8, &dst, 0))
		return 1;
	struct iovec iov[4];
	for (int i = 0; i < 4; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
	}

	show("clone from a ring without buffers", clone_bufs(&dst, src.ring_fd, 0, 0, 0, 0));
	io_uring_register_buffers(&src, iov, 3);
	show("clone from stdin", clone_bufs(&dst, 0, 0, 0, 0, 0));
	show("clone from a closed fd", clone_bufs(&dst, 999, 0, 0, 0, 0));
	show("unknown flag", clone_bufs(&dst, src.ring_fd, 4, 0, 0, 0));
	struct clone_arg a = { src.ring_fd, 0, 0, 0, 0, { 1 } };
	show("pad set", syscall(__NR_io_uring_register, dst.ring_fd, R_CLONE_BUFFERS, &a, 1));
	show("nr_args 0", syscall(__NR_io_uring_register, dst.ring_fd, R_CLONE_BUFFERS, &a, 0));
	show("bad pointer", syscall(__NR_io_uring_register, dst.ring_fd, R_CLONE_BUFFERS, (void *)8, 1));
	show("offsets without nr", clone_bufs(&dst, src.ring_fd, 0, 1, 0, 0));
	show("nr beyond the source", clone_bufs(&dst, src.ring_fd, 0, 0, 0, 4));
	show("src_off + nr beyond", clone_bufs(&dst, src.ring_fd, 0, 2, 0, 2));
	show("dst_off huge", clone_bufs(&dst, src.ring_fd, 0, 0, 0xfffffff0u, 2));
	show("clone all", clone_bufs(&dst, src.ring_fd, 0, 0, 0, 0));
	slots("dst after clone all", &dst, 4);
	show("clone again without REPLACE", clone_bufs(&dst, src.ring_fd, 0, 0, 0, 0));
	show("clone to itself", clone_bufs(&src, src.ring_fd, DST_REPLACE, 0, 0, 0));
	slots("src after cloning to itself", &src, 3);
	show("replace with src 1..2 at 2", clone_bufs(&dst, src.ring_fd, DST_REPLACE, 1, 2, 2));
	slots("dst", &dst, 5);
	show("replace with src 0 at 1", clone_bufs(&dst, src.ring_fd, DST_REPLACE, 0, 1, 1));
	slots("dst", &dst, 5);
	io_uring_unregister_buffers(&src);
	slots("dst after the source unregistered", &dst, 2);
	show("clone from the emptied source", clone_bufs(&dst, src.ring_fd, DST_REPLACE, 0, 0, 0));

	/* A registered ring index as the source. */
	io_uring_register_buffers(&src, iov + 3, 1);
	int idx = io_uring_register_ring_fd(&src);
	printf("registered src: %d\n", idx >= 0);
	show("clone by registered index", clone_bufs(&dst, src.enter_ring_fd, SRC_REGISTERED | DST_REPLACE, 0, 0, 0));
	slots("dst", &dst, 1);
	show("registered index 15 (empty)", clone_bufs(&dst, 15, SRC_REGISTERED | DST_REPLACE, 0, 0, 0));
	show("registered index 16", clone_bufs(&dst, 16, SRC_REGISTERED | DST_REPLACE, 0, 0, 0));
	/* A sparse table with holes clones its holes. */
	struct io_uring sp;
	io_uring_queue_init(4, &sp, 0);
	io_uring_register_buffers_sparse(&sp, 3);
	io_uring_register_buffers_update_tag(&sp, 1, iov + 2, NULL, 1);
	show("clone a sparse table", clone_bufs(&dst, sp.ring_fd, DST_REPLACE, 0, 0, 0));
	slots("dst", &dst, 3);

	/* A tagged buffer replaced by a clone posts its tag; a kept one does not. */
	struct io_uring tg;
	io_uring_queue_init(4, &tg, 0);
	__u64 tags[2] = { 0x77, 0x88 };
	io_uring_register_buffers_tags(&tg, iov, tags, 2);
	show("replace a tagged slot", clone_bufs(&tg, dst.ring_fd, DST_REPLACE, 1, 0, 1));
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&tg, &cqe) == 0) {
		printf("  tag cqe ud=%#llx res=%d\n", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&tg, cqe);
	}
	slots("tagged ring", &tg, 2);
	io_uring_unregister_buffers(&tg);
	while (io_uring_peek_cqe(&tg, &cqe) == 0) {
		printf("  after unregister: tag cqe ud=%#llx\n", (unsigned long long)cqe->user_data);
		io_uring_cqe_seen(&tg, cqe);
	}
	return 0;
}
