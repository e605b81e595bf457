/* Two TIMEOUT behaviours: a timeout that fires ends an io_uring_enter wait
 * even short of min_complete, and execve cancels every request the process
 * still has in flight (the timeout and the NOP linked after it). */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct __kernel_timespec ts = {0, 50 * 1000 * 1000}, longer = {10, 0};
    struct io_uring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    double t0;
    int ret, status, i;
    pid_t pid;

    if (argc > 1)
        return 0;       /* the exec'd image */
    if (io_uring_queue_init(8, &ring, 0))
        return 1;

    io_uring_prep_timeout(io_uring_get_sqe(&ring), &ts, 0, 0);
    io_uring_submit(&ring);
    t0 = now();
    ret = syscall(__NR_io_uring_enter, ring.ring_fd, 0, 4, IORING_ENTER_GETEVENTS, NULL, 0);
    printf("wait for 4 with one timeout: ret=%d ready=%u early=%d\n", ret,
           io_uring_cq_ready(&ring), now() - t0 < 5.0);
    io_uring_cq_advance(&ring, io_uring_cq_ready(&ring));

    pid = fork();
    if (pid == 0) {
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_timeout(sqe, &longer, 0, 0);
        sqe->flags |= IOSQE_IO_LINK;
        sqe->user_data = 10;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_nop(sqe);
        sqe->user_data = 11;
        if (io_uring_submit(&ring) != 2)
            _exit(2);
        execl("/proc/self/exe", argv[0], "exec'd", (char *)NULL);
        _exit(3);
    }
    waitpid(pid, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    for (i = 0; i < 2; i++) {
        if (io_uring_wait_cqe(&ring, &cqe))
            return 1;
        printf("after exec: user_data=%llu res=%d\n", (unsigned long long)cqe->user_data,
               cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    }
    return 0;
}
