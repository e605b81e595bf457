/* What /proc shows for an io_uring fd: readlink of its /proc/<pid>/fd entry
 * reached every way a program (or ls -l, lsof) does -- /proc/self,
 * /proc/thread-self, /proc/<pid>, /proc/<pid>/task/<tid>, relative to a
 * directory fd and to the cwd, with a buffer too small, through a dup and
 * from a forked child -- next to an eventfd of the program's own, which must
 * keep its own name.  Output is compared with Linux's. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, ssize_t n, const char *buf)
{
    if (n < 0)
        printf("%s: %s\n", what, strerror(errno));
    else
        printf("%s: %zd \"%.*s\"\n", what, n, (int)n, buf);
}

static void link_of(const char *what, const char *path, size_t size)
{
    char buf[256];
    memset(buf, '#', sizeof(buf));
    show(what, readlink(path, buf, size), buf);
}

int main(void)
{
    struct io_uring ring;
    char path[128], buf[256];
    if (io_uring_queue_init(4, &ring, 0) != 0) {
        printf("io_uring_queue_init failed\n");
        return 1;
    }
    int fd = ring.ring_fd;
    int efd = eventfd(0, 0);
    pid_t pid = getpid();
    pid_t tid = syscall(SYS_gettid);

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    link_of("self", path, sizeof(buf));
    link_of("self, 15 bytes", path, 15);
    link_of("self, 20 bytes", path, 20);
    link_of("self, 5 bytes", path, 5);
    snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", fd);
    link_of("thread-self", path, sizeof(buf));
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
    link_of("pid", path, sizeof(buf));
    snprintf(path, sizeof(path), "/proc/%d/task/%d/fd/%d", pid, tid, fd);
    link_of("pid/task/tid", path, sizeof(buf));
    snprintf(path, sizeof(path), "/proc/self/fd/../fd/%d", fd);
    link_of("self/fd/../fd", path, sizeof(buf));
    snprintf(path, sizeof(path), "/proc/self/fd/%d", efd);
    link_of("the program's eventfd", path, sizeof(buf));

    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof(path), "%d", fd);
    memset(buf, '#', sizeof(buf));
    show("readlinkat(dirfd)", readlinkat(dir, path, buf, sizeof(buf)), buf);
    snprintf(path, sizeof(path), "%d", efd);
    show("readlinkat(dirfd), eventfd", readlinkat(dir, path, buf, sizeof(buf)), buf);
    close(dir);

    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    chdir("/proc/self/fd");
    snprintf(path, sizeof(path), "%d", fd);
    link_of("relative to the cwd", path, sizeof(buf));
    fchdir(cwd);
    close(cwd);

    int dup_fd = dup(fd);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", dup_fd);
    link_of("dup", path, sizeof(buf));

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
        link_of("child, the parent's fd", path, sizeof(buf));
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        link_of("child, its inherited fd", path, sizeof(buf));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);

    close(dup_fd);
    io_uring_queue_exit(&ring);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    link_of("after close", path, sizeof(buf));
    return 0;
}
