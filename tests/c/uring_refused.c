/* Does the host let this process have an io_uring?  Prints one line per way
 * of asking -- the raw io_uring_setup(2) syscall and liburing's
 * io_uring_queue_init() -- with "ok" or the errno's name, and exits 0 either
 * way: the caller decides what is expected (inside a container's default
 * seccomp profile: refused; under pysentry: ok). */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    default: return strerror(e);
    }
}

int main(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    long fd = syscall(__NR_io_uring_setup, 4, &p);
    if (fd >= 0) {
        printf("io_uring_setup: ok\n");
        close((int)fd);
    } else {
        printf("io_uring_setup: %s\n", errname(errno));
    }

    struct io_uring ring;
    int ret = io_uring_queue_init(4, &ring, 0);
    if (ret == 0) {
        printf("io_uring_queue_init: ok\n");
        io_uring_queue_exit(&ring);
    } else {
        printf("io_uring_queue_init: %s\n", errname(-ret));
    }
    return 0;
}
