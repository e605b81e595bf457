/* IORING_OP_EPOLL_CTL: interest-list changes made through io_uring are the
 * child's own (seen by epoll_wait and by a later epoll_ctl(2)). */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static struct io_uring ring;

static int ctl(const char *what, int epfd, int fd, int op, struct epoll_event *ev)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    struct io_uring_cqe *cqe;
    int res;
    io_uring_prep_epoll_ctl(sqe, epfd, fd, op, ev);
    sqe->user_data = 77;
    if (io_uring_submit_and_wait(&ring, 1) != 1 || io_uring_wait_cqe(&ring, &cqe))
        return -1000;
    res = cqe->res;
    printf("%s: user_data=%llu res=%d\n", what, (unsigned long long)cqe->user_data, res);
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

int main(void)
{
    struct epoll_event ev, out[4];
    int epfd, p[2], n;

    if (io_uring_queue_init(8, &ring, 0) || pipe(p))
        return 1;
    epfd = epoll_create1(0);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = 0xabcdef;
    ctl("add", epfd, p[0], EPOLL_CTL_ADD, &ev);
    ev.data.u64 = 0;       /* changing it after submission must not matter */
    n = epoll_wait(epfd, out, 4, 0);
    printf("wait before write: %d\n", n);
    if (write(p[1], "x", 1) != 1)
        return 1;
    n = epoll_wait(epfd, out, 4, 0);
    printf("wait after write: %d events=%x data=%llx\n", n, n > 0 ? out[0].events : 0,
           n > 0 ? (unsigned long long)out[0].data.u64 : 0ULL);
    ctl("add again", epfd, p[0], EPOLL_CTL_ADD, &ev);
    ev.events = EPOLLOUT;
    ctl("mod", epfd, p[0], EPOLL_CTL_MOD, &ev);
    n = epoll_wait(epfd, out, 4, 0);
    printf("wait after mod: %d\n", n);
    printf("epoll_ctl(2) del after io_uring add: %d\n", epoll_ctl(epfd, EPOLL_CTL_DEL, p[0], NULL));
    ctl("del again", epfd, p[0], EPOLL_CTL_DEL, NULL);
    ctl("bad epfd", 999, p[0], EPOLL_CTL_ADD, &ev);
    ctl("epoll on itself", epfd, epfd, EPOLL_CTL_ADD, &ev);
    ctl("bad event pointer", epfd, p[1], EPOLL_CTL_ADD, (struct epoll_event *)16);
    ctl("bad op", epfd, p[1], 42, &ev);
    io_uring_queue_exit(&ring);
    return 0;
}
