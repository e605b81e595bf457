/* IORING_REGISTER_SYNC_CANCEL: cancelling waiting requests from
 * io_uring_register, by user_data, fd, opcode or any, and its errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IORING_ASYNC_CANCEL_OP
#define IORING_ASYNC_CANCEL_OP (1U << 5)
#endif

/* The current uapi layout (liburing 2.3's header predates `opcode`). */
struct sync_cancel_reg {
    __u64 addr;
    __s32 fd;
    __u32 flags;
    struct __kernel_timespec timeout;
    __u8 opcode;
    __u8 pad[7];
    __u64 pad2[3];
};

static struct io_uring ring;
static char buf[32];

static int reg_sync_cancel(struct sync_cancel_reg *reg)
{
    int ret = syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_SYNC_CANCEL, reg, 1);
    return ret < 0 ? -errno : ret;
}

static void queue_read(int fd, unsigned long long ud)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
    sqe->user_data = ud;
}

static int sync_cancel(unsigned long long ud, int fd, unsigned flags, int opcode)
{
    struct sync_cancel_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.addr = ud;
    reg.fd = fd;
    reg.flags = flags;
    reg.opcode = opcode;
    reg.timeout.tv_sec = 1;
    return reg_sync_cancel(&reg);
}

static void reap(const char *what, int n)
{
    struct io_uring_cqe *cqe;
    int i;

    printf("%s:", what);
    for (i = 0; i < n; i++) {
        if (io_uring_wait_cqe(&ring, &cqe)) {
            printf(" wait failed");
            break;
        }
        printf(" [ud=%#llx res=%d]", (unsigned long long)cqe->user_data, cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    }
    printf(" pending=%u\n", io_uring_cq_ready(&ring));
}

int main(void)
{
    struct sync_cancel_reg reg;
    struct __kernel_timespec ts = {10, 0};
    int fds[2], i;

    if (io_uring_queue_init(16, &ring, 0) || pipe(fds))
        return 1;

    queue_read(fds[0], 0x89);
    io_uring_submit(&ring);
    printf("by user_data: %d\n", sync_cancel(0x89, 0, 0, 0));
    reap("cqes", 1);

    for (i = 0; i < 3; i++)
        queue_read(fds[0], 0x90);
    io_uring_submit(&ring);
    printf("all by user_data: %d\n", sync_cancel(0x90, 0, IORING_ASYNC_CANCEL_ALL, 0));
    reap("cqes", 3);

    queue_read(fds[0], 0x91);
    io_uring_submit(&ring);
    printf("by fd: %d\n", sync_cancel(0, fds[0], IORING_ASYNC_CANCEL_FD, 0));
    reap("cqes", 1);

    io_uring_prep_poll_add(io_uring_get_sqe(&ring), fds[0], POLLIN);
    io_uring_prep_timeout(io_uring_get_sqe(&ring), &ts, 0, 0);
    io_uring_submit(&ring);
    printf("all polls by opcode: %d\n",
           sync_cancel(0, 0, IORING_ASYNC_CANCEL_OP | IORING_ASYNC_CANCEL_ALL, IORING_OP_POLL_ADD));
    reap("cqes", 1);
    printf("any: %d\n", sync_cancel(0, 0, IORING_ASYNC_CANCEL_ANY, 0));
    reap("cqes", 1);

    printf("nothing to cancel: %d\n", sync_cancel(0x89, 0, 0, 0));
    printf("unknown flag: %d\n", sync_cancel(0x89, 0, 1u << 20, 0));
    printf("bad fd: %d\n", sync_cancel(0, 99, IORING_ASYNC_CANCEL_FD, 0));
    printf("fixed fd without a table: %d\n",
           sync_cancel(0, 0, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_FD_FIXED, 0));
    printf("any with fd, nothing left: %d\n",
           sync_cancel(0, fds[0], IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_FD, 0));
    printf("all by fd, nothing left: %d\n",
           sync_cancel(0, fds[0], IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD, 0));
    /* The ASYNC_CANCEL op counts the same way. */
    {
        unsigned flags[2] = {IORING_ASYNC_CANCEL_ALL, IORING_ASYNC_CANCEL_ANY};
        struct io_uring_cqe *cqe;
        for (i = 0; i < 2; i++) {
            io_uring_prep_cancel64(io_uring_get_sqe(&ring), 0x89, flags[i]);
            io_uring_submit_and_wait(&ring, 1);
            if (io_uring_peek_cqe(&ring, &cqe))
                return 1;
            printf("ASYNC_CANCEL %s, nothing: %d\n", i ? "any" : "all", cqe->res);
            io_uring_cqe_seen(&ring, cqe);
        }
    }
    memset(&reg, 0, sizeof(reg));
    reg.addr = 0x89;
    reg.pad[3] = 1;
    printf("non-zero pad: %d\n", reg_sync_cancel(&reg));
    reg.pad[3] = 0;
    reg.pad2[2] = 1;
    printf("non-zero pad2: %d\n", reg_sync_cancel(&reg));
    reg.pad2[2] = 0;
    printf("nr_args 2: %ld\n", syscall(__NR_io_uring_register, ring.ring_fd,
                                       IORING_REGISTER_SYNC_CANCEL, &reg, 2) < 0 ? -(long)errno : 0L);
    printf("bad pointer: %ld\n", syscall(__NR_io_uring_register, ring.ring_fd,
                                         IORING_REGISTER_SYNC_CANCEL, (void *)8, 1) < 0 ? -(long)errno : 0L);
    return 0;
}
