/* When is a regular-file read's CQE there?  On Linux 6.18 a READ/READV of a
 * buffered file whose pages are in the page cache completes inside the
 * io_uring_enter that submits it: io_read() succeeds under IOCB_NOWAIT, and
 * the submission flushes its completions (io_submit_flush_completions())
 * before the call returns.  So the CQE is in the CQ ring, and the ring fd is
 * readable, the moment io_uring_enter(to_submit=1, min_complete=0) returns.
 *
 * Event loops decide on that.  qemu's block/io_uring.c looks at the CQ right
 * after each submit; a request it finds already done completes without its
 * coroutine yielding, and qemu then schedules the completion as a bottom half
 * -- which is what makes it write its event-loop eventfd twice per request,
 * natively as in the sandbox (docs/performance.md).  The Sentry serves these
 * reads inline as Linux does; this program pins that down.
 *
 * argv[1]: a directory to make the file in.  The file is written just
 * before it is read, so its pages are in the page cache (dirty ones cannot
 * be dropped before writeback).  Prints, per case, how many of the reads had
 * their CQE in the ring when io_uring_enter returned, how many found the ring
 * fd readable at that moment (poll with timeout 0, as qemu's ppoll would),
 * and whether every CQE and byte was right. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define BLOCKS 32
#define BS 4096

static unsigned char data[BLOCKS * BS];

static int one(struct io_uring *ring, int fd, int vectored, int i, int *pollin)
{
	static unsigned char buf[BS];
	struct iovec iov = { buf, BS };
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int inline_done, ok;

	memset(buf, 0, sizeof buf);
	if (vectored)
		io_uring_prep_readv(sqe, fd, &iov, 1, (unsigned long long)i * BS);
	else
		io_uring_prep_read(sqe, fd, buf, BS, (unsigned long long)i * BS);
	sqe->user_data = 100 + i;
	/* No waiting asked for: io_uring_enter(fd, 1, 0, 0). */
	if (io_uring_submit(ring) != 1) {
		printf("submit failed\n");
		exit(1);
	}
	struct pollfd p = { ring->ring_fd, POLLIN, 0 };
	if (poll(&p, 1, 0) < 0) {
		perror("poll");
		exit(1);
	}
	*pollin += !!(p.revents & POLLIN);
	inline_done = io_uring_peek_cqe(ring, &cqe) == 0;
	if (!inline_done && io_uring_wait_cqe(ring, &cqe)) {
		printf("wait failed\n");
		exit(1);
	}
	ok = cqe->user_data == (unsigned long long)(100 + i) && cqe->res == BS && cqe->flags == 0 &&
	     !memcmp(buf, data + i * BS, BS);
	if (!ok)
		printf("block %d: ud=%llu res=%d flags=%u\n", i, (unsigned long long)cqe->user_data,
		       cqe->res, cqe->flags);
	io_uring_cqe_seen(ring, cqe);
	return inline_done | (ok << 1);
}

static void run(const char *what, int fd, int vectored)
{
	struct io_uring ring;
	int done = 0, right = 0, pollin = 0;

	if (io_uring_queue_init(8, &ring, 0)) {
		printf("setup failed\n");
		exit(1);
	}
	for (int i = 0; i < BLOCKS; i++) {
		int r = one(&ring, fd, vectored, i, &pollin);
		done += r & 1;
		right += r >> 1;
	}
	printf("%s: CQE there at return %d/%d, ring fd readable %d/%d, right %d/%d\n", what, done,
	       BLOCKS, pollin, BLOCKS, right, BLOCKS);
	io_uring_queue_exit(&ring);
}

int main(int argc, char **argv)
{
	char path[4096];
	int fd;

	if (argc != 2)
		return 2;
	snprintf(path, sizeof path, "%s/cached", argv[1]);
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + i / BS);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data) {
		perror("write");
		return 1;
	}
	run("READ of cached pages", fd, 0);
	run("READV of cached pages", fd, 1);
	close(fd);
	unlink(path);
	return 0;
}
