/* Resource churn: rings, requests, timers, polls and registered resources
 * created and abandoned over and over, for the Sentry's memory and live-object
 * bounds (tests/test_reliability.py, tools/churn_rss.py).
 *
 *   churn MODE N      MODE: rings | linkto | cancel | extras | sqpoll | fork | all
 *
 * rings   a ring per iteration with a 600 s TIMEOUT, a POLL_ADD and a READ on
 *         an empty pipe in flight, files and a buffer registered, then closed
 * linkto  16 file reads each linked to a 600 s LINK_TIMEOUT, per iteration
 * cancel  one ring; per iteration a TIMEOUT, a POLL_ADD and a READ on a pipe,
 *         then ASYNC_CANCEL(ANY) of all three
 * extras  a ring per iteration with an eventfd, a personality and provided
 *         buffers registered, a multishot POLL_ADD and a buffer-select RECV
 *         in flight, then closed
 * sqpoll  an SQPOLL ring per iteration with a POLL_ADD in flight, closed
 * fork    a child per iteration makes a ring with a TIMEOUT and a POLL_ADD in
 *         flight and exits without closing it
 * Each mode prints one line with what it checked; exit 0 means every
 * result was the expected one. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, int res)
{
    fprintf(stderr, "%s: %d (%s)\n", what, res, strerror(res < 0 ? -res : res));
    exit(1);
}

static struct __kernel_timespec long_ts = { .tv_sec = 600 };

/* A ring with a TIMEOUT, a POLL_ADD and a READ waiting on an empty pipe. */
static void busy_ring(struct io_uring *ring, int p[2], char *buf, int reg)
{
    int r = io_uring_queue_init(8, ring, 0);
    if (r < 0)
        die("queue_init", r);
    if (reg) {
        int fds[2] = { p[0], p[1] };
        struct iovec iov = { buf, 4096 };
        if ((r = io_uring_register_files(ring, fds, 2)) < 0)
            die("register_files", r);
        if ((r = io_uring_register_buffers(ring, &iov, 1)) < 0)
            die("register_buffers", r);
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_timeout(sqe, &long_ts, 0, 0);
    sqe->user_data = 1;
    sqe = io_uring_get_sqe(ring);
    io_uring_prep_poll_add(sqe, p[0], POLLIN);
    sqe->user_data = 2;
    sqe = io_uring_get_sqe(ring);
    if (reg) {
        io_uring_prep_read_fixed(sqe, 0, buf, 4096, 0, 0);
        sqe->flags |= IOSQE_FIXED_FILE;
    } else {
        io_uring_prep_read(sqe, p[0], buf, 4096, 0);
    }
    sqe->user_data = 3;
    if ((r = io_uring_submit(ring)) != 3)
        die("submit", r);
}

static int mode_rings(int n)
{
    static char buf[4096];
    for (int i = 0; i < n; i++) {
        struct io_uring ring;
        int p[2];
        if (pipe(p))
            die("pipe", errno);
        busy_ring(&ring, p, buf, 1);
        io_uring_queue_exit(&ring);
        close(p[0]);
        close(p[1]);
    }
    printf("rings: %d closed with a timeout, poll and read in flight\n", n);
    return 0;
}

static int mode_linkto(int n)
{
    char path[] = "/tmp/churn.XXXXXX";
    int fd = mkstemp(path);
    static char data[4096], bufs[16][64];
    memset(data, 'x', sizeof data);
    if (fd < 0 || write(fd, data, sizeof data) != sizeof data)
        die("tmpfile", errno);
    unlink(path);
    struct io_uring ring;
    int r = io_uring_queue_init(64, &ring, 0);
    if (r < 0)
        die("queue_init", r);
    long ok = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 16; j++) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            io_uring_prep_read(sqe, fd, bufs[j], 64, j * 64);
            sqe->flags |= IOSQE_IO_LINK;
            sqe->user_data = j;
            sqe = io_uring_get_sqe(&ring);
            io_uring_prep_link_timeout(sqe, &long_ts, 0);
            sqe->user_data = 100 + j;
        }
        if ((r = io_uring_submit(&ring)) != 32)
            die("submit", r);
        for (int k = 0; k < 32; k++) {
            struct io_uring_cqe *cqe;
            if ((r = io_uring_wait_cqe(&ring, &cqe)) < 0)
                die("wait", r);
            if (cqe->user_data < 100 ? cqe->res == 64 : cqe->res == -ECANCELED)
                ok++;
            io_uring_cqe_seen(&ring, cqe);
        }
    }
    io_uring_queue_exit(&ring);
    close(fd);
    printf("linkto: %ld of %d results as expected\n", ok, n * 32);
    return ok == (long)n * 32 ? 0 : 1;
}

static int mode_cancel(int n)
{
    static char buf[4096];
    int p[2];
    if (pipe(p))
        die("pipe", errno);
    struct io_uring ring;
    int r = io_uring_queue_init(16, &ring, 0);
    if (r < 0)
        die("queue_init", r);
    long ok = 0;
    for (int i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_timeout(sqe, &long_ts, 0, 0);
        sqe->user_data = 1;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_poll_add(sqe, p[0], POLLIN);
        sqe->user_data = 2;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, p[0], buf, sizeof buf, 0);
        sqe->user_data = 3;
        if ((r = io_uring_submit(&ring)) != 3)
            die("submit", r);
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        sqe->user_data = 9;
        if ((r = io_uring_submit(&ring)) != 1)
            die("submit cancel", r);
        for (int k = 0; k < 4; k++) {
            struct io_uring_cqe *cqe;
            if ((r = io_uring_wait_cqe(&ring, &cqe)) < 0)
                die("wait", r);
            if (cqe->user_data == 9 ? cqe->res == 3 : cqe->res == -ECANCELED ||
                (cqe->user_data == 1 && cqe->res == -ECANCELED))
                ok++;
            io_uring_cqe_seen(&ring, cqe);
        }
    }
    io_uring_queue_exit(&ring);
    printf("cancel: %ld of %d results as expected\n", ok, n * 4);
    return ok == (long)n * 4 ? 0 : 1;
}

static int mode_extras(int n)
{
    static char bufs[4][256];
    for (int i = 0; i < n; i++) {
        struct io_uring ring;
        int sv[2], efd = eventfd(0, 0), r;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || efd < 0)
            die("socketpair/eventfd", errno);
        if ((r = io_uring_queue_init(8, &ring, 0)) < 0)
            die("queue_init", r);
        if ((r = io_uring_register_eventfd(&ring, efd)) < 0)
            die("register_eventfd", r);
        if ((r = io_uring_register_personality(&ring)) < 0)
            die("register_personality", r);
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_provide_buffers(sqe, bufs, 256, 4, 7, 0);
        sqe->user_data = 1;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_poll_multishot(sqe, sv[0], POLLIN);
        sqe->user_data = 2;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv(sqe, sv[0], NULL, 256, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 7;
        sqe->user_data = 3;
        if ((r = io_uring_submit(&ring)) != 3)
            die("submit", r);
        io_uring_queue_exit(&ring);
        close(sv[0]);
        close(sv[1]);
        close(efd);
    }
    printf("extras: %d closed with a multishot poll and a buffer-select recv in flight\n", n);
    return 0;
}

static int mode_sqpoll(int n)
{
    for (int i = 0; i < n; i++) {
        struct io_uring ring;
        int p[2], r;
        if (pipe(p))
            die("pipe", errno);
        if ((r = io_uring_queue_init(8, &ring, IORING_SETUP_SQPOLL)) < 0)
            die("queue_init sqpoll", r);
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_poll_add(sqe, p[0], POLLIN);
        sqe->user_data = 2;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_nop(sqe);
        sqe->user_data = 3;
        io_uring_submit(&ring);
        struct io_uring_cqe *cqe;
        if ((r = io_uring_wait_cqe(&ring, &cqe)) < 0 || cqe->user_data != 3)
            die("wait nop", r);
        io_uring_queue_exit(&ring);
        close(p[0]);
        close(p[1]);
    }
    printf("sqpoll: %d SQPOLL rings closed with a poll in flight\n", n);
    return 0;
}

static int mode_fork(int n)
{
    static char buf[4096];
    int bad = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork", errno);
        if (pid == 0) {
            struct io_uring ring;
            int p[2];
            if (pipe(p))
                _exit(2);
            busy_ring(&ring, p, buf, i & 1);
            _exit(7);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
            bad++;
    }
    printf("fork: %d children exited with a busy ring, %d bad\n", n, bad);
    return bad != 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: churn rings|linkto|cancel|extras|sqpoll|fork|all N\n");
        return 2;
    }
    const char *m = argv[1];
    int n = atoi(argv[2]), rc = 0;
    int all = !strcmp(m, "all");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (all || !strcmp(m, "rings"))
        rc |= mode_rings(n);
    if (all || !strcmp(m, "linkto"))
        rc |= mode_linkto(n);
    if (all || !strcmp(m, "cancel"))
        rc |= mode_cancel(n);
    if (all || !strcmp(m, "extras"))
        rc |= mode_extras(n);
    if (all || !strcmp(m, "sqpoll"))
        rc |= mode_sqpoll(n);
    if (all || !strcmp(m, "fork"))
        rc |= mode_fork(n);
    return rc;
}
