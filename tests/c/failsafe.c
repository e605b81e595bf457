/* A request the Sentry fails internally still completes: run under
 * PYSENTRY_FAULT, each faulted op must post a CQE with -EIO and its own
 * user_data, and the ring must go on working.  Prints one line per request. */
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>

static struct io_uring ring;

static void finish(const char *what)
{
    struct io_uring_cqe *cqe;

    io_uring_submit(&ring);
    if (io_uring_wait_cqe(&ring, &cqe)) {
        printf("%s: no cqe\n", what);
        return;
    }
    printf("%s: user_data=%llu res=%d\n", what, (unsigned long long)cqe->user_data, cqe->res);
    io_uring_cqe_seen(&ring, cqe);
}

int main(void)
{
    static char buf[16];
    struct io_uring_sqe *sqe;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (io_uring_queue_init(8, &ring, 0))
        return 1;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 1;
    finish("NOP");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, 0, buf, sizeof(buf), 0);
    sqe->user_data = 2;
    finish("READ");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "/", O_RDONLY, 0);
    sqe->user_data = 3;
    finish("OPENAT");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 4;
    finish("NOP again");
    return 0;
}
