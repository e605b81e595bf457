/* IORING_SETUP_IOPOLL: polled O_DIRECT I/O, and what a polled ring refuses.
 * argv[1]: a directory on the test machine's disk filesystem. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct io_uring ring;

static int run(const char *what, struct io_uring_sqe *sqe, unsigned long long ud)
{
    struct io_uring_cqe *cqe;
    int ret, res;

    sqe->user_data = ud;
    ret = io_uring_submit(&ring);
    if (ret != 1) {
        printf("%s: submit %d\n", what, ret);
        exit(1);
    }
    ret = io_uring_wait_cqe(&ring, &cqe);
    if (ret) {
        printf("%s: wait %d\n", what, ret);
        exit(1);
    }
    res = cqe->res;
    printf("%s: user_data=%llu res=%d\n", what, (unsigned long long)cqe->user_data, res);
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

int main(int argc, char **argv)
{
    struct io_uring_sqe *sqe;
    char path[4096], *buf;
    int dfd, fd, pfd[2];

    if (argc < 2)
        return 1;
    /* argv[2] "hybrid": the same with IORING_SETUP_HYBRID_IOPOLL (1U << 17),
     * which only changes how the kernel waits before polling. */
    unsigned flags = IORING_SETUP_IOPOLL;
    if (argc > 2 && !strcmp(argv[2], "hybrid")) {
        struct io_uring r2;
        int ret = io_uring_queue_init(8, &r2, 1U << 17);
        printf("hybrid without IOPOLL: %d\n", ret);
        if (!ret)
            io_uring_queue_exit(&r2);
        flags |= 1U << 17;
    }
    if (io_uring_queue_init(8, &ring, flags)) {
        printf("setup failed\n");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/direct", argv[1]);
    dfd = open(path, O_CREAT | O_RDWR | O_DIRECT | O_TRUNC, 0644);
    fd = open(path, O_RDONLY);
    if (dfd < 0 || fd < 0 || pipe(pfd) || posix_memalign((void **)&buf, 4096, 8192))
        return 1;

    memset(buf, 'x', 4096);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, dfd, buf, 4096, 0);
    run("direct write", sqe, 1);
    memset(buf, 0, 4096);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, dfd, buf, 4096, 0);
    run("direct read", sqe, 2);

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, dfd, buf, 4096, 0);
    run("direct overwrite", sqe, 10);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, dfd, buf, 4096, 4096);
    run("direct append", sqe, 11);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, dfd, buf, 4096, 8192);
    run("direct read at eof", sqe, 12);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, dfd, buf, 4096, 4096);
    run("direct read of the last block", sqe, 13);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, dfd, buf + 1, 4096, 0);
    run("direct read misaligned", sqe, 14);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buf, 4096, 0);
    run("buffered read", sqe, 3);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, pfd[0], buf, 16, 0);
    run("pipe read", sqe, 4);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    run("nop", sqe, 5);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_poll_add(sqe, pfd[1], POLLOUT);
    run("poll add", sqe, 6);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fsync(sqe, dfd, 0);
    run("fsync", sqe, 7);
    {
        struct __kernel_timespec ts = {0, 1000};
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_timeout(sqe, &ts, 0, 0);
        run("timeout", sqe, 8);
    }
    io_uring_queue_exit(&ring);
    return 0;
}
