/* IORING_OP_SOCKET and IORING_OP_ACCEPT (single, multishot, DONTWAIT, direct). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_MULTISHOT (1u << 0)
#define ACCEPT_DONTWAIT (1u << 1)

static struct io_uring ring;
static struct sockaddr_in addr;

static void submit(struct io_uring_sqe *sqe, unsigned long long ud)
{
    sqe->user_data = ud;
    if (io_uring_submit(&ring) != 1) {
        printf("submit failed\n");
        exit(1);
    }
}

static int reap(const char *what, unsigned *flags)
{
    struct io_uring_cqe *cqe;
    int res;
    if (io_uring_wait_cqe(&ring, &cqe)) {
        printf("%s: wait failed\n", what);
        exit(1);
    }
    res = cqe->res;
    printf("%s: user_data=%llu %s more=%d\n", what, (unsigned long long)cqe->user_data,
           res >= 0 ? "ok" : strerror(-res), !!(cqe->flags & IORING_CQE_F_MORE));
    if (flags)
        *flags = cqe->flags;
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static int connect_client(void)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&addr, sizeof(addr))) {
        printf("connect failed\n");
        exit(1);
    }
    return c;
}

int main(void)
{
    struct io_uring_sqe *sqe;
    struct sockaddr_in peer;
    socklen_t len = sizeof(addr), plen;
    int lfd, fd, c, i, tmp;
    unsigned flags;

    if (io_uring_queue_init(16, &ring, 0))
        return 1;

    /* SOCKET */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_socket(sqe, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, 0);
    submit(sqe, 1);
    lfd = reap("socket", NULL);
    printf("socket cloexec=%d\n", fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_socket(sqe, 12345, SOCK_STREAM, 0, 0);
    submit(sqe, 2);
    reap("socket bad domain", NULL);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_socket(sqe, AF_INET, SOCK_STREAM | 0x100, 0, 0);
    submit(sqe, 3);
    reap("socket bad flags", NULL);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 16) ||
        getsockname(lfd, (struct sockaddr *)&addr, &len))
        return 1;

    /* DONTWAIT with nothing pending */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
    sqe->ioprio = ACCEPT_DONTWAIT;
    submit(sqe, 4);
    reap("accept dontwait", NULL);

    /* an accept that waits for the connection */
    sqe = io_uring_get_sqe(&ring);
    plen = sizeof(peer);
    io_uring_prep_accept(sqe, lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK);
    submit(sqe, 5);
    c = connect_client();
    fd = reap("accept", NULL);
    printf("accepted: family=%d plen=%u nonblock=%d\n", peer.sin_family, plen,
           !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    if (write(c, "ping", 4) != 4)
        return 1;
    {
        char buf[8] = {0};
        usleep(10000);
        printf("read accepted: %zd '%s'\n", read(fd, buf, 7), buf);
    }
    close(c);
    close(fd);

    /* multishot: three connections, three CQEs with F_MORE, then cancel */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
    sqe->ioprio = ACCEPT_MULTISHOT;
    submit(sqe, 6);
    for (i = 0; i < 3; i++) {
        c = connect_client();
        fd = reap("multishot accept", &flags);
        close(fd);
        close(c);
    }
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_cancel64(sqe, 6, 0);
    submit(sqe, 7);
    reap("cancel multishot", NULL);
    reap("cancel multishot", NULL);

    /* errors */
    tmp = open("/dev/null", O_RDONLY);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_accept(sqe, tmp, NULL, NULL, 0);
    submit(sqe, 8);
    reap("accept on a file", NULL);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_accept(sqe, lfd, NULL, NULL, 0x4000);
    submit(sqe, 9);
    reap("accept bad flags", NULL);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
    sqe->len = 1;
    submit(sqe, 10);
    reap("accept reserved len", NULL);

    /* direct descriptors */
    if (io_uring_register_files_sparse(&ring, 4))
        return 1;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_accept_direct(sqe, lfd, NULL, NULL, 0, 1);
    submit(sqe, 11);
    c = connect_client();
    reap("accept direct slot 1", NULL);
    if (write(c, "direct", 6) != 6)
        return 1;
    {
        char buf[8] = {0};
        usleep(10000);
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, 1, buf, 7, 0);
        sqe->flags |= IOSQE_FIXED_FILE;
        submit(sqe, 12);
        printf("read via slot: %d '%s'\n", reap("read direct", NULL), buf);
    }
    close(c);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_socket_direct(sqe, AF_INET, SOCK_DGRAM, 0, 2, 0);
    submit(sqe, 13);
    reap("socket direct slot 2", NULL);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_socket_direct_alloc(sqe, AF_INET, SOCK_DGRAM, 0, 0);
    submit(sqe, 14);
    printf("alloc slot: %d\n", reap("socket direct alloc", NULL));
    io_uring_queue_exit(&ring);
    return 0;
}
