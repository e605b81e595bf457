/* An epoll-driven io_uring loop, as libuv runs one: the ring fd sits in an
 * epoll set; each round submits one request, blocks in epoll_wait until the
 * ring fd is readable, and reaps the CQE in user space.
 *   epoll_loop N      N rounds of a NOP; prints rounds/s
 *   epoll_loop idle   one READ on a pipe that a thread writes after 500 ms;
 *                     prints the CPU time the whole process spent meanwhile
 *                     (a loop that spins on a stale readiness burns it)
 */
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int pfd[2];

static void *writer(void *arg)
{
    (void)arg;
    usleep(500000);
    write(pfd[1], "x", 1);
    return NULL;
}

int main(int argc, char **argv)
{
    struct io_uring ring;
    struct epoll_event ev = {.events = EPOLLIN}, out;
    struct io_uring_cqe *cqe;
    unsigned head, n;
    int ep, waits = 0;
    char buf[8];

    if (argc < 2 || io_uring_queue_init(8, &ring, 0))
        return 1;
    ep = epoll_create1(0);
    epoll_ctl(ep, EPOLL_CTL_ADD, ring.ring_fd, &ev);
    if (!strcmp(argv[1], "idle")) {
        pipe(pfd);
        io_uring_prep_read(io_uring_get_sqe(&ring), pfd[0], buf, 1, 0);
        io_uring_submit(&ring);
        pthread_t t;
        double c0 = cpu(), t0 = now();
        pthread_create(&t, NULL, writer, NULL);
        for (;;) {
            epoll_wait(ep, &out, 1, -1);
            waits++;
            n = 0;
            io_uring_for_each_cqe(&ring, head, cqe) n++;
            io_uring_cq_advance(&ring, n);
            if (n)
                break;
        }
        pthread_join(t, NULL);
        printf("idle %.3f s: cpu %.4f s, epoll_wait returns %d\n", now() - t0, cpu() - c0, waits);
        return 0;
    }
    long rounds = atol(argv[1]);
    double t0 = now();
    for (long i = 0; i < rounds; i++) {
        io_uring_prep_nop(io_uring_get_sqe(&ring));
        io_uring_submit(&ring);
        do {
            epoll_wait(ep, &out, 1, -1);
            waits++;
            n = 0;
            io_uring_for_each_cqe(&ring, head, cqe) n++;
            io_uring_cq_advance(&ring, n);
        } while (!n);
    }
    double dt = now() - t0;
    printf("%ld rounds in %.3f s: %.0f rounds/s, %.2f epoll_wait per round\n", rounds, dt,
           rounds / dt, (double)waits / rounds);
    return 0;
}
