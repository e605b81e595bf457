/* A ring stays usable through dup(), dup2(), dup3() and fcntl(F_DUPFD*) copies
 * of its fd after the original is closed (liburing's sq-poll-dup does this):
 * Linux frees a ring on the last close of its file, not of one fd number. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <unistd.h>

static int nop_through(struct io_uring *ring, int fd, unsigned long long ud)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    struct io_uring_cqe *cqe;
    int ret;

    io_uring_prep_nop(sqe);
    sqe->user_data = ud;
    ring->ring_fd = ring->enter_ring_fd = fd;
    ret = io_uring_submit_and_wait(ring, 1);
    if (ret < 0)
        return ret;
    if (io_uring_peek_cqe(ring, &cqe))
        return -1000;
    ret = cqe->user_data == ud ? cqe->res : -2000;
    io_uring_cqe_seen(ring, cqe);
    return ret;
}

int main(void)
{
    struct io_uring ring;
    int orig, fd, ret;

    if (io_uring_queue_init(4, &ring, 0))
        return 1;
    orig = ring.ring_fd;

    fd = dup(orig);
    close(orig);
    printf("dup: %d\n", nop_through(&ring, fd, 1));

    orig = fd;
    fd = fcntl(orig, F_DUPFD_CLOEXEC, 20);
    close(orig);
    printf("F_DUPFD_CLOEXEC fd>=20: %d cloexec=%d nop=%d\n", fd >= 20,
           !!(fcntl(fd, F_GETFD) & FD_CLOEXEC), nop_through(&ring, fd, 2));

    orig = fd;
    fd = fcntl(orig, F_DUPFD, 0);
    close(orig);
    printf("F_DUPFD: %d\n", nop_through(&ring, fd, 3));

    orig = fd;
    ret = dup2(orig, 30);
    close(orig);
    printf("dup2: %d nop=%d\n", ret, nop_through(&ring, 30, 4));

    ret = dup3(30, 31, O_CLOEXEC);
    close(30);
    printf("dup3: %d nop=%d\n", ret, nop_through(&ring, 31, 5));

    /* dup2 onto an fd that already is the ring: nothing changes */
    printf("dup2 same: %d nop=%d\n", dup2(31, 31), nop_through(&ring, 31, 6));

    close(31);
    printf("after last close: %d\n", nop_through(&ring, 31, 7));
    return 0;
}
