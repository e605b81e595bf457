/* pysentry demo: a small liburing program that narrates what it does.
 *
 * It writes a file with one batch of io_uring WRITEs, syncs it, reads it back
 * with one READV, checks every byte, and reads a pipe asynchronously while a
 * child process writes to it.  Run natively, the host kernel serves io_uring;
 * run under `pysentry run`, the Sentry does.
 */
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BLOCKS 8
#define BS 4096

static int reap(struct io_uring *ring, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0) {
			fprintf(stderr, "wait_cqe: %s\n", strerror(-ret));
			return -1;
		}
		printf("  cqe: %-6s user_data=%llu res=%d\n", what,
		       (unsigned long long)cqe->user_data, cqe->res);
		if (cqe->res < 0)
			return -1;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/tmp/pysentry-demo.dat";
	struct io_uring ring;
	static char out[BLOCKS][BS], in[BLOCKS][BS];
	struct iovec iov[BLOCKS];
	int ret = io_uring_queue_init(16, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret));
		return 1;
	}
	printf("io_uring ready: %u SQ entries, %u CQ entries, features %#x\n",
	       ring.sq.ring_entries, ring.cq.ring_entries, ring.features);

	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) { perror(path); return 1; }
	for (int b = 0; b < BLOCKS; b++) {
		memset(out[b], 'A' + b, BS);
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		io_uring_prep_write(sqe, fd, out[b], BS, (off_t)b * BS);
		sqe->user_data = b;
	}
	printf("submitting %d WRITEs of %d bytes in one io_uring_enter: %d submitted\n",
	       BLOCKS, BS, io_uring_submit(&ring));
	if (reap(&ring, BLOCKS, "WRITE")) return 1;

	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	sqe->user_data = 100;
	io_uring_submit(&ring);
	if (reap(&ring, 1, "FSYNC")) return 1;

	for (int b = 0; b < BLOCKS; b++)
		iov[b] = (struct iovec){ in[b], BS };
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_readv(sqe, fd, iov, BLOCKS, 0);
	sqe->user_data = 200;
	io_uring_submit(&ring);
	if (reap(&ring, 1, "READV")) return 1;
	if (memcmp(in, out, sizeof(in))) {
		fprintf(stderr, "data read back differs from data written\n");
		return 1;
	}
	char check[BS];
	if (pread(fd, check, BS, 3 * BS) != BS || memcmp(check, out[3], BS)) {
		fprintf(stderr, "pread(2) does not see what io_uring wrote\n");
		return 1;
	}
	printf("read back %d bytes with READV and pread(2): identical\n", BLOCKS * BS);

	int p[2];
	char msg[64] = "";
	if (pipe(p)) { perror("pipe"); return 1; }
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, p[0], msg, sizeof(msg) - 1, 0);
	sqe->user_data = 300;
	io_uring_submit(&ring);
	printf("READ queued on an empty pipe; a child process writes to it in 100 ms\n");
	pid_t pid = fork();
	if (pid == 0) {
		usleep(100000);
		_exit(write(p[1], "hello from the child", 20) == 20 ? 0 : 1);
	}
	if (reap(&ring, 1, "READ")) return 1;
	waitpid(pid, NULL, 0);
	printf("pipe delivered: \"%s\"\n", msg);

	close(fd);
	unlink(path);
	io_uring_queue_exit(&ring);
	printf("demo finished: all io_uring requests completed correctly\n");
	return 0;
}
