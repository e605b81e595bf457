/* IORING_OP_READV_FIXED / IORING_OP_WRITEV_FIXED (60/61): vectored I/O whose
 * iovecs must all lie inside the registered buffer sqe->buf_index selects.
 * Prints one line per case: the CQE's res (and bytes where data moved). */
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

#define OP_READV_FIXED 60
#define OP_WRITEV_FIXED 61

static struct io_uring ring;

static struct io_uring_sqe *prep(int op, int fd, const struct iovec *iov, unsigned nr,
				 long long off, int buf_index, unsigned long long ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_rw(op, sqe, fd, iov, nr, off);
	sqe->buf_index = buf_index;
	sqe->user_data = ud;
	return sqe;
}

/* Submit what is queued, then print n CQEs in the order they come. */
static void run(const char *what, int n)
{
	struct io_uring_cqe *cqe;
	io_uring_submit(&ring);
	printf("%s:", what);
	for (int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(&ring, &cqe)) {
			printf(" wait failed\n");
			exit(1);
		}
		printf(" [ud=%llu res=%d%s flags=%u]", (unsigned long long)cqe->user_data, cqe->res,
		       cqe->res < 0 ? strerrorname_np(-cqe->res) : "", cqe->flags);
		io_uring_cqe_seen(&ring, cqe);
	}
	printf("\n");
}

static void one(const char *what, int op, int fd, const struct iovec *iov, unsigned nr,
		long long off, int buf_index)
{
	prep(op, fd, iov, nr, off, buf_index, 1);
	run(what, 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char path[] = "/tmp/rw_vec_fixed.XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	char *b0 = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b1 = b0 + 4096;
	if (io_uring_queue_init(16, &ring, 0))
		return 1;

	struct iovec probe_iov = { b0, 4 };
	one("no buffers registered", OP_READV_FIXED, fd, &probe_iov, 1, 0, 0);

	struct iovec regs[2] = { { b0, 4096 }, { b1, 1024 } };
	printf("register: %d\n", io_uring_register_buffers(&ring, regs, 2));

	/* Two iovecs in buffer 0, written to the file. */
	memcpy(b0, "hello ", 6);
	memcpy(b0 + 100, "vectored world", 14);
	struct iovec w[2] = { { b0, 6 }, { b0 + 100, 14 } };
	one("writev_fixed", OP_WRITEV_FIXED, fd, w, 2, 0, 0);
	char check[32] = {0};
	pread(fd, check, sizeof(check) - 1, 0);
	printf("file: %s\n", check);

	/* Read back into three iovecs of buffer 1. */
	memset(b1, '.', 64);
	struct iovec r[3] = { { b1, 3 }, { b1 + 10, 5 }, { b1 + 20, 30 } };
	one("readv_fixed", OP_READV_FIXED, fd, r, 3, 0, 1);
	printf("buf1: %.50s\n", b1);

	/* Offset -1: the file position, which advances. */
	lseek(fd, 6, SEEK_SET);
	struct iovec rc[1] = { { b1, 8 } };
	one("readv_fixed at file position", OP_READV_FIXED, fd, rc, 1, -1, 1);
	printf("buf1: %.8s pos=%ld\n", b1, (long)lseek(fd, 0, SEEK_CUR));

	/* Linux's checks. */
	struct iovec out1[1] = { { b1 + 1000, 100 } };
	one("iovec past the end of the buffer", OP_READV_FIXED, fd, out1, 1, 0, 1);
	struct iovec other[1] = { { b1, 4 } };
	one("iovec in another registered buffer", OP_READV_FIXED, fd, other, 1, 0, 0);
	struct iovec second_bad[2] = { { b0, 4 }, { b0 - 8, 4 } };
	one("second iovec before the buffer", OP_WRITEV_FIXED, fd, second_bad, 2, 0, 0);
	one("buf_index out of range", OP_READV_FIXED, fd, r, 1, 0, 2);
	struct iovec zero[2] = { { b0, 4 }, { b0 + 4, 0 } };
	one("a zero-length iovec", OP_READV_FIXED, fd, zero, 2, 0, 0);
	one("no iovecs", OP_READV_FIXED, fd, r, 0, 0, 0);
	one("iovec count over UIO_MAXIOV", OP_READV_FIXED, fd, r, 1025, 0, 0);
	one("unreadable iovec array", OP_READV_FIXED, fd, (struct iovec *)8, 1, 0, 0);
	struct iovec huge[1] = { { b0, (size_t)-1 } };
	one("iovec length -1", OP_READV_FIXED, fd, huge, 1, 0, 0);
	struct iovec wrap[1] = { { (char *)-16, 32 } };
	one("iovec wrapping the address space", OP_READV_FIXED, fd, wrap, 1, 0, 0);
	one("bad fd", OP_READV_FIXED, 999, r, 1, 0, 1);

	struct io_uring_sqe *sqe = prep(OP_READV_FIXED, fd, r, 1, 0, 1, 1);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	run("with IOSQE_BUFFER_SELECT", 1);
	sqe = prep(OP_READV_FIXED, fd, r, 1, 0, 1, 1);
	sqe->ioprio = 7 << 13;
	run("bad ioprio class", 1);

	/* A short read (end of file) breaks the link. */
	struct iovec big[1] = { { b1, 512 } };
	sqe = prep(OP_READV_FIXED, fd, big, 1, 0, 1, 1);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 2;
	run("short read then linked nop", 2);

	/* A pipe: the read waits until data is written. */
	int p[2];
	pipe(p);
	struct iovec pr[2] = { { b1, 2 }, { b1 + 2, 10 } };
	prep(OP_READV_FIXED, p[0], pr, 2, 0, 1, 5);
	io_uring_submit(&ring);
	struct io_uring_cqe *cqe;
	printf("pipe read pending: %d\n", io_uring_peek_cqe(&ring, &cqe) == -EAGAIN);
	write(p[1], "pipedata", 8);
	run("pipe readv_fixed", 1);
	printf("buf1: %.8s\n", b1);

	/* Cancel a waiting one. */
	prep(OP_READV_FIXED, p[0], pr, 2, 0, 1, 6);
	io_uring_submit(&ring);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_cancel64(sqe, 6, 0);
	sqe->user_data = 7;
	run("cancel a waiting readv_fixed", 2);

	/* Writes to a pipe from buffer 0. */
	memcpy(b0, "abcdef", 6);
	struct iovec pw[2] = { { b0 + 3, 3 }, { b0, 3 } };
	prep(OP_WRITEV_FIXED, p[1], pw, 2, 0, 0, 8);
	run("pipe writev_fixed", 1);
	char got[8] = {0};
	read(p[0], got, 6);
	printf("pipe got: %s\n", got);

	/* Fixed buffers updated to an empty slot. */
	struct iovec empty = { NULL, 0 };
	printf("empty slot 1: %d\n", io_uring_register_buffers_update_tag(&ring, 1, &empty, NULL, 1));
	one("readv_fixed on an empty slot", OP_READV_FIXED, fd, r, 1, 0, 1);
	printf("unregister: %d\n", io_uring_unregister_buffers(&ring));
	one("after unregister", OP_WRITEV_FIXED, fd, w, 1, 0, 0);
	return 0;
}
