/* 4 KiB random reads from a (page-cached) file: pread(2) or io_uring at a
 * given queue depth.  Prints one machine-readable result line.
 *   randread FILE psync OPS
 *   randread FILE uring OPS QD
 */
#include <liburing.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BS 4096

static unsigned long long seed = 0x9E3779B97F4A7C15ULL;
static unsigned long long next_rand(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s FILE psync|uring OPS [QD]\n", argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct stat st;
	fstat(fd, &st);
	unsigned long long blocks = st.st_size / BS;
	long ops = atol(argv[3]);
	int qd = argc > 4 ? atoi(argv[4]) : 1;
	static char bufs[256][BS];
	if (qd < 1 || qd > 256) {
		fprintf(stderr, "qd must be 1..256\n");
		return 2;
	}
	double t0, secs;
	if (!strcmp(argv[2], "psync")) {
		t0 = now();
		for (long i = 0; i < ops; i++) {
			if (pread(fd, bufs[0], BS, (next_rand() % blocks) * BS) != BS) {
				perror("pread");
				return 1;
			}
		}
		secs = now() - t0;
		qd = 1;
	} else {
		struct io_uring ring;
		int ret = io_uring_queue_init(qd, &ring, 0);
		if (ret < 0) {
			fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret));
			return 1;
		}
		long issued = 0, done = 0;
		t0 = now();
		while (done < ops) {
			/* Refill every free slot, then one submit-and-wait per batch. */
			int batch = 0;
			while (issued - done < qd && issued < ops) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
				int slot = issued % qd;
				io_uring_prep_read(sqe, fd, bufs[slot], BS, (next_rand() % blocks) * BS);
				issued++;
				batch++;
			}
			ret = io_uring_submit_and_wait(&ring, 1);
			if (ret < 0) {
				fprintf(stderr, "submit: %s\n", strerror(-ret));
				return 1;
			}
			struct io_uring_cqe *cqe;
			unsigned head, n = 0;
			io_uring_for_each_cqe(&ring, head, cqe) {
				if (cqe->res != BS) {
					fprintf(stderr, "read: res=%d\n", cqe->res);
					return 1;
				}
				n++;
			}
			io_uring_cq_advance(&ring, n);
			done += n;
		}
		secs = now() - t0;
		io_uring_queue_exit(&ring);
	}
	printf("mode=%s qd=%d ops=%ld secs=%.6f iops=%.0f\n", argv[2], qd, ops, secs, ops / secs);
	return 0;
}
