/* IORING_OP_PIPE: a pipe in the fd table (pipe2 flags honoured) or as two
 * direct descriptors, and the errors of its fields. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <unistd.h>

#define OP_PIPE 62

static struct io_uring ring;

static int run(int *fds, unsigned flags, int fd, unsigned long long off, unsigned slot)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    struct io_uring_cqe *cqe;
    int res;

    io_uring_prep_rw(OP_PIPE, sqe, fd, fds, 0, off);
    sqe->rw_flags = flags;
    sqe->file_index = slot;
    io_uring_submit_and_wait(&ring, 1);
    if (io_uring_peek_cqe(&ring, &cqe))
        return -1000;
    res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static int lowest_free(void)
{
    int fd = dup(0);
    close(fd);
    return fd;
}

int main(void)
{
    int fds[2] = {-1, -1}, res, before, w;
    char buf[4] = {0};

    if (io_uring_queue_init(8, &ring, 0))
        return 1;
    before = lowest_free();
    res = run(fds, 0, 0, 0, 0);
    printf("plain: %d fds are the lowest free: %d cloexec=%d nonblock=%d\n", res,
           fds[0] == before && fds[1] == before + 1, fcntl(fds[0], F_GETFD) & FD_CLOEXEC,
           !!(fcntl(fds[1], F_GETFL) & O_NONBLOCK));
    w = write(fds[1], "ab", 2);
    printf("  write %d, read %zd: %s\n", w, read(fds[0], buf, sizeof(buf)), buf);
    res = run(fds, O_CLOEXEC | O_NONBLOCK, 0, 0, 0);
    printf("O_CLOEXEC|O_NONBLOCK: %d cloexec=%d nonblock=%d\n", res,
           fcntl(fds[0], F_GETFD) & FD_CLOEXEC, !!(fcntl(fds[1], F_GETFL) & O_NONBLOCK));
    printf("O_APPEND: %d\n", run(fds, O_APPEND, 0, 0, 0));
    printf("fd set: %d\n", run(fds, 0, 3, 0, 0));
    printf("off set: %d\n", run(fds, 0, 0, 1, 0));
    before = lowest_free();
    res = run((int *)8, 0, 0, 0, 0);
    printf("bad fds pointer: %d, no fd used: %d\n", res, lowest_free() == before);

    printf("direct without a table: %d\n", run(fds, 0, 0, 0, IORING_FILE_INDEX_ALLOC));
    io_uring_register_files_sparse(&ring, 4);
    fds[0] = fds[1] = -1;
    res = run(fds, 0, 0, 0, IORING_FILE_INDEX_ALLOC);
    printf("direct, allocated: %d slots=%d,%d\n", res, fds[0], fds[1]);
    fds[0] = fds[1] = -1;
    res = run(fds, 0, 0, 0, 3);
    printf("direct at slot 3: %d slots=%d,%d\n", res, fds[0], fds[1]);
    printf("direct O_CLOEXEC: %d\n", run(fds, O_CLOEXEC, 0, 0, IORING_FILE_INDEX_ALLOC));
    printf("direct past the table: %d\n", run(fds, 0, 0, 0, 4));
    printf("direct, table full: %d\n", run(fds, 0, 0, 0, IORING_FILE_INDEX_ALLOC));

    /* The direct ends carry data: write to slot 1, read from slot 0. */
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, 1, "xy", 2, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, 0, buf, sizeof(buf), 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_submit_and_wait(&ring, 2);
    struct io_uring_cqe *cqe;
    for (int i = 0; i < 2 && io_uring_peek_cqe(&ring, &cqe) == 0; i++) {
        printf("fixed pipe io: res=%d\n", cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    }
    printf("read back: %.2s\n", buf);
    return 0;
}
