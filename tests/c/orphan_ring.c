/* The first process exits at once with status 3; the child it forked uses
 * io_uring afterwards (liburing's poll test has this shape). */
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    struct io_uring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;

    printf("parent exits\n");
    fflush(stdout);
    if (fork() != 0)
        exit(3);
    usleep(100000);
    if (io_uring_queue_init(2, &ring, 0))
        return 1;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, 7);
    io_uring_submit_and_wait(&ring, 1);
    if (io_uring_peek_cqe(&ring, &cqe))
        return 1;
    printf("orphan: nop res=%d user_data=%llu\n", cqe->res, (unsigned long long)cqe->user_data);
    return 0;
}
