/* IORING_OP_MSG_RING: data and fixed files sent from one ring to another. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct io_uring src, dst;

/* liburing 2.3 has no msg_ring_fd helpers: IORING_MSG_SEND_FD by hand.
 * slot is the target slot (0-based) or IORING_FILE_INDEX_ALLOC. */
static void prep_send_fd(struct io_uring_sqe *sqe, int ring_fd, int src_slot,
                         unsigned slot, unsigned long long data)
{
    io_uring_prep_rw(IORING_OP_MSG_RING, sqe, ring_fd, (void *)1 /* IORING_MSG_SEND_FD */,
                     0, data);
    sqe->addr3 = src_slot;
    sqe->file_index = slot == IORING_FILE_INDEX_ALLOC ? slot : slot + 1;
}

static void submit_one(struct io_uring_sqe *sqe, const char *what)
{
    struct io_uring_cqe *cqe;
    sqe->user_data = 7;
    if (io_uring_submit(&src) != 1 || io_uring_wait_cqe(&src, &cqe)) {
        printf("%s: submit failed\n", what);
        exit(1);
    }
    printf("%s: source res=%d\n", what, cqe->res);
    io_uring_cqe_seen(&src, cqe);
}

static void drain_target(const char *what)
{
    struct io_uring_cqe *cqe;
    while (!io_uring_peek_cqe(&dst, &cqe)) {
        printf("%s: target user_data=%llu res=%d flags=%u\n", what,
               (unsigned long long)cqe->user_data, cqe->res, cqe->flags);
        io_uring_cqe_seen(&dst, cqe);
    }
}

int main(void)
{
    struct io_uring_sqe *sqe;
    int pfd[2], files[2];
    char buf[16] = {0};

    if (io_uring_queue_init(8, &src, 0) || io_uring_queue_init(8, &dst, 0) || pipe(pfd))
        return 1;

    sqe = io_uring_get_sqe(&src);
    io_uring_prep_msg_ring(sqe, dst.ring_fd, 42, 0x1234, 0);
    submit_one(sqe, "data");
    drain_target("data");

    sqe = io_uring_get_sqe(&src);
    io_uring_prep_msg_ring(sqe, dst.ring_fd, -5, 99, 0);
    sqe->msg_ring_flags = 1u << 1;       /* IORING_MSG_RING_FLAGS_PASS */
    sqe->file_index = 0x30000;           /* the CQE flags to pass */
    submit_one(sqe, "flags pass");
    drain_target("flags pass");

    sqe = io_uring_get_sqe(&src);
    io_uring_prep_msg_ring(sqe, dst.ring_fd, 1, 1, 0);
    sqe->file_index = 3;
    submit_one(sqe, "cqe flags without FLAGS_PASS");

    sqe = io_uring_get_sqe(&src);
    io_uring_prep_msg_ring(sqe, pfd[0], 1, 1, 0);
    submit_one(sqe, "target not a ring");

    sqe = io_uring_get_sqe(&src);
    io_uring_prep_msg_ring(sqe, dst.ring_fd, 1, 1, 0);
    sqe->addr = 9;
    submit_one(sqe, "unknown command");

    sqe = io_uring_get_sqe(&src);
    io_uring_prep_msg_ring(sqe, dst.ring_fd, 1, 1, 0);
    sqe->msg_ring_flags = 1u << 5;
    submit_one(sqe, "unknown flag");

    /* passing a registered file */
    files[0] = pfd[0];
    files[1] = pfd[1];
    if (io_uring_register_files(&src, files, 2))
        return 1;
    sqe = io_uring_get_sqe(&src);
    prep_send_fd(sqe, dst.ring_fd, 0, 0, 55);
    submit_one(sqe, "send fd without target table");
    if (io_uring_register_files_sparse(&dst, 4))
        return 1;
    sqe = io_uring_get_sqe(&src);
    prep_send_fd(sqe, dst.ring_fd, 0, 2, 55);
    submit_one(sqe, "send fd to slot 2");
    drain_target("send fd");
    sqe = io_uring_get_sqe(&src);
    prep_send_fd(sqe, dst.ring_fd, 1, IORING_FILE_INDEX_ALLOC, 56);
    submit_one(sqe, "send fd alloc");
    drain_target("send fd alloc");
    sqe = io_uring_get_sqe(&src);
    prep_send_fd(sqe, dst.ring_fd, 1, 0, 57);
    sqe->msg_ring_flags = 1u << 0;       /* IORING_MSG_RING_CQE_SKIP */
    submit_one(sqe, "send fd skip cqe");
    drain_target("send fd skip cqe");
    sqe = io_uring_get_sqe(&src);
    prep_send_fd(sqe, dst.ring_fd, 5, 0, 58);
    submit_one(sqe, "send empty slot");
    sqe = io_uring_get_sqe(&src);
    prep_send_fd(sqe, src.ring_fd, 0, 0, 59);
    submit_one(sqe, "send fd to itself");

    /* the target can use the file it was sent: read the pipe through slot 2 */
    if (write(pfd[1], "through", 7) != 7)
        return 1;
    sqe = io_uring_get_sqe(&dst);
    io_uring_prep_read(sqe, 2, buf, sizeof(buf) - 1, 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    sqe->user_data = 9;
    io_uring_submit(&dst);
    {
        struct io_uring_cqe *cqe;
        if (io_uring_wait_cqe(&dst, &cqe))
            return 1;
        printf("target read: user_data=%llu res=%d '%s'\n",
               (unsigned long long)cqe->user_data, cqe->res, buf);
        io_uring_cqe_seen(&dst, cqe);
    }
    io_uring_queue_exit(&src);
    io_uring_queue_exit(&dst);
    return 0;
}
