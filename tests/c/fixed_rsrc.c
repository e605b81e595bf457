/* Registered files and buffers: register/update/unregister errors, and
 * READ_FIXED/WRITE_FIXED/IOSQE_FIXED_FILE I/O checked against pread(2). */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)
static struct io_uring ring;

static int one(struct io_uring_sqe *s, unsigned long long ud)
{
	struct io_uring_cqe *c;
	s->user_data = ud;
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &c))
		FAIL("wait");
	int res = c->res;
	io_uring_cqe_seen(&ring, c);
	return res;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		FAIL("usage: fixed_rsrc PATH");
	if (io_uring_queue_init(8, &ring, 0))
		FAIL("init");
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	int fd2 = open(argv[1], O_RDONLY);
	int fds[3] = { fd, -1, fd2 };

	printf("unregister files with none: %d\n", io_uring_unregister_files(&ring));
	printf("update files with none: %d\n", io_uring_register_files_update(&ring, 0, fds, 1));
	printf("register 0 files: %d\n", io_uring_register_files(&ring, fds, 0));
	int badfds[1] = { 999 };
	printf("register a bad fd: %d\n", io_uring_register_files(&ring, badfds, 1));
	int ringfd[1] = { ring.ring_fd };
	printf("register the ring itself: %d\n", io_uring_register_files(&ring, ringfd, 1));
	printf("register 3 files: %d\n", io_uring_register_files(&ring, fds, 3));
	printf("register again: %d\n", io_uring_register_files(&ring, fds, 3));

	static char wbuf[8192], rbuf[8192];
	struct iovec iov[2] = { { wbuf, sizeof(wbuf) }, { rbuf, sizeof(rbuf) } };
	printf("register 0 buffers: %d\n", io_uring_register_buffers(&ring, iov, 0));
	struct iovec nulliov = { NULL, 10 };
	printf("register a NULL buffer: %d\n", io_uring_register_buffers(&ring, &nulliov, 1));
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec roiov = { ro, 4096 };
	printf("register a read-only buffer: %d\n", io_uring_register_buffers(&ring, &roiov, 1));
	printf("register 2 buffers: %d\n", io_uring_register_buffers(&ring, iov, 2));
	printf("register buffers again: %d\n", io_uring_register_buffers(&ring, iov, 2));

	memset(wbuf, 'F', sizeof(wbuf));
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	io_uring_prep_write_fixed(s, 0, wbuf, 8192, 0, 0);
	s->flags |= IOSQE_FIXED_FILE;
	printf("write_fixed via fixed file 0: %d\n", one(s, 1));
	char chk[8192];
	printf("pread sees it: %d\n", pread(fd, chk, 8192, 0) == 8192 && !memcmp(chk, wbuf, 8192));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, 2, rbuf + 100, 4000, 4096, 1);
	s->flags |= IOSQE_FIXED_FILE;
	int rf = one(s, 2);
	printf("read_fixed via fixed file 2: %d match=%d\n", rf, rbuf[100] == 'F' && rbuf[4099] == 'F');
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, fd, rbuf + 8000, 4096, 0, 1);
	printf("read_fixed past the buffer end: %d\n", one(s, 3));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, fd, rbuf, 100, 0, 5);
	printf("read_fixed with a bad buffer index: %d\n", one(s, 4));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, fd, wbuf, 100, 0, 1);
	printf("read_fixed outside buffer 1: %d\n", one(s, 5));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 1, rbuf, 10, 0);
	s->flags |= IOSQE_FIXED_FILE;
	printf("fixed file slot 1 is empty: %d\n", one(s, 6));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 7, rbuf, 10, 0);
	s->flags |= IOSQE_FIXED_FILE;
	printf("fixed file index past the table: %d\n", one(s, 7));

	int upd[2] = { fd2, IORING_REGISTER_FILES_SKIP };
	printf("update slots 1-2: %d\n", io_uring_register_files_update(&ring, 1, upd, 2));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 1, rbuf, 10, 0);
	s->flags |= IOSQE_FIXED_FILE;
	printf("slot 1 after update: %d\n", one(s, 8));
	printf("update past the table: %d\n", io_uring_register_files_update(&ring, 2, upd, 2));
	/* A fixed file keeps working after the fd is closed. */
	close(fd2);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 2, rbuf, 10, 0);
	s->flags |= IOSQE_FIXED_FILE;
	printf("fixed file after close(2): %d\n", one(s, 9));
	printf("unregister files: %d\n", io_uring_unregister_files(&ring));
	printf("unregister buffers: %d\n", io_uring_unregister_buffers(&ring));
	printf("unregister buffers again: %d\n", io_uring_unregister_buffers(&ring));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, fd, rbuf, 100, 0, 0);
	printf("read_fixed without buffers: %d\n", one(s, 10));
	unlink(argv[1]);
	return 0;
}
