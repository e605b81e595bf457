/* io_uring_enter returns at once, without waiting for min_complete, when it
 * submitted fewer SQEs than to_submit: the SQ held fewer, or one failed to
 * initialise and ended the batch (liburing's send_recv test_invalid). */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void publish(struct io_uring *r)
{
    io_uring_smp_store_release(r->sq.ktail, r->sq.sqe_tail);
}

int main(void)
{
    struct io_uring r;
    int p[2], ret;

    if (io_uring_queue_init(8, &r, 0) || pipe(p))
        return 1;
    alarm(10);      /* a wait here would be the bug: fail rather than hang */

    io_uring_prep_poll_add(io_uring_get_sqe(&r), p[0], POLLIN);
    publish(&r);
    ret = syscall(__NR_io_uring_enter, r.ring_fd, 2, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    printf("to_submit=2 with 1 queued, wait 1: %d ready=%u\n", ret < 0 ? -errno : ret,
           io_uring_cq_ready(&r));

    io_uring_prep_sendmsg(io_uring_get_sqe(&r), p[1], NULL, 0);    /* -EFAULT at init */
    io_uring_prep_poll_add(io_uring_get_sqe(&r), p[0], POLLIN);
    publish(&r);
    ret = syscall(__NR_io_uring_enter, r.ring_fd, 2, 3, IORING_ENTER_GETEVENTS, NULL, 0);
    printf("bad SQE first, wait 3: %d ready=%u", ret < 0 ? -errno : ret, io_uring_cq_ready(&r));
    struct io_uring_cqe *cqe;
    if (io_uring_peek_cqe(&r, &cqe) == 0)
        printf(" res=%d", cqe->res);
    printf(" still queued=%u\n", io_uring_sq_ready(&r));
    return 0;
}
