/* A small io_uring program that the fault-injection tests (and the sample
 * project in tests/sample_project) run under `pysentry run --inject ...`.
 *
 *   inject_cat cat FILE CHUNK   copy FILE to stdout with one READ SQE at a
 *                               time, CHUNK bytes each; a short read goes on
 *                               from where it stopped; a failed read is
 *                               reported ("read #N at offset O: strerror")
 *                               and ends the program with status 1
 *   inject_cat nops N           submit N NOPs (user_data 1..N) in one
 *                               io_uring_enter and print the order their
 *                               CQEs arrive in, and whether the CQ had
 *                               overflowed (IORING_SQ_CQ_OVERFLOW) first
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cat(const char *path, unsigned chunk)
{
	struct io_uring ring;
	char *buf = malloc(chunk);
	int fd = open(path, O_RDONLY);
	unsigned long long off = 0;
	unsigned n = 0;
	int ret;

	if (fd < 0 || !buf) {
		perror(path);
		return 2;
	}
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret));
		return 2;
	}
	for (;;) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		int res;

		io_uring_prep_read(sqe, fd, buf, chunk, off);
		sqe->user_data = ++n;
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret < 0) {
			fprintf(stderr, "wait: %s\n", strerror(-ret));
			return 2;
		}
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (res < 0) {
			fprintf(stderr, "read #%u at offset %llu: %s\n", n, off, strerror(-res));
			return 1;
		}
		if (res == 0)
			break;
		if (write(1, buf, res) != res)
			return 2;
		off += res;
	}
	fprintf(stderr, "%llu bytes in %u reads\n", off, n);
	io_uring_queue_exit(&ring);
	return 0;
}

static int nops(unsigned count)
{
	struct io_uring ring;
	unsigned i;
	int ret = io_uring_queue_init(count, &ring, 0);

	if (ret < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret));
		return 2;
	}
	for (i = 1; i <= count; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_nop(sqe);
		sqe->user_data = i;
	}
	ret = io_uring_submit(&ring);
	if (ret != (int)count) {
		fprintf(stderr, "submit: %d\n", ret);
		return 2;
	}
	printf("overflowed: %d\n", !!(IO_URING_READ_ONCE(*ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW));
	printf("order:");
	for (i = 0; i < count; i++) {
		struct io_uring_cqe *cqe;

		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret < 0) {
			fprintf(stderr, "wait: %s\n", strerror(-ret));
			return 2;
		}
		printf(" %llu:%d", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	printf("\n");
	io_uring_queue_exit(&ring);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "cat"))
		return cat(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "nops"))
		return nops((unsigned)atoi(argv[2]));
	fprintf(stderr, "usage: inject_cat cat FILE CHUNK | nops N\n");
	return 2;
}
