/* Lookups after chroot(2), by plain syscalls and by io_uring ops: absolute
 * paths start at the new root, '..' stops there, and a host path outside it
 * does not exist (liburing's sendmsg_fs_cve, CVE-2020-29373, is the SENDMSG
 * case).  argv[1]: an empty directory to use as the jail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static struct io_uring ring;
static int snd;

static int finish(void)
{
    struct io_uring_cqe *cqe;
    int res;

    io_uring_submit(&ring);
    if (io_uring_wait_cqe(&ring, &cqe))
        return -1000;
    res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static int uring_open(const char *path)
{
    io_uring_prep_openat(io_uring_get_sqe(&ring), AT_FDCWD, path, O_RDONLY, 0);
    return finish();
}

static int uring_statx(const char *path)
{
    static struct statx stx;
    io_uring_prep_statx(io_uring_get_sqe(&ring), AT_FDCWD, path, 0, STATX_SIZE, &stx);
    return finish();
}

static int uring_sendmsg(const char *path, int async)
{
    static struct sockaddr_un to;
    static char byte[1] = {'x'};
    static struct iovec iov = {byte, 1};
    static struct msghdr msg;
    struct io_uring_sqe *sqe;

    memset(&to, 0, sizeof(to));
    to.sun_family = AF_UNIX;
    strncpy(to.sun_path, path, sizeof(to.sun_path) - 1);
    msg.msg_name = &to;
    msg.msg_namelen = sizeof(to);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_sendmsg(sqe, snd, &msg, 0);
    if (async)
        sqe->flags |= IOSQE_ASYNC;
    return finish();
}

static void show(const char *what, int res)
{
    if (res >= 0 && strcasestr(what, "open"))
        printf("%s: ok\n", what);         /* an fd: its number is not the point */
    else
        printf("%s: %d\n", what, res);
}

static int sys(int ret)
{
    return ret < 0 ? -errno : ret;
}

int main(int argc, char **argv)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char path[512];
    int rcv;

    if (argc < 2)
        return 2;
    snprintf(path, sizeof(path), "%s/f", argv[1]);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    snprintf(path, sizeof(path), "%s/sub", argv[1]);
    mkdir(path, 0755);
    rcv = socket(AF_UNIX, SOCK_DGRAM, 0);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sock", argv[1]);
    if (bind(rcv, (struct sockaddr *)&addr, sizeof(addr)))
        return 3;
    snd = socket(AF_UNIX, SOCK_DGRAM, 0);

    if (chroot(argv[1]) || chdir("/sub")) {
        perror("chroot");
        return 1;
    }
    if (io_uring_queue_init(8, &ring, 0)) {
        printf("ring setup failed inside the chroot\n");
        return 1;
    }
    show("open /f", sys(open("/f", O_RDONLY)));
    show("open ../../../f", sys(open("../../../f", O_RDONLY)));
    show("open /etc/passwd", sys(open("/etc/passwd", O_RDONLY)));
    show("OPENAT /f", uring_open("/f"));
    show("OPENAT ../../f", uring_open("../../f"));
    show("OPENAT /etc/passwd", uring_open("/etc/passwd"));
    show("STATX /f", uring_statx("/f"));
    show("STATX /etc/passwd", uring_statx("/etc/passwd"));
    show("SENDMSG /sock", uring_sendmsg("/sock", 0));
    show("SENDMSG ../../sock (async)", uring_sendmsg("../../sock", 1));
    /* the socket's host path names nothing inside the jail */
    show("SENDMSG <host path of sock> (async)", uring_sendmsg(addr.sun_path, 1));
    return 0;
}
