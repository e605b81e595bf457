/* File ops through io_uring: SYNC_FILE_RANGE, FALLOCATE, FADVISE, FTRUNCATE,
 * SPLICE and TEE, including their SQE checks and the cases where a splice or
 * tee has to wait for a pipe.  argv[1]: a directory to work in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Not in every liburing's headers. */
#define OP_FTRUNCATE 55

static struct io_uring ring;

static void show_cqe(const char *what)
{
    struct io_uring_cqe *cqe;
    if (io_uring_wait_cqe(&ring, &cqe)) {
        printf("%s: no cqe\n", what);
        return;
    }
    printf("%s: user_data=%llu res=%d\n", what, (unsigned long long)cqe->user_data, cqe->res);
    io_uring_cqe_seen(&ring, cqe);
}

static int run(const char *what, struct io_uring_sqe *sqe)
{
    struct io_uring_cqe *cqe;
    int res;
    sqe->user_data = 7;
    if (io_uring_submit(&ring) != 1 || io_uring_wait_cqe(&ring, &cqe)) {
        printf("%s: submit failed\n", what);
        return -1000;
    }
    res = cqe->res;
    printf("%s: user_data=%llu res=%d\n", what, (unsigned long long)cqe->user_data, res);
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

/* Is there a completion already?  (A request that must wait has none.) */
static void peek(const char *what)
{
    struct io_uring_cqe *cqe;
    usleep(100000);
    if (io_uring_peek_cqe(&ring, &cqe) == 0) {
        printf("%s: early cqe res=%d\n", what, cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    } else {
        printf("%s: still waiting\n", what);
    }
}

static long long size_of(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return (long long)st.st_size;
}

static void show_pipe(const char *what, int fd)
{
    char buf[256];
    int fl = fcntl(fd, F_GETFL);
    ssize_t n;
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    n = read(fd, buf, sizeof(buf) - 1);
    fcntl(fd, F_SETFL, fl);
    if (n < 0) {
        printf("%s: read errno=%d\n", what, errno);
        return;
    }
    buf[n] = 0;
    printf("%s: %zd bytes \"%s\"\n", what, n, buf);
}

static void show_file(const char *what, int fd, off_t off, size_t len)
{
    char buf[256];
    ssize_t n = pread(fd, buf, len, off);
    if (n < 0)
        n = 0;
    buf[n] = 0;
    printf("%s: \"%s\" size=%lld pos=%lld\n", what, buf, size_of(fd),
           (long long)lseek(fd, 0, SEEK_CUR));
}

static struct io_uring_sqe *prep_ftruncate(int fd, unsigned long long len)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_rw(OP_FTRUNCATE, sqe, fd, NULL, 0, len);
    return sqe;
}

static void sync_alloc_advise(int fd, int rfd)
{
    struct io_uring_sqe *sqe;

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_sync_file_range(sqe, fd, 8192, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    run("sync_file_range", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_sync_file_range(sqe, fd, 8192, 0, 0);
    sqe->addr = 1;
    run("sync_file_range reserved addr", sqe);

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, FALLOC_FL_KEEP_SIZE, 8192, 8192);
    run("fallocate keep size", sqe);
    printf("size: %lld\n", size_of(fd));
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
    run("fallocate punch hole", sqe);
    {
        char b[2] = {1, 1};
        if (pread(fd, &b[0], 1, 0) == 1 && pread(fd, &b[1], 1, 4096) == 1)
            printf("after punch: byte 0=%d byte 4096=%c\n", b[0], b[1]);
    }
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, 0x1000, 0, 4096);
    run("fallocate bad mode", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, rfd, 0, 0, 4096);
    run("fallocate read-only fd", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, 0, 0, 4096);
    sqe->splice_fd_in = 1;
    run("fallocate reserved splice_fd_in", sqe);

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fadvise(sqe, fd, 0, 8192, POSIX_FADV_WILLNEED);
    run("fadvise willneed", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fadvise(sqe, fd, 0, 8192, POSIX_FADV_SEQUENTIAL);
    sqe->buf_index = 1;
    run("fadvise reserved buf_index", sqe);

    /* The ring's own fd: an anonymous inode with no storage. */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_sync_file_range(sqe, ring.ring_fd, 4096, 0, 0);
    run("sync_file_range ring fd", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, ring.ring_fd, 0, 0, 4096);
    run("fallocate ring fd", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fadvise(sqe, ring.ring_fd, 0, 4096, POSIX_FADV_DONTNEED);
    run("fadvise ring fd", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fadvise(sqe, ring.ring_fd, 0, 4096, 77);
    run("fadvise ring fd bad advice", sqe);
}

static void truncate_ops(int fd, int rfd, int p[2])
{
    struct io_uring_sqe *sqe;

    run("ftruncate grow", prep_ftruncate(fd, 20000));
    printf("size: %lld\n", size_of(fd));
    run("ftruncate shrink", prep_ftruncate(fd, 100));
    printf("size: %lld\n", size_of(fd));
    run("ftruncate pipe", prep_ftruncate(p[1], 10));
    run("ftruncate read-only fd", prep_ftruncate(rfd, 10));
    run("ftruncate negative", prep_ftruncate(fd, -5LL));
    run("ftruncate bad fd", prep_ftruncate(999, 10));
    run("ftruncate ring fd", prep_ftruncate(ring.ring_fd, 10));
    sqe = prep_ftruncate(fd, 10);
    sqe->len = 1;
    run("ftruncate reserved len", sqe);
    sqe = prep_ftruncate(fd, 10);
    sqe->rw_flags = 1;
    run("ftruncate reserved rw_flags", sqe);
    sqe = prep_ftruncate(fd, 10);
    sqe->addr3 = 1;
    run("ftruncate reserved addr3", sqe);
    printf("size: %lld\n", size_of(fd));
}

/* Growing a file past RLIMIT_FSIZE fails with EFBIG, after the other checks. */
static void fsize_limit(int fd, int rfd, int p[2])
{
    struct io_uring_sqe *sqe;
    struct rlimit rl;

    rl.rlim_cur = rl.rlim_max = 1 << 20;
    setrlimit(RLIMIT_FSIZE, &rl);
    signal(SIGXFSZ, SIG_IGN);
    run("ftruncate past RLIMIT_FSIZE", prep_ftruncate(fd, 2 << 20));
    run("ftruncate read-only past RLIMIT_FSIZE", prep_ftruncate(rfd, 2 << 20));
    run("ftruncate within RLIMIT_FSIZE", prep_ftruncate(fd, 1000));
    printf("size: %lld\n", size_of(fd));
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, FALLOC_FL_ZERO_RANGE, 0, 2 << 20);
    run("fallocate zero range past RLIMIT_FSIZE", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 2 << 20);
    run("fallocate zero range keep size past RLIMIT_FSIZE", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, rfd, 0, 0, 2 << 20);
    run("fallocate read-only past RLIMIT_FSIZE", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, p[1], 0, 0, 2 << 20);
    run("fallocate pipe past RLIMIT_FSIZE", sqe);
    printf("size: %lld\n", size_of(fd));
}

static void splice_ops(int dir_fd)
{
    struct io_uring_sqe *sqe;
    int src, dst, p[2], q[2], fds[2], sv[2];
    static const char text[] = "hello splice world";

    src = openat(dir_fd, "src", O_CREAT | O_RDWR | O_TRUNC, 0644);
    dst = openat(dir_fd, "dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (src < 0 || dst < 0 || pipe(p) || pipe(q))
        return;
    if (write(src, text, strlen(text)) != (ssize_t)strlen(text))
        return;

    /* file -> pipe at an explicit offset: the file position stays put. */
    lseek(src, 0, SEEK_SET);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 6, p[1], -1, 6, 0);
    run("splice file+off -> pipe", sqe);
    printf("src pos: %lld\n", (long long)lseek(src, 0, SEEK_CUR));
    /* pipe -> file at an explicit offset. */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, p[0], -1, dst, 100, 64, 0);
    run("splice pipe -> file+off", sqe);
    show_file("dst", dst, 100, 64);

    /* Without offsets: both file positions advance. */
    lseek(src, 13, SEEK_SET);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, -1, p[1], -1, 64, 0);
    run("splice file -> pipe", sqe);
    printf("src pos: %lld\n", (long long)lseek(src, 0, SEEK_CUR));
    lseek(dst, 2, SEEK_SET);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, p[0], -1, dst, -1, 64, 0);
    run("splice pipe -> file", sqe);
    show_file("dst", dst, 2, 8);

    /* The input as a registered file. */
    fds[0] = -1;
    fds[1] = src;
    if (io_uring_register_files(&ring, fds, 2) == 0) {
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_splice(sqe, 1, 0, p[1], -1, 5, SPLICE_F_FD_IN_FIXED);
        run("splice fixed in", sqe);
        show_pipe("pipe", p[0]);
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_splice(sqe, 0, 0, p[1], -1, 5, SPLICE_F_FD_IN_FIXED);
        run("splice empty fixed slot", sqe);
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_splice(sqe, 9, 0, p[1], -1, 5, SPLICE_F_FD_IN_FIXED);
        run("splice fixed index out of range", sqe);
        io_uring_unregister_files(&ring);
    }

    /* tee duplicates the pipe's data without consuming it. */
    if (write(p[1], "teedata", 7) != 7)
        return;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_tee(sqe, p[0], q[1], 64, 0);
    run("tee", sqe);
    show_pipe("tee copy", q[0]);
    show_pipe("tee source", p[0]);

    /* Errors. */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, 999, -1, p[1], -1, 4, 0);
    run("splice bad fd_in", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 0, 998, -1, 4, 0);
    run("splice bad fd_out", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 0, dst, 0, 4, 0);
    run("splice file -> file", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 0, dst, 0, 0, 0);
    run("splice zero length file -> file", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, 999, 0, dst, 0, 0, 0);
    run("splice zero length bad fd_in", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 0, p[1], 5, 4, 0);
    run("splice offset on a pipe", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 0, p[1], -1, 4, 0x100);
    run("splice unknown flags", sqe);
    show_pipe("pipe", p[0]);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_tee(sqe, p[0], q[1], 4, 0);
    sqe->off = 1;
    run("tee reserved off", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_tee(sqe, p[0], q[1], 4, 0);
    sqe->splice_off_in = 1;
    run("tee reserved off_in", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_tee(sqe, src, q[1], 4, 0);
    run("tee from a file", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, ring.ring_fd, -1, p[1], -1, 4, 0);
    run("splice from a ring fd", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 0, ring.ring_fd, -1, 4, 0);
    run("splice into a ring fd", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, p[0], -1, dst, 0, 4, SPLICE_F_NONBLOCK);
    run("splice empty pipe NONBLOCK", sqe);

    /* A short splice fails its link. */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 10, p[1], -1, 100, 0);
    sqe->flags |= IOSQE_IO_LINK;
    sqe->user_data = 1;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 2;
    io_uring_submit(&ring);
    show_cqe("short splice");
    show_cqe("linked nop");
    show_pipe("pipe", p[0]);

    /* Splice from an empty pipe waits for data (Linux never fails it with EAGAIN). */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, p[0], -1, dst, 0, 64, 0);
    sqe->user_data = 3;
    io_uring_submit(&ring);
    peek("splice from empty pipe");
    if (write(p[1], "late", 4) != 4)
        return;
    show_cqe("splice from empty pipe");
    show_file("dst", dst, 0, 4);

    /* Splice into a full pipe waits for room. */
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    {
        char fill[4096];
        memset(fill, 'x', sizeof(fill));
        if (write(p[1], fill, sizeof(fill)) != (ssize_t)sizeof(fill))
            return;
    }
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, src, 0, p[1], -1, 5, 0);
    sqe->user_data = 4;
    io_uring_submit(&ring);
    peek("splice into full pipe");
    {
        char drain[4096];
        if (read(p[0], drain, sizeof(drain)) != (ssize_t)sizeof(drain))
            return;
    }
    show_cqe("splice into full pipe");
    show_pipe("pipe", p[0]);

    /* tee from an empty pipe waits for data too. */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_tee(sqe, p[0], q[1], 64, 0);
    sqe->user_data = 5;
    io_uring_submit(&ring);
    peek("tee from empty pipe");
    if (write(p[1], "later", 5) != 5)
        return;
    show_cqe("tee from empty pipe");
    show_pipe("tee copy", q[0]);

    show_pipe("pipe", p[0]);

    /* Socket -> pipe waits for the socket; pipe -> socket sends. */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, sv[0], -1, p[1], -1, 64, 0);
    sqe->user_data = 6;
    io_uring_submit(&ring);
    peek("splice from empty socket");
    if (write(sv[1], "sock", 4) != 4)
        return;
    show_cqe("splice from empty socket");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, p[0], -1, sv[0], -1, 4, 0);
    run("splice pipe -> socket", sqe);
    {
        char b[8] = {0};
        if (read(sv[1], b, sizeof(b) - 1) > 0)
            printf("socket got: \"%s\"\n", b);
    }
    close(sv[0]);
    close(sv[1]);

    /* Writer closed: a splice from the empty pipe returns 0 at once. */
    close(p[1]);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_splice(sqe, p[0], -1, dst, 0, 64, 0);
    run("splice from pipe at EOF", sqe);
    close(p[0]);
    close(q[0]);
    close(q[1]);
    close(src);
    close(dst);
}

int main(int argc, char **argv)
{
    int fd, rfd, dir_fd, p[2];
    char buf[8192];

    if (argc < 2 || chdir(argv[1]) || io_uring_queue_init(8, &ring, 0) || pipe(p))
        return 1;
    dir_fd = open(".", O_DIRECTORY);
    fd = open("file", O_CREAT | O_RDWR | O_TRUNC, 0644);
    memset(buf, 'a', sizeof(buf));
    if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
        return 1;
    rfd = open("file", O_RDONLY);

    sync_alloc_advise(fd, rfd);
    truncate_ops(fd, rfd, p);
    splice_ops(dir_fd);
    fsize_limit(fd, rfd, p);
    io_uring_queue_exit(&ring);
    return 0;
}
