/* Regular-file I/O through io_uring (liburing), checked against read(2)/pread(2). */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

static struct io_uring ring;

static int one(struct io_uring_sqe *sqe, unsigned long long ud)
{
	struct io_uring_cqe *cqe;
	sqe->user_data = ud;
	if (io_uring_submit(&ring) != 1)
		FAIL("submit");
	if (io_uring_wait_cqe(&ring, &cqe))
		FAIL("wait");
	if (cqe->user_data != ud)
		FAIL("user_data %llu != %llu", (unsigned long long)cqe->user_data, ud);
	int res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return res;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		FAIL("usage: rw_file PATH");
	static char blk[3][4096], in[3][4096];
	if (io_uring_queue_init(8, &ring, 0))
		FAIL("queue_init");
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		FAIL("open");

	/* Three WRITEs in one submission. */
	for (int i = 0; i < 3; i++) {
		memset(blk[i], 'a' + i, 4096);
		struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		io_uring_prep_write(s, fd, blk[i], 4096, i * 4096);
		s->user_data = 100 + i;
	}
	printf("submit 3 writes: %d\n", io_uring_submit_and_wait(&ring, 3));
	struct io_uring_cqe *cqe;
	for (int i = 0; i < 3; i++) {
		io_uring_wait_cqe(&ring, &cqe);
		printf("write cqe user_data=%llu res=%d\n", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	/* Read back with io_uring and with pread(2). */
	for (int i = 0; i < 3; i++) {
		struct io_uring_sqe *rs = io_uring_get_sqe(&ring);
		io_uring_prep_read(rs, fd, in[i], 4096, i * 4096);
		int res = one(rs, 200 + i);
		printf("read %d: res=%d match=%d\n", i, res, !memcmp(in[i], blk[i], 4096));
		char chk[4096];
		ssize_t n = pread(fd, chk, 4096, i * 4096);
		printf("pread %d: %zd match=%d\n", i, n, !memcmp(chk, blk[i], 4096));
	}
	/* READV/WRITEV with three iovecs. */
	struct iovec iov[3];
	for (int i = 0; i < 3; i++) {
		memset(blk[i], 'x' + i, 4096);
		iov[i] = (struct iovec){ blk[i], 4096 };
	}
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	io_uring_prep_writev(s, fd, iov, 3, 8192);
	printf("writev: %d\n", one(s, 300));
	for (int i = 0; i < 3; i++)
		iov[i] = (struct iovec){ in[i], 4096 };
	s = io_uring_get_sqe(&ring);
	io_uring_prep_readv(s, fd, iov, 3, 8192);
	int rv = one(s, 301);
	printf("readv: %d match=%d\n", rv, !memcmp(in, blk, sizeof(in)));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, in[0], 4096, 5 * 4096 + 100);
	printf("read at EOF: %d\n", one(s, 302));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, in[0], 4096, 20480 - 10);
	printf("short read: %d\n", one(s, 303));
	/* fsync variants. */
	s = io_uring_get_sqe(&ring);
	io_uring_prep_fsync(s, fd, 0);
	printf("fsync: %d\n", one(s, 400));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC);
	printf("fdatasync: %d\n", one(s, 401));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_fsync(s, fd, 1u << 5);
	printf("fsync bad flags: %d\n", one(s, 402));
	/* Offset -1: the file position, shared with read(2)/lseek(2). */
	lseek(fd, 0, SEEK_SET);
	for (int i = 0; i < 2; i++) {
		char b[100];
		s = io_uring_get_sqe(&ring);
		io_uring_prep_read(s, fd, b, 100, -1);
		printf("read at file position: %d first=%c\n", one(s, 500 + i), b[0]);
	}
	printf("lseek(SEEK_CUR) after: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	char b2[10];
	printf("read(2) continues: %zd\n", read(fd, b2, 10));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_write(s, fd, "POSITION", 8, -1);
	printf("write at file position: %d\n", one(s, 510));
	printf("lseek(SEEK_CUR) after write: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	char pos[9] = {0};
	pread(fd, pos, 8, 210);
	printf("pread sees: %s\n", pos);
	/* Errors. */
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, (void *)8, 4096, 0);
	printf("read into a bad pointer: %d\n", one(s, 600));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_write(s, fd, (void *)8, 4096, 0);
	printf("write from a bad pointer: %d\n", one(s, 601));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 999, in[0], 10, 0);
	printf("read on a bad fd: %d\n", one(s, 602));
	struct iovec bad = { (void *)8, 10 };
	s = io_uring_get_sqe(&ring);
	io_uring_prep_readv(s, fd, &bad, 1, 0);
	printf("readv into a bad iovec: %d\n", one(s, 603));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_readv(s, fd, (void *)8, 1, 0);
	printf("readv with a bad iovec array: %d\n", one(s, 604));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_readv(s, fd, iov, 5000, 0);
	printf("readv with too many iovecs: %d\n", one(s, 605));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, in[0], 10, 0);
	s->rw_flags = 1u << 30;
	printf("read with unknown rw flags: %d\n", one(s, 606));
	int wr = open(argv[1], O_WRONLY);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, wr, in[0], 10, 0);
	printf("read on a write-only fd: %d\n", one(s, 607));
	/* A link: write -> fsync -> read; then a failing link. */
	s = io_uring_get_sqe(&ring);
	io_uring_prep_write(s, fd, "LINKED", 6, 0);
	s->flags |= IOSQE_IO_LINK;
	s->user_data = 700;
	s = io_uring_get_sqe(&ring);
	io_uring_prep_fsync(s, fd, 0);
	s->flags |= IOSQE_IO_LINK;
	s->user_data = 701;
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, in[0], 6, 0);
	s->user_data = 702;
	io_uring_submit_and_wait(&ring, 3);
	for (int i = 0; i < 3; i++) {
		io_uring_wait_cqe(&ring, &cqe);
		printf("link cqe user_data=%llu res=%d\n", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	printf("linked read saw: %.6s\n", in[0]);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 999, in[0], 6, 0);
	s->flags |= IOSQE_IO_LINK;
	s->user_data = 710;
	s = io_uring_get_sqe(&ring);
	io_uring_prep_nop(s);
	s->user_data = 711;
	io_uring_submit_and_wait(&ring, 2);
	for (int i = 0; i < 2; i++) {
		io_uring_wait_cqe(&ring, &cqe);
		printf("failed link cqe user_data=%llu res=%d\n", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	/* O_APPEND is honoured by io_uring writes. */
	int ap = open(argv[1], O_WRONLY | O_APPEND);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_write(s, ap, "TAIL", 4, 0);
	int aw = one(s, 800);
	printf("append write: %d size now %lld\n", aw, (long long)lseek(fd, 0, SEEK_END));
	/* read(2)/write(2) served by the Sentry: same data, same errors. */
	lseek(fd, 0, SEEK_SET);
	printf("write(2): %zd\n", write(fd, "SYNC", 4));
	void *volatile badp = (void *)8;
	ssize_t bn = read(fd, badp, 4);
	printf("read(2) from a bad pointer: %zd %s\n", bn, strerrorname_np(errno));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, in[0], 4, 0);
	int sr = one(s, 900);
	printf("io_uring sees write(2): %d %.4s\n", sr, in[0]);
	close(fd);
	unlink(argv[1]);
	return 0;
}
