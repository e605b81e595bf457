/*
 * ringthreads: T threads, each with an io_uring of its own, each keeping D
 * 4 KiB random reads in flight on one (page-cached) file.
 *
 *   ringthreads FILE [--threads T] [--qd D] [--ops N]
 *
 * N reads per thread (default 2000), T = 32 and D = 4 by default.  The
 * clock runs from the moment every thread has set up its ring to the
 * moment the last one is done.
 *
 * Output: one line of key=value pairs on stdout, e.g.
 *   mode=ringthreads threads=32 qd=4 ops=64000 secs=1.23 iops=52032
 * Exit status: 0 ok, 1 I/O error, 2 usage error.
 */
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u

static int fd, qd = 4;
static long ops = 2000;
static uint64_t nblocks;
static pthread_barrier_t ready;
static volatile int failed;

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	uint64_t x = 0x9E3779B97F4A7C15ULL * ((uintptr_t)arg + 1);
	struct io_uring ring;
	char *bufs;
	long issued = 0, done = 0;
	if (io_uring_queue_init(qd, &ring, 0) < 0 || posix_memalign((void **)&bufs, BLOCK, (size_t)qd * BLOCK)) {
		failed = 1;
		pthread_barrier_wait(&ready);
		return NULL;
	}
	pthread_barrier_wait(&ready);
	while (done < ops && !failed) {
		while (issued < ops && issued - done < qd) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
			int slot = issued % qd;
			io_uring_prep_read(sqe, fd, bufs + (size_t)slot * BLOCK, BLOCK,
					   (x * 0x2545F4914F6CDD1DULL % nblocks) * BLOCK);
			issued++;
		}
		struct io_uring_cqe *cqe;
		if (io_uring_submit_and_wait(&ring, 1) < 0) {
			failed = 1;
			break;
		}
		unsigned head, n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			if (cqe->res != BLOCK)
				failed = 1;
			n++;
		}
		io_uring_cq_advance(&ring, n);
		done += n;
	}
	io_uring_queue_exit(&ring);
	free(bufs);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 32;
	if (argc < 2) {
		fprintf(stderr, "usage: ringthreads FILE [--threads T] [--qd D] [--ops N]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--qd"))
			qd = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ops"))
			ops = atol(argv[i + 1]);
		else
			return 2;
	}
	if (threads < 1 || qd < 1 || ops < 1)
		return 2;
	fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || st.st_size < BLOCK) {
		perror(argv[1]);
		return 1;
	}
	nblocks = st.st_size / BLOCK;
	pthread_t *t = calloc(threads, sizeof(*t));
	pthread_barrier_init(&ready, NULL, threads + 1);
	for (long i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_barrier_wait(&ready);
	double t0 = mono_now();
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	double secs = mono_now() - t0;
	if (failed) {
		fprintf(stderr, "ringthreads: a read failed\n");
		return 1;
	}
	long total = ops * threads;
	printf("mode=ringthreads threads=%d qd=%d ops=%ld secs=%.6f iops=%.0f\n", threads, qd, total,
	       secs, total / secs);
	return 0;
}
