/* The ring fd under poll, epoll and fstat, as event loops use it (libuv adds
 * it to its epoll set, qemu polls it): POLLIN exactly while CQEs wait,
 * epoll level- and edge-triggered, a thread blocked in epoll_wait woken by a
 * completion, an SQPOLL ring, the CQ drained in user space, a forked child,
 * and reads an SQ thread completes while the program waits in epoll
 * (edge-triggered: one edge per batch).  Prints one line per case. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct io_uring ring;

static int poll_ev(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, ms);
    if (n < 0)
        return -errno;
    return n ? (p.revents & (POLLIN | POLLOUT)) : 0;
}

static int poll_in(int fd, int ms)
{
    return poll_ev(fd, POLLIN | POLLOUT, ms);
}

static void nop(unsigned long long ud)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = ud;
    io_uring_submit(&ring);
}

static int reap_all(void)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&ring, head, cqe)
        n++;
    io_uring_cq_advance(&ring, n);     /* in user space: no syscall */
    return n;
}

static int ep_wait(int ep, int ms)
{
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, ms);
    return n < 0 ? -errno : n;
}

/* epoll_wait, again after an EINTR: Linux interrupts the first wait after
 * an SQPOLL ring's first completion (its task work), which is no event. */
static int ep_wait_events(int ep, int ms)
{
    int n;
    do
        n = ep_wait(ep, ms);
    while (n == -EINTR);
    return n;
}

static int pipefd[2];
static int epfd;

static void *waiter(void *arg)
{
    (void)arg;
    printf("thread: epoll_wait woken by a completion: %d\n", ep_wait(epfd, 5000));
    return NULL;
}

int main(void)
{
    struct stat st;
    char link[64] = {0}, path[64], buf[8];
    struct epoll_event ev = {.events = EPOLLIN};

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (io_uring_queue_init(8, &ring, 0))
        return 1;
    int fd = ring.ring_fd;

    epfd = epoll_create1(0);
    ev.data.u64 = 1;
    printf("epoll_ctl ADD ring fd: %d\n", epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0);
    printf("poll POLLIN, CQ empty (waits 100 ms): %#x\n", poll_ev(fd, POLLIN, 100));
    printf("poll, CQ empty: %#x\n", poll_in(fd, 100));
    printf("epoll_wait, CQ empty: %d\n", ep_wait(epfd, 100));
    nop(1);
    printf("poll, one CQE: %#x\n", poll_in(fd, 1000));
    printf("epoll_wait, one CQE: %d\n", ep_wait(epfd, 1000));
    printf("reaped in user space: %d\n", reap_all());
    printf("poll after reaping: %#x\n", poll_in(fd, 100));
    printf("poll POLLIN after reaping (waits 100 ms): %#x\n", poll_ev(fd, POLLIN, 100));
    printf("epoll_wait after reaping: %d\n", ep_wait(epfd, 100));

    /* Edge-triggered: one edge per batch of completions. */
    int et = epoll_create1(0);
    struct epoll_event eev = {.events = EPOLLIN | EPOLLET};
    epoll_ctl(et, EPOLL_CTL_ADD, fd, &eev);
    nop(2);
    printf("ET: first batch: %d\n", ep_wait(et, 1000));
    printf("ET: nothing new: %d\n", ep_wait(et, 100));
    nop(3);
    printf("ET: second batch: %d\n", ep_wait(et, 1000));
    printf("reaped: %d\n", reap_all());

    /* A thread blocked in epoll_wait, woken by a completion the main thread
     * causes: a READ on a pipe completes when the pipe is written. */
    pipe(pipefd);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, pipefd[0], buf, sizeof(buf), 0);
    io_uring_submit(&ring);
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    usleep(100000);
    write(pipefd[1], "x", 1);
    pthread_join(t, NULL);
    printf("reaped: %d\n", reap_all());

    /* A forked child sees the same readiness through its inherited fd. */
    nop(4);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child: poll, one CQE: %#x\n", poll_in(fd, 1000));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("reaped: %d\n", reap_all());

    printf("fstat: regular file %d\n", fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof(link) - 1);
    printf("/proc/self/fd: anonymous inode %d\n", strncmp(link, "anon_inode:", 11) == 0);

    /* An SQPOLL ring's fd in epoll: submitted with no syscall. */
    struct io_uring sq;
    struct io_uring_params p = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 2000};
    if (io_uring_queue_init_params(8, &sq, &p) == 0) {
        int sep = epoll_create1(0);
        struct epoll_event sev = {.events = EPOLLIN};
        epoll_ctl(sep, EPOLL_CTL_ADD, sq.ring_fd, &sev);
        printf("SQPOLL: epoll_wait, CQ empty: %d\n", ep_wait(sep, 100));
        sqe = io_uring_get_sqe(&sq);
        io_uring_prep_nop(sqe);
        io_uring_submit(&sq);
        printf("SQPOLL: epoll_wait, one CQE: %d\n", ep_wait(sep, 2000));
        struct io_uring_cqe *c;
        io_uring_wait_cqe(&sq, &c);
        io_uring_cqe_seen(&sq, c);
        /* An OPENAT (which makes an fd in the program) completes while the
         * program only waits in epoll, never entering io_uring itself. */
        sqe = io_uring_get_sqe(&sq);
        io_uring_prep_openat(sqe, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY, 0);
        io_uring_submit(&sq);
        printf("SQPOLL: epoll_wait for an OPENAT: %d\n", ep_wait(sep, 5000));
        io_uring_wait_cqe(&sq, &c);
        printf("SQPOLL: OPENAT gave an fd: %d\n", c->res >= 0);
        io_uring_cqe_seen(&sq, c);
        io_uring_queue_exit(&sq);
    }
    /* SQPOLL reads while the program only waits in epoll on the ring fd,
     * edge-triggered (the Sentry's C SQ thread runs them from a registered
     * file): each batch of completions is one new edge, none without one. */
    char tmpl[] = "/tmp/ring_poll.XXXXXX";
    int dfd = mkstemp(tmpl);
    struct io_uring rr;
    struct io_uring_params rp = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 2000};
    if (dfd >= 0 && io_uring_queue_init_params(16, &rr, &rp) == 0) {
        static char data[8 * 512], bufs[8][512];
        unlink(tmpl);
        for (int i = 0; i < (int)sizeof(data); i++)
            data[i] = 'a' + i / 512;
        if (pwrite(dfd, data, sizeof(data), 0) != (ssize_t)sizeof(data))
            printf("pwrite failed\n");
        printf("SQPOLL reads: register file: %d\n", io_uring_register_files(&rr, &dfd, 1));
        int rep = epoll_create1(0);
        struct epoll_event rev = {.events = EPOLLIN | EPOLLET};
        epoll_ctl(rep, EPOLL_CTL_ADD, rr.ring_fd, &rev);
        struct io_uring_cqe *c;
        for (int b = 0; b < 2; b++) {
            sqe = io_uring_get_sqe(&rr);
            io_uring_prep_read(sqe, 0, bufs[b], 512, b * 512);
            sqe->flags |= IOSQE_FIXED_FILE;
            sqe->user_data = b;
            io_uring_submit(&rr);
            printf("SQPOLL reads, ET: read %d: %d\n", b + 1, ep_wait_events(rep, 5000));
            printf("SQPOLL reads, ET: nothing new: %d\n", ep_wait_events(rep, 100));
            int ok = io_uring_peek_cqe(&rr, &c) == 0 && c->res == 512
                     && memcmp(bufs[b], data + b * 512, 512) == 0;
            printf("SQPOLL reads: read %d gave its block: %d\n", b + 1, ok);
            if (ok)
                io_uring_cqe_seen(&rr, c);
        }
        memset(bufs, 0, sizeof(bufs));
        for (int i = 0; i < 8; i++) {
            sqe = io_uring_get_sqe(&rr);
            io_uring_prep_read(sqe, 0, bufs[i], 512, i * 512);
            sqe->flags |= IOSQE_FIXED_FILE;
            sqe->user_data = 100 + i;
        }
        io_uring_submit(&rr);
        int got = 0, bad = 0, waits = 0;
        while (got < 8 && waits < 16) {
            waits++;
            if (ep_wait_events(rep, 5000) <= 0)
                break;
            while (io_uring_peek_cqe(&rr, &c) == 0) {
                int i = (int)c->user_data - 100;
                if (i < 0 || i > 7 || c->res != 512 || memcmp(bufs[i], data + i * 512, 512))
                    bad++;
                got++;
                io_uring_cqe_seen(&rr, c);
            }
        }
        printf("SQPOLL reads, ET: 8 reads reaped after epoll_wait: %d, bad: %d\n", got, bad);
        close(rep);
        io_uring_queue_exit(&rr);
    }
    if (dfd >= 0)
        close(dfd);
    io_uring_queue_exit(&ring);
    return 0;
}
