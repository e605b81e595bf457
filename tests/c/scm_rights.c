/* RECVMSG receiving SCM_RIGHTS: the fds land in the receiver's fd table at
 * the lowest free numbers (close-on-exec with MSG_CMSG_CLOEXEC), and only as
 * many as fit in msg_control (the rest are closed, MSG_CTRUNC). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static struct io_uring ring;
static int sv[2];

static void send_fds(int *fds, int n)
{
    char byte = 'm', buf[CMSG_SPACE(4 * sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {0};
    struct cmsghdr *cm;

    memset(buf, 0, sizeof(buf));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
    if (sendmsg(sv[1], &msg, 0) != 1)
        perror("sendmsg");
}

static void recv_fds(const char *what, size_t controllen, unsigned flags, int *got)
{
    char byte = 0, buf[256];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {0};
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    struct cmsghdr *cm;
    int i, n = 0;

    memset(buf, 0, sizeof(buf));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = controllen;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recvmsg(sqe, sv[0], &msg, flags);
    sqe->user_data = 5;
    io_uring_submit_and_wait(&ring, 1);
    if (io_uring_peek_cqe(&ring, &cqe))
        return;
    printf("%s: res=%d byte=%c ctrunc=%d controllen=%zu", what, cqe->res, byte,
           !!(msg.msg_flags & MSG_CTRUNC), (size_t)msg.msg_controllen);
    io_uring_cqe_seen(&ring, cqe);
    for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            printf(" fd=%d(cloexec=%d)", fd, !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
            got[n++] = fd;
        }
    }
    printf("\n");
}

int main(void)
{
    int pfd[2], efd, fds[3], got[4] = {-1, -1, -1, -1};
    char buf[8] = {0};
    unsigned long long v;

    if (io_uring_queue_init(4, &ring, 0) || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || pipe(pfd))
        return 1;
    efd = eventfd(5, 0);
    fds[0] = pfd[0];
    fds[1] = efd;
    fds[2] = pfd[1];

    send_fds(fds, 3);
    recv_fds("all three, CMSG_CLOEXEC", CMSG_SPACE(3 * sizeof(int)), MSG_CMSG_CLOEXEC, got);
    /* They are the same files: the pipe carries data, the eventfd counts. */
    if (write(got[2], "hi", 2) == 2 && read(pfd[0], buf, 2) == 2)
        printf("through received pipe write end: %s\n", buf);
    if (read(got[1], &v, 8) == 8)
        printf("received eventfd value: %llu\n", v);
    close(got[0]);
    close(got[1]);
    close(got[2]);

    send_fds(fds, 3);
    recv_fds("room for one", CMSG_LEN(sizeof(int)), 0, got);
    close(got[0]);

    send_fds(fds, 2);
    recv_fds("no room at all", 8, 0, got);

    send_fds(fds, 1);
    recv_fds("no control buffer", 0, 0, got);
    return 0;
}
