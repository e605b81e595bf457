/* The soak workload (tools/soak.py): for SECS seconds, rounds of io_uring work
 * picked at random (seeded) from a mix, every result checked:
 *
 *   file     write, fsync, read back through a fixed file and a fixed buffer
 *   pipe     write and read a pipe, the read linked to a LINK_TIMEOUT
 *   socket   send/recv on a socketpair, a POLL_ADD first
 *   timeout  a short TIMEOUT that fires, a long one cancelled
 *   cancel   a READ on an empty pipe and a POLL_ADD cancelled by ASYNC_CANCEL
 *   ring     a ring made with a TIMEOUT in flight and destroyed
 *   fork     a child makes a ring, does a NOP, exits with a READ in flight
 *
 *   soak_work SECS SEED [WORKERS]   WORKERS processes (seeds SEED, SEED+1...)
 *   each print per-kind counts; exit 1 on any wrong result
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { K_FILE, K_PIPE, K_SOCKET, K_TIMEOUT, K_CANCEL, K_RING, K_FORK, NKINDS };
static const char *names[] = { "file", "pipe", "socket", "timeout", "cancel", "ring", "fork" };
static long done[NKINDS], wrong[NKINDS];
static struct io_uring ring;
static char tmpl[] = "/tmp/soak.XXXXXX";
static int filefd;
static char fbuf[4096];

static unsigned long long rng;
static unsigned rnd(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return rng >> 33;
}

static struct io_uring_sqe *sqe_for(unsigned long long ud)
{
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    if (!s) {
        io_uring_submit(&ring);
        s = io_uring_get_sqe(&ring);
    }
    s->user_data = ud;
    return s;
}

/* Reap `n` CQEs; res_of[user_data % 8] gets each result. */
static int reap(int n, int *res_of)
{
    for (int i = 0; i < n; i++) {
        struct io_uring_cqe *c;
        int r = io_uring_wait_cqe(&ring, &c);
        if (r < 0)
            return r;
        res_of[c->user_data % 8] = c->res;
        io_uring_cqe_seen(&ring, c);
    }
    return 0;
}

static int do_file(void)
{
    char out[512], in[512];
    int res[8], len = 1 + rnd() % 512;
    off_t off = (rnd() % 8) * 512;
    for (int i = 0; i < len; i++)
        out[i] = rnd();
    memcpy(fbuf, out, len);
    struct io_uring_sqe *s = sqe_for(1);
    io_uring_prep_write_fixed(s, 0, fbuf, len, off, 0);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    s = sqe_for(2);
    io_uring_prep_fsync(s, 0, IORING_FSYNC_DATASYNC);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    s = sqe_for(3);
    io_uring_prep_read(s, filefd, in, len, off);
    io_uring_submit(&ring);
    if (reap(3, res))
        return 1;
    return res[1] != len || res[2] != 0 || res[3] != len || memcmp(in, out, len);
}

static int do_pipe(void)
{
    int p[2], res[8];
    char in[64];
    if (pipe(p))
        return 1;
    struct __kernel_timespec ts = { .tv_sec = 5 };
    struct io_uring_sqe *s = sqe_for(1);
    io_uring_prep_write(s, p[1], "soak pipe data", 14, 0);
    s = sqe_for(2);
    io_uring_prep_read(s, p[0], in, sizeof in, 0);
    s->flags |= IOSQE_IO_LINK;
    s = sqe_for(3);
    io_uring_prep_link_timeout(s, &ts, 0);
    io_uring_submit(&ring);
    int r = reap(3, res);
    close(p[0]);
    close(p[1]);
    return r || res[1] != 14 || res[2] != 14 || res[3] != -ECANCELED || memcmp(in, "soak pipe data", 14);
}

static int do_socket(void)
{
    int sv[2], res[8];
    char in[64];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 1;
    struct io_uring_sqe *s = sqe_for(1);
    io_uring_prep_poll_add(s, sv[1], POLLIN);
    s = sqe_for(2);
    io_uring_prep_send(s, sv[0], "ping", 4, 0);
    io_uring_submit(&ring);
    int r = reap(2, res);
    s = sqe_for(3);
    io_uring_prep_recv(s, sv[1], in, sizeof in, 0);
    io_uring_submit(&ring);
    r |= reap(1, res);
    close(sv[0]);
    close(sv[1]);
    return r || !(res[1] & POLLIN) || res[2] != 4 || res[3] != 4 || memcmp(in, "ping", 4);
}

static int do_timeout(void)
{
    int res[8];
    struct __kernel_timespec short_ts = { .tv_nsec = 1000000 }, long_ts = { .tv_sec = 100 };
    struct io_uring_sqe *s = sqe_for(1);
    io_uring_prep_timeout(s, &short_ts, 0, 0);
    s = sqe_for(2);
    io_uring_prep_timeout(s, &long_ts, 0, 0);
    io_uring_submit(&ring);
    if (reap(1, res))
        return 1;
    s = sqe_for(3);
    io_uring_prep_timeout_remove(s, 2, 0);
    io_uring_submit(&ring);
    if (reap(2, res))
        return 1;
    return res[1] != -ETIME || res[2] != -ECANCELED || res[3] != 0;
}

static int do_cancel(void)
{
    int p[2], res[8];
    char in[16];
    if (pipe(p))
        return 1;
    struct io_uring_sqe *s = sqe_for(1);
    io_uring_prep_read(s, p[0], in, sizeof in, 0);
    s = sqe_for(2);
    io_uring_prep_poll_add(s, p[0], POLLIN);
    io_uring_submit(&ring);
    s = sqe_for(3);
    io_uring_prep_cancel_fd(s, p[0], IORING_ASYNC_CANCEL_ALL);
    io_uring_submit(&ring);
    int r = reap(3, res);
    close(p[0]);
    close(p[1]);
    return r || res[1] != -ECANCELED || res[2] != -ECANCELED || res[3] != 2;
}

static int do_ring(void)
{
    struct io_uring r2;
    struct __kernel_timespec ts = { .tv_sec = 100 };
    if (io_uring_queue_init(4, &r2, 0) < 0)
        return 1;
    struct io_uring_sqe *s = io_uring_get_sqe(&r2);
    io_uring_prep_timeout(s, &ts, 0, 0);
    int r = io_uring_submit(&r2);
    io_uring_queue_exit(&r2);
    return r != 1;
}

static int do_fork(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        struct io_uring r2;
        struct io_uring_cqe *c;
        int p[2];
        char in[8];
        if (pipe(p) || io_uring_queue_init(4, &r2, 0) < 0)
            _exit(2);
        io_uring_prep_nop(io_uring_get_sqe(&r2));
        io_uring_prep_read(io_uring_get_sqe(&r2), p[0], in, sizeof in, 0);
        io_uring_submit(&r2);
        if (io_uring_wait_cqe(&r2, &c) < 0 || c->res != 0)
            _exit(3);
        _exit(5);
    }
    int st;
    return waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 5;
}

static int (*kinds[])(void) = { do_file, do_pipe, do_socket, do_timeout, do_cancel, do_ring, do_fork };

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 10;
    rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    int workers = argc > 3 ? atoi(argv[3]) : 1, me = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t pids[64];
    for (int w = 1; w < workers && w < 64; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            me = w;
            rng += w;
            break;
        }
    }
    filefd = mkstemp(tmpl);
    if (filefd < 0)
        return 1;
    unlink(tmpl);
    if (io_uring_queue_init(32, &ring, 0) < 0)
        return 1;
    struct iovec iov = { fbuf, sizeof fbuf };
    if (io_uring_register_files(&ring, &filefd, 1) || io_uring_register_buffers(&ring, &iov, 1))
        return 1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rounds = 0;
    do {
        int k = rnd() % NKINDS;
        done[k]++;
        if (kinds[k]()) {
            wrong[k]++;
            fprintf(stderr, "round %ld: %s gave a wrong result\n", rounds, names[k]);
        }
        rounds++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
    long bad = 0;
    for (int k = 0; k < NKINDS; k++) {
        printf("worker %d %s %ld wrong %ld\n", me, names[k], done[k], wrong[k]);
        bad += wrong[k];
    }
    printf("worker %d rounds %ld wrong %ld\n", me, rounds, bad);
    io_uring_queue_exit(&ring);
    if (me)
        _exit(bad != 0);
    for (int w = 1; w < workers && w < 64; w++) {
        int st;
        if (waitpid(pids[w], &st, 0) != pids[w] || !WIFEXITED(st) || WEXITSTATUS(st))
            bad++;
    }
    return bad != 0;
}
