/* OPENAT, OPENAT2, CLOSE, FIXED_FD_INSTALL and direct descriptors.
 * Run in an empty directory (argv[1]); prints CQE results, fd numbers and
 * file contents, so the native run and the sandboxed run can be compared. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct io_uring ring;

/* liburing 2.3 predates IORING_OP_FIXED_FD_INSTALL (Linux 6.8). */
#define OP_FIXED_FD_INSTALL 54
#define FIXED_FD_NO_CLOEXEC 1u

static void prep_fixed_fd_install(struct io_uring_sqe *sqe, int slot, unsigned flags)
{
    io_uring_prep_rw(OP_FIXED_FD_INSTALL, sqe, slot, NULL, 0, 0);
    sqe->flags = IOSQE_FIXED_FILE;
    sqe->rw_flags = flags;
}

static struct io_uring_cqe *one(const char *what)
{
    struct io_uring_cqe *cqe;
    int ret = io_uring_submit_and_wait(&ring, 1);
    if (ret < 0) {
        printf("%s: submit %d\n", what, ret);
        exit(1);
    }
    ret = io_uring_wait_cqe(&ring, &cqe);
    if (ret) {
        printf("%s: wait %d\n", what, ret);
        exit(1);
    }
    return cqe;
}

static int run(const char *what)
{
    struct io_uring_cqe *cqe = one(what);
    int res = cqe->res;
    printf("%s: res=%d\n", what, res);
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static void show_file(int fd, const char *what)
{
    char buf[64] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    printf("%s: read %zd '%s'\n", what, n, n > 0 ? buf : "");
}

int main(int argc, char **argv)
{
    struct io_uring_sqe *sqe;
    struct open_how how;
    int fd, dfd, ret;

    if (argc < 2 || chdir(argv[1])) {
        printf("need an empty directory\n");
        return 1;
    }
    if (io_uring_queue_init(8, &ring, 0))
        return 1;
    mkdir("sub", 0755);
    fd = open("sub/hello", O_CREAT | O_WRONLY, 0644);
    if (write(fd, "hello world", 11) != 11)
        return 1;
    close(fd);
    dfd = open("sub", O_RDONLY | O_DIRECTORY);

    /* openat relative to the cwd and to a dirfd; fd numbers are the lowest free */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0);
    fd = run("openat cwd");
    printf("lowest free fd: %d\n", fd == dfd + 1);
    show_file(fd, "openat cwd");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, dfd, "hello", O_RDONLY, 0);
    ret = run("openat dirfd");
    printf("next fd: %d\n", ret == fd + 1);
    show_file(ret, "openat dirfd");

    /* close through io_uring, then the number is reused */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close(sqe, fd);
    run("close");
    ret = fcntl(fd, F_GETFD);
    printf("fcntl after close: %d errno=%d\n", ret, errno);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY | O_CLOEXEC, 0);
    ret = run("reopen");
    printf("reused number: %d cloexec=%d\n", ret == fd, fcntl(ret, F_GETFD) & FD_CLOEXEC);
    close(ret);

    /* errors */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "sub/missing", O_RDONLY, 0);
    run("openat missing");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "", O_RDONLY, 0);
    run("openat empty path");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, (const char *)8, O_RDONLY, 0);
    run("openat bad pointer");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, 9999, "hello", O_RDONLY, 0);
    run("openat bad dirfd");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0);
    sqe->buf_index = 1;
    run("openat buf_index");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close(sqe, 9999);
    run("close bad fd");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close(sqe, ring.ring_fd);
    run("close ring fd");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close(sqe, dfd);
    sqe->off = 1;
    run("close reserved field");

    /* creating honours the umask */
    umask(027);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "created", O_CREAT | O_EXCL | O_WRONLY, 0666);
    fd = run("create");
    {
        struct stat st;
        fstat(fd, &st);
        printf("create mode: %o\n", st.st_mode & 0777);
    }
    close(fd);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "created", O_CREAT | O_EXCL | O_WRONLY, 0666);
    run("create exclusive again");

    /* openat2 */
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY;
    how.resolve = RESOLVE_BENEATH;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat2(sqe, dfd, "hello", &how);
    fd = run("openat2 beneath");
    show_file(fd, "openat2 beneath");
    close(fd);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat2(sqe, dfd, "../created", &how);
    run("openat2 escape");
    how.resolve = 0;
    how.flags = O_RDONLY | (1u << 30);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat2(sqe, dfd, "hello", &how);
    run("openat2 unknown flag");
    how.flags = O_RDONLY;
    how.mode = 0644;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat2(sqe, dfd, "hello", &how);
    run("openat2 mode without create");
    how.mode = 0;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat2(sqe, dfd, "hello", &how);
    sqe->len = 8;
    run("openat2 short how");

    /* a linked chain: the open runs after a timeout, while the task waits */
    {
        struct __kernel_timespec ts = {0, 20 * 1000 * 1000};
        struct io_uring_cqe *cqe;
        int i;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_timeout(sqe, &ts, 0, 0);
        sqe->flags |= IOSQE_IO_HARDLINK;
        sqe->user_data = 1;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0);
        sqe->user_data = 2;
        io_uring_submit(&ring);
        for (i = 0; i < 2; i++) {
            if (io_uring_wait_cqe(&ring, &cqe))
                return 1;
            printf("chain cqe %llu: %s\n", (unsigned long long)cqe->user_data,
                   cqe->user_data == 1 ? (cqe->res == -ETIME ? "ETIME" : "?")
                                       : (cqe->res >= 0 ? "fd" : "error"));
            if (cqe->user_data == 2 && cqe->res >= 0) {
                show_file(cqe->res, "chain open");
                close(cqe->res);
            }
            io_uring_cqe_seen(&ring, cqe);
        }
    }

    /* direct descriptors */
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat_direct(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0, 0);
    run("direct open without table");
    if (io_uring_register_files_sparse(&ring, 4))
        return 1;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat_direct(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0, 2);
    run("direct open slot 2");
    {
        char buf[32] = {0};
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, 2, buf, 5, 0);
        sqe->flags |= IOSQE_FIXED_FILE;
        run("read fixed slot 2");
        printf("data '%s'\n", buf);
    }
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat_direct(sqe, AT_FDCWD, "sub/hello", O_RDONLY | O_CLOEXEC, 0, 1);
    run("direct open with cloexec");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat_direct(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0, 9);
    run("direct open past table");
    for (ret = 0; ret < 5; ret++) {
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0);
        sqe->file_index = IORING_FILE_INDEX_ALLOC;
        run("direct open alloc");
    }
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close_direct(sqe, 1);
    run("close direct 1");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close_direct(sqe, 1);
    run("close direct 1 again");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close_direct(sqe, 7);
    run("close direct past table");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0);
    sqe->file_index = IORING_FILE_INDEX_ALLOC;
    run("direct open alloc after close");

    /* install a direct descriptor as a normal fd */
    sqe = io_uring_get_sqe(&ring);
    prep_fixed_fd_install(sqe, 2, 0);
    fd = run("fixed fd install");
    printf("installed cloexec=%d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    show_file(fd, "installed");
    close(fd);
    sqe = io_uring_get_sqe(&ring);
    prep_fixed_fd_install(sqe, 2, FIXED_FD_NO_CLOEXEC);
    fd = run("fixed fd install no cloexec");
    printf("installed cloexec=%d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    sqe = io_uring_get_sqe(&ring);
    prep_fixed_fd_install(sqe, 1, 0);
    run("fixed fd install empty slot");
    sqe = io_uring_get_sqe(&ring);
    prep_fixed_fd_install(sqe, 2, 0);
    sqe->flags &= ~IOSQE_FIXED_FILE;
    run("fixed fd install without fixed flag");

    /* allocation range */
    {
        ret = io_uring_register_file_alloc_range(&ring, 3, 1);
        printf("alloc range: %d\n", ret);
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_close_direct(sqe, 3);
        run("close direct 3");
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0);
        sqe->file_index = IORING_FILE_INDEX_ALLOC;
        run("alloc in range");
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_openat(sqe, AT_FDCWD, "sub/hello", O_RDONLY, 0);
        sqe->file_index = IORING_FILE_INDEX_ALLOC;
        run("alloc in full range");
        printf("alloc range past table: %d\n", io_uring_register_file_alloc_range(&ring, 3, 2));
    }
    io_uring_queue_exit(&ring);
    return 0;
}
