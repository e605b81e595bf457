/* IORING_OP_READ_MULTISHOT on a pipe: one CQE per read, each in its own
 * provided buffer with IORING_CQE_F_MORE, until end of file, no buffer left
 * or cancellation; and the errors of its prep and issue. */
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OP_READ_MULTISHOT 49

static struct io_uring ring;
static char bufs[8][16];

static void reap(const char *what)
{
    struct __kernel_timespec ts = {0, 100 * 1000 * 1000};
    struct io_uring_cqe *cqe;

    while (io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0) {
        printf("%s: user_data=%llu res=%d more=%d", what, (unsigned long long)cqe->user_data,
               cqe->res, !!(cqe->flags & IORING_CQE_F_MORE));
        if (cqe->flags & IORING_CQE_F_BUFFER) {
            int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            printf(" bid=%d data=%.*s", bid, cqe->res > 0 ? cqe->res : 0, bufs[bid]);
        }
        printf("\n");
        io_uring_cqe_seen(&ring, cqe);
    }
}

static void read_mshot(int fd, int group, void *addr, unsigned len, unsigned long long ud)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

    io_uring_prep_rw(OP_READ_MULTISHOT, sqe, fd, addr, len, 0);
    if (group >= 0) {
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = group;
    }
    sqe->user_data = ud;
    io_uring_submit(&ring);
}

static void provide(int n, int group)
{
    io_uring_prep_provide_buffers(io_uring_get_sqe(&ring), bufs, sizeof(bufs[0]), n, group, 0);
    io_uring_submit(&ring);
    reap("provide");
}

int main(void)
{
    int p[2], q[2], w[2], file;

    if (io_uring_queue_init(16, &ring, 0) || pipe(p) || pipe(q) || pipe(w))
        return 1;
    provide(8, 1);

    read_mshot(p[0], -1, NULL, 0, 1);
    reap("without buffer select");
    read_mshot(p[0], 1, (void *)8, 0, 2);
    reap("with addr");
    read_mshot(p[0], 1, NULL, 8, 3);
    reap("with len");
    file = open("/proc/self/exe", O_RDONLY);
    read_mshot(file, 1, NULL, 0, 4);
    reap("regular file");
    read_mshot(p[0], 9, NULL, 0, 5);
    reap("unknown group");

    read_mshot(w[0], 1, NULL, 0, 8);
    reap("armed on an empty pipe");
    io_uring_prep_cancel64(io_uring_get_sqe(&ring), 8, 0);
    io_uring_submit(&ring);
    reap("cancel the waiting one");

    read_mshot(p[0], 1, NULL, 0, 6);
    reap("armed");
    if (write(p[1], "hello", 5) != 5 || write(p[1], "", 0) != 0)
        return 1;
    reap("one write");
    if (write(p[1], "0123456789abcdefXYZ", 19) != 19)
        return 1;
    reap("a write larger than a buffer");
    close(p[1]);
    reap("end of file");

    /* One buffer left in group 2: the next read finds none. */
    memset(bufs, 0, sizeof(bufs));
    provide(1, 2);
    read_mshot(q[0], 2, NULL, 0, 7);
    if (write(q[1], "0123456789abcdefXYZ", 19) != 19)
        return 1;
    reap("buffers run out");
    return 0;
}
