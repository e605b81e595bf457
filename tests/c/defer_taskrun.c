/* IORING_SETUP_DEFER_TASKRUN: completions that arrive while the submitter is
 * outside io_uring_enter wait until it enters with GETEVENTS; meanwhile the
 * registered eventfd fires and IORING_SQ_TASKRUN is raised.  Only the
 * submitter thread may wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct io_uring ring;

static int readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

static int taskrun_flag(void)
{
    return !!(IO_URING_READ_ONCE(*ring.sq.kflags) & IORING_SQ_TASKRUN);
}

static void *other_thread(void *arg)
{
    int ret = syscall(__NR_io_uring_enter, ring.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    printf("other thread: getevents %d", ret < 0 ? -errno : ret);
    /* (nothing is queued: the submitter check comes first) */
    ret = syscall(__NR_io_uring_enter, ring.ring_fd, 1, 0, 0, NULL, 0);
    printf(", submit %d", ret < 0 ? -errno : ret);
    ret = syscall(__NR_io_uring_enter, ring.ring_fd, 0, 0, 0, NULL, 0);
    printf(", plain enter %d\n", ret < 0 ? -errno : ret);
    return NULL;
}

int main(void)
{
    struct io_uring_params p;
    struct io_uring_cqe *cqe;
    struct io_uring_sqe *sqe;
    struct __kernel_timespec ts = {0, 10 * 1000 * 1000};
    struct io_uring probe;
    pthread_t t;
    int pipefd[2], evfd, ret;
    unsigned long long val;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_DEFER_TASKRUN;
    printf("without SINGLE_ISSUER: %d\n", io_uring_queue_init_params(4, &probe, &p));
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_SQPOLL;
    printf("with SQPOLL: %d\n", io_uring_queue_init_params(4, &probe, &p));

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_TASKRUN_FLAG;
    if (io_uring_queue_init_params(8, &ring, &p) || pipe(pipefd))
        return 1;
    evfd = eventfd(0, EFD_NONBLOCK);
    io_uring_register_eventfd(&ring, evfd);

    /* An inline completion is posted at once. */
    io_uring_prep_nop(io_uring_get_sqe(&ring));
    ret = io_uring_submit(&ring);
    printf("nop: submit %d, ready %u eventfd %d\n", ret, io_uring_cq_ready(&ring), readable(evfd));
    io_uring_cq_advance(&ring, io_uring_cq_ready(&ring));
    if (read(evfd, &val, 8) != 8)
        printf("eventfd read failed\n");

    /* A poll that completes later waits for GETEVENTS. */
    io_uring_prep_poll_add(io_uring_get_sqe(&ring), pipefd[0], POLLIN);
    io_uring_submit(&ring);
    printf("poll armed: ready %u taskrun %d eventfd %d\n", io_uring_cq_ready(&ring),
           taskrun_flag(), readable(evfd));
    if (write(pipefd[1], "x", 1) != 1)
        return 1;
    printf("after write: ready %u taskrun %d eventfd %d\n", io_uring_cq_ready(&ring),
           taskrun_flag(), readable(evfd));
    if (read(evfd, &val, 8) != 8)
        printf("eventfd read failed\n");

    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    printf("after other thread: ready %u\n", io_uring_cq_ready(&ring));

    ret = io_uring_get_events(&ring);
    printf("get_events %d: ready %u taskrun %d\n", ret, io_uring_cq_ready(&ring), taskrun_flag());
    if (io_uring_peek_cqe(&ring, &cqe) == 0) {
        printf("poll cqe res=%d\n", cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    }

    /* A timeout fires while the thread sleeps; wait_cqe collects it. */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_timeout(sqe, &ts, 0, 0);
    io_uring_sqe_set_data64(sqe, 9);
    io_uring_submit(&ring);
    usleep(100 * 1000);
    printf("timeout expired: ready %u taskrun %d\n", io_uring_cq_ready(&ring), taskrun_flag());
    ret = io_uring_wait_cqe(&ring, &cqe);
    printf("wait_cqe %d user_data=%llu res=%d\n", ret, ret ? 0ULL : (unsigned long long)cqe->user_data,
           ret ? 0 : cqe->res);
    return 0;
}
