/* Load (tests/test_faults.py, tools/bench_load.py, docs/reliability.md
 * "Load"): THREADS threads with RINGS rings each write and read back their
 * own regions of one file through their rings for ROUNDS rounds, while
 * CHILDREN forked processes (started once the threads run) do the same with
 * CHILD_THREADS threads each on files of their own.  Every block read back
 * is compared with what was written; every CQE's res is checked.
 *
 *   load FILE THREADS RINGS ROUNDS CHILDREN CHILD_THREADS
 *
 * stdout (the same natively and sandboxed): the totals and the number of
 * wrong results, 0 when nothing was lost.  stderr: the wall time and the
 * throughput, for the benchmark. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096
#define QD 4               /* blocks per ring per round */
#define MAX_RINGS 8

static int nrings, nrounds;

struct worker {
    pthread_t thread;
    int fd, index;
    long ops, bad;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static void fill(unsigned char *p, uint64_t seed)
{
    uint64_t *w = (uint64_t *)p;
    int i;

    for (i = 0; i < BLK / 8; i++)
        w[i] = mix(seed * 1024 + i);
}

/* Submit what is queued on r and reap n CQEs, each of which must be BLK. */
static void run_batch(struct worker *wk, struct io_uring *r, int n)
{
    struct io_uring_cqe *cqe;
    int ret, i;

    ret = io_uring_submit_and_wait(r, n);
    if (ret != n) {
        fprintf(stderr, "submit: %d (fd %d)\n", ret, r->ring_fd);
        wk->bad += n;
    }
    for (i = 0; i < n; i++) {
        if (io_uring_wait_cqe(r, &cqe)) {
            wk->bad++;
            continue;
        }
        if (cqe->res != BLK)
            wk->bad++;
        io_uring_cqe_seen(r, cqe);
        wk->ops++;
    }
}

static void *work(void *arg)
{
    struct worker *wk = arg;
    struct io_uring rings[MAX_RINGS];
    unsigned char *wbuf, *rbuf;
    int k, q, round;

    if (posix_memalign((void **)&wbuf, BLK, (size_t)nrings * QD * BLK) ||
        posix_memalign((void **)&rbuf, BLK, (size_t)nrings * QD * BLK)) {
        wk->bad++;
        return NULL;
    }
    for (k = 0; k < nrings; k++) {
        int ret = io_uring_queue_init(QD * 2, &rings[k], 0);
        if (ret) {
            fprintf(stderr, "queue_init: %s\n", strerror(-ret));
            wk->bad++;
            return NULL;
        }
    }
    for (round = 0; round < nrounds; round++) {
        /* Each ring writes its QD blocks of this thread's region... */
        for (k = 0; k < nrings; k++)
            for (q = 0; q < QD; q++) {
                int slot = k * QD + q;
                off_t off = ((off_t)wk->index * nrings * QD + slot) * BLK;
                fill(wbuf + (size_t)slot * BLK, ((uint64_t)wk->index << 32) ^ (round << 8) ^ slot);
                io_uring_prep_write(io_uring_get_sqe(&rings[k]), wk->fd,
                                    wbuf + (size_t)slot * BLK, BLK, off);
            }
        for (k = 0; k < nrings; k++)
            run_batch(wk, &rings[k], QD);
        /* ...and reads them back through the next ring. */
        memset(rbuf, 0, (size_t)nrings * QD * BLK);
        for (k = 0; k < nrings; k++)
            for (q = 0; q < QD; q++) {
                int slot = k * QD + q;
                off_t off = ((off_t)wk->index * nrings * QD + slot) * BLK;
                io_uring_prep_read(io_uring_get_sqe(&rings[(k + 1) % nrings]), wk->fd,
                                   rbuf + (size_t)slot * BLK, BLK, off);
            }
        for (k = 0; k < nrings; k++)
            run_batch(wk, &rings[k], QD);
        for (q = 0; q < nrings * QD; q++)
            if (memcmp(wbuf + (size_t)q * BLK, rbuf + (size_t)q * BLK, BLK))
                wk->bad++;
    }
    for (k = 0; k < nrings; k++)
        io_uring_queue_exit(&rings[k]);
    free(wbuf);
    free(rbuf);
    return NULL;
}

/* Run n workers on path; returns (ops, bad) summed. */
static struct worker *start(const char *path, int n)
{
    struct worker *wk = calloc(n, sizeof(*wk));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644), i;

    if (fd < 0) {
        perror(path);
        exit(1);
    }
    for (i = 0; i < n; i++) {
        wk[i].fd = fd;
        wk[i].index = i;
        if (pthread_create(&wk[i].thread, NULL, work, &wk[i])) {
            perror("pthread_create");
            exit(1);
        }
    }
    return wk;
}

static void finish(struct worker *wk, int n, long *ops, long *bad)
{
    int i;

    for (i = 0; i < n; i++) {
        pthread_join(wk[i].thread, NULL);
        *ops += wk[i].ops;
        *bad += wk[i].bad;
    }
    close(wk[0].fd);
    free(wk);
}

int main(int argc, char **argv)
{
    int threads, children, child_threads, i, status;
    long ops = 0, bad = 0, cops = 0, cbad = 0;
    struct timespec t0, t1;
    struct worker *wk;
    int report[2];
    pid_t pids[64];
    double secs;
    char path[4096];

    if (argc != 7)
        return 2;
    threads = atoi(argv[2]);
    nrings = atoi(argv[3]);
    nrounds = atoi(argv[4]);
    children = atoi(argv[5]);
    child_threads = atoi(argv[6]);
    if (nrings < 1 || nrings > MAX_RINGS || children > 64 || threads < 1)
        return 2;
    if (pipe(report))
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wk = start(argv[1], threads);
    for (i = 0; i < children; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            long r[2] = {0, 0};
            snprintf(path, sizeof(path), "%s.child%d", argv[1], i);
            finish(start(path, child_threads), child_threads, &r[0], &r[1]);
            unlink(path);
            write(report[1], r, sizeof(r));
            _exit(0);
        }
    }
    finish(wk, threads, &ops, &bad);
    for (i = 0; i < children; i++) {
        long r[2];
        if (read(report[0], r, sizeof(r)) != sizeof(r))
            cbad++;
        cops += r[0];
        cbad += r[1];
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status))
            cbad++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("threads %d x %d rings, %d rounds: %ld requests, %ld wrong\n", threads, nrings,
           nrounds, ops, bad);
    printf("children %d x %d threads: %ld requests, %ld wrong\n", children, child_threads,
           cops, cbad);
    fprintf(stderr, "load: %.3f s, %.0f requests/s, %.1f MB/s\n", secs, (ops + cops) / secs,
            (ops + cops) * (double)BLK / secs / 1e6);
    unlink(argv[1]);
    return bad || cbad;
}
