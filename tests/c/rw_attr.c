/* Read/write attributes (IORING_FEAT_RW_ATTR): protection information at
 * sqe->attr_ptr, named by sqe->attr_type_mask.  Files without integrity
 * metadata (all a test can reach) refuse it; the checks before that are
 * Linux's.  Prints each CQE's result. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pi {
	unsigned short flags, app_tag;
	unsigned len;
	unsigned long long addr, seed, rsvd;
};

static struct io_uring ring;

static const char *go(int op, int fd, void *buf, unsigned len, unsigned long long mask,
		      void *attr)
{
	static char out[64];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	struct io_uring_cqe *cqe;
	if (!sqe)
		exit(1);
	io_uring_prep_rw(op, sqe, fd, buf, len, 0);
	*(unsigned long long *)((char *)sqe + 48) = (unsigned long)attr;  /* attr_ptr */
	*(unsigned long long *)((char *)sqe + 56) = mask;                 /* attr_type_mask */
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe))
		exit(1);
	int r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	snprintf(out, sizeof(out), r < 0 ? "%d %s" : "%d", r, r < 0 ? strerrorname_np(-r) : "");
	return out;
}

int main(void)
{
	struct io_uring_params p = {0};
	if (io_uring_queue_init_params(4, &ring, &p))
		return 1;
	printf("FEAT_RW_ATTR: %d\n", !!(p.features & (1U << 16)));
	char *buf;
	if (posix_memalign((void **)&buf, 4096, 4096))
		return 1;
	memset(buf, 'x', 4096);
	char meta[64];
	struct pi pi = { .len = 8, .addr = (unsigned long)meta };
	char path[] = "/tmp/rw_attr.XXXXXX";
	int fd = mkstemp(path);
	write(fd, buf, 4096);
	int dfd = open(path, O_RDWR | O_DIRECT);
	unlink(path);
	printf("read, buffered file: %s\n", go(IORING_OP_READ, fd, buf, 4096, 1, &pi));
	if (dfd >= 0) {
		printf("read, O_DIRECT file: %s\n", go(IORING_OP_READ, dfd, buf, 4096, 1, &pi));
		printf("write, O_DIRECT file: %s\n", go(IORING_OP_WRITE, dfd, buf, 4096, 1, &pi));
	}
	printf("unknown attribute: %s\n", go(IORING_OP_READ, fd, buf, 4096, 2, &pi));
	printf("attr_ptr unreadable: %s\n", go(IORING_OP_READ, fd, buf, 4096, 1, (void *)8));
	pi.rsvd = 1;
	printf("rsvd set: %s\n", go(IORING_OP_READ, fd, buf, 4096, 1, &pi));
	pi.rsvd = 0;
	pi.addr = 0xffffffffffff0000ULL;
	printf("PI buffer in the kernel: %s\n", go(IORING_OP_READ, fd, buf, 4096, 1, &pi));
	pi.addr = (unsigned long)meta;
	printf("attr_ptr without a mask: %s\n", go(IORING_OP_READ, fd, buf, 4096, 0, (void *)8));
	printf("bad fd: %s\n", go(IORING_OP_READ, 999, buf, 4096, 1, &pi));
	printf("READ_FIXED, no buffers: %s\n", go(IORING_OP_READ_FIXED, fd, buf, 4096, 1, &pi));
	struct iovec iov = { buf, 4096 };
	printf("READV: %s\n", go(IORING_OP_READV, fd, &iov, 1, 1, &pi));
	int pf[2];
	pipe(pf);
	write(pf[1], "ab", 2);
	printf("pipe: %s\n", go(IORING_OP_READ, pf[0], buf, 2, 1, &pi));
	printf("pipe data left: %zd\n", read(pf[0], buf, 8));
	return 0;
}
