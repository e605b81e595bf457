/* SYNC_FILE_RANGE, FALLOCATE and FADVISE through io_uring. argv[1]: a directory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static struct io_uring ring;

static int run(const char *what, struct io_uring_sqe *sqe)
{
    struct io_uring_cqe *cqe;
    int res;
    sqe->user_data = 3;
    if (io_uring_submit_and_wait(&ring, 1) != 1 || io_uring_wait_cqe(&ring, &cqe))
        return -1000;
    res = cqe->res;
    printf("%s: user_data=%llu res=%d\n", what, (unsigned long long)cqe->user_data, res);
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static long long size_of(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return (long long)st.st_size;
}

int main(int argc, char **argv)
{
    struct io_uring_sqe *sqe;
    struct rlimit rl;
    int fd, p[2];

    if (argc < 2 || chdir(argv[1]) || io_uring_queue_init(4, &ring, 0) || pipe(p))
        return 1;
    fd = open("file", O_CREAT | O_RDWR | O_TRUNC, 0644);

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, 0, 0, 65536);
    run("fallocate", sqe);
    printf("size: %lld\n", size_of(fd));
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, FALLOC_FL_KEEP_SIZE, 65536, 65536);
    run("fallocate keep size", sqe);
    printf("size: %lld\n", size_of(fd));
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
    run("punch hole", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE, 0, 4096);
    run("punch hole without keep size", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, p[1], 0, 0, 4096);
    run("fallocate on a pipe", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, 0, 0, 4096);
    sqe->rw_flags = 1;
    run("fallocate reserved field", sqe);
    rl.rlim_cur = rl.rlim_max = 1 << 20;
    setrlimit(RLIMIT_FSIZE, &rl);
    signal(SIGXFSZ, SIG_IGN);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fallocate(sqe, fd, 0, 0, 2 << 20);
    run("fallocate past RLIMIT_FSIZE", sqe);

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_sync_file_range(sqe, fd, 4096, 0, SYNC_FILE_RANGE_WRITE);
    run("sync_file_range", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_sync_file_range(sqe, fd, 4096, 0, 0x100);
    run("sync_file_range bad flags", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_sync_file_range(sqe, p[0], 4096, 0, SYNC_FILE_RANGE_WRITE);
    run("sync_file_range on a pipe", sqe);

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fadvise(sqe, fd, 0, 4096, POSIX_FADV_DONTNEED);
    run("fadvise", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fadvise(sqe, fd, 0, 4096, 99);
    run("fadvise bad advice", sqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fadvise(sqe, p[0], 0, 4096, POSIX_FADV_NORMAL);
    run("fadvise on a pipe", sqe);
    io_uring_queue_exit(&ring);
    return 0;
}
