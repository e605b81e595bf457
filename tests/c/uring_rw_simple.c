/*
 * READ, WRITE, READV and WRITEV on a regular file at an offset: the SQEs the
 * C data plane runs (sentry/iouring/dataplane.py), next to the ones that
 * take the Python path (a link, the file position, a bad iovec, a buffer
 * mapped only in part), and their errors; output compared with the host's.
 *
 *   uring_rw_simple DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static struct io_uring ring;

static void run(const char *what, int n)
{
	struct io_uring_cqe *cqe;
	io_uring_submit(&ring);
	for (int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(&ring, &cqe)) {
			printf("%s: wait failed\n", what);
			return;
		}
		printf("%s: user_data=%llu res=%d flags=%u\n", what, (unsigned long long)cqe->user_data,
		       cqe->res, cqe->flags);
		io_uring_cqe_seen(&ring, cqe);
	}
}

/* Linux posts a link's cancellations later than the CQEs of requests that
 * follow it in the batch; the order is not the test's business. */
static void run_sorted(const char *what, int n)
{
	struct io_uring_cqe *cqe;
	struct { unsigned long long ud; int res; } got[64];
	io_uring_submit(&ring);
	for (int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(&ring, &cqe))
			return;
		got[i].ud = cqe->user_data;
		got[i].res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		for (int j = i; j > 0 && got[j - 1].ud > got[j].ud; j--) {
			__typeof__(got[0]) t = got[j];
			got[j] = got[j - 1];
			got[j - 1] = t;
		}
	}
	for (int i = 0; i < n; i++)
		printf("%s: user_data=%llu res=%d\n", what, got[i].ud, got[i].res);
}

int main(int argc, char **argv)
{
	char path[4096];
	static char buf[3][8192];
	struct io_uring_sqe *sqe;
	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/uring_rw_simple.dat", argv[1]);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0 || io_uring_queue_init(8, &ring, 0))
		return 1;
	for (int i = 0; i < 3; i++) {
		memset(buf[i], 'a' + i, 4096);
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_write(sqe, fd, buf[i], 4096, i * 4096);
		sqe->user_data = i;
	}
	run("write", 3);
	struct iovec iov = { buf[0], 4096 };
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_readv(sqe, fd, &iov, 1, 4096);
	sqe->user_data = 10;
	run("readv", 1);
	printf("readv got %c\n", buf[0][0]);
	memset(buf[1], 'w', 100);
	struct iovec wv = { buf[1], 100 };
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_writev(sqe, fd, &wv, 1, 50);
	sqe->user_data = 11;
	run("writev", 1);

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf[2], 8192, 8192);
	sqe->user_data = 20;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf[2], 100, 1 << 20);
	sqe->user_data = 21;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf[2], 0, 0);
	sqe->user_data = 22;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, (void *)4096, 10, 0);
	sqe->user_data = 23;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, (void *)0xffff800000000000UL, 10, 0);
	sqe->user_data = 24;
	run("edges", 5);

	/* A buffer whose second page is unmapped: short transfers. */
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(two + 4096, 4096);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, two, 8192, 0);
	sqe->user_data = 30;
	run("half buffer read", 1);
	memset(two, 'z', 4096);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, fd, two, 8192, 0);
	sqe->user_data = 31;
	run("half buffer write", 1);

	/* READV with a bad iovec array (it fails at submission, which ends the
	 * batch: one at a time), or two iovecs; the file position. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_readv(sqe, fd, (void *)4096, 1, 0);
	sqe->user_data = 40;
	run("bad iovec", 1);
	struct iovec two_iov[2] = { { buf[0], 10 }, { buf[1], 10 } };
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_readv(sqe, fd, two_iov, 2, 4090);
	sqe->user_data = 41;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf[2], 10, -1);
	sqe->user_data = 42;
	run("whole way", 2);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, 1000, buf[2], 10, 0);
	sqe->user_data = 43;
	run("bad fd", 1);
	printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));

	/* A link: a short read fails it, and the next is cancelled. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf[2], 8192, 8192);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 50;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf[2], 10, 0);
	sqe->user_data = 51;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf[2], 10, 0);
	sqe->user_data = 52;
	run_sorted("link", 3);

	/* More completions than the CQ holds (16): the rest overflow, in order. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 8; i++) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_read(sqe, fd, buf[2], 10, 0);
			sqe->user_data = 100 + round * 8 + i;
		}
		io_uring_submit(&ring);
	}
	run("overflow", 24);

	unlink(path);
	return 0;
}
