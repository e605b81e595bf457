/* Whose credentials a request runs with after the program dropped root for
 * good (setuid, not seteuid).  Linux: a personality registered while root
 * keeps root's credentials, so requests naming it still open, stat, create
 * and remove in a root-only directory; an SQPOLL ring runs every request
 * with its creator's credentials (the SQ thread's ctx->sq_creds), so a ring
 * set up as root keeps root's rights too.  A ring set up, or a personality
 * registered, after the drop has nobody's rights only.
 *
 * argv[1]: a directory to work in (0755).  Each line is a request's result
 * (a file's content for opens, else the CQE's res); the UNLINKAT after each
 * MKDIRAT removes what it made (and fails where that could not be made). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

static unsigned long long seq;

static int run(struct io_uring *r, struct io_uring_sqe *sqe, int pers)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {5, 0};
    unsigned long long ud = ++seq;
    int res;

    sqe->personality = pers;
    io_uring_sqe_set_data64(sqe, ud);
    io_uring_submit(r);
    if (io_uring_wait_cqe_timeout(r, &cqe, &ts))
        return -1000;
    res = cqe->user_data == ud ? cqe->res : -2000;
    io_uring_cqe_seen(r, cqe);
    return res;
}

static const char *content(struct io_uring *r, int res, int direct)
{
    static char buf[64];
    int n;

    if (res < 0) {
        snprintf(buf, sizeof(buf), "%d", res);
        return buf;
    }
    if (direct) {
        struct io_uring_sqe *s = io_uring_get_sqe(r);
        io_uring_prep_read(s, 0, buf, sizeof(buf) - 1, 0);
        s->flags |= IOSQE_FIXED_FILE;
        n = run(r, s, 0);
        s = io_uring_get_sqe(r);
        io_uring_prep_close_direct(s, 0);
        run(r, s, 0);
    } else {
        n = pread(res, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            n = -errno;
        close(res);
    }
    if (n < 0) {
        snprintf(buf, sizeof(buf), "read %d", n);
        return buf;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

/* The same requests on ring r, with personality pers (0: none). */
static void requests(const char *label, struct io_uring *r, int pers)
{
    static struct statx stx;
    struct io_uring_sqe *s;
    int res;

    s = io_uring_get_sqe(r);
    io_uring_prep_statx(s, AT_FDCWD, "priv/secret", 0, STATX_BASIC_STATS, &stx);
    printf("%s: STATX priv/secret: %d\n", label, run(r, s, pers));

    s = io_uring_get_sqe(r);
    io_uring_prep_openat_direct(s, AT_FDCWD, "priv/secret", O_RDONLY, 0, 0);
    res = run(r, s, pers);
    printf("%s: OPENAT direct priv/secret: %s\n", label, content(r, res, 1));

    s = io_uring_get_sqe(r);
    io_uring_prep_openat(s, AT_FDCWD, "priv/secret", O_RDONLY, 0);
    res = run(r, s, pers);
    printf("%s: OPENAT priv/secret: %s\n", label, content(r, res, 0));

    s = io_uring_get_sqe(r);
    io_uring_prep_mkdirat(s, AT_FDCWD, "priv/dir", 0755);
    res = run(r, s, pers);
    printf("%s: MKDIRAT priv/dir: %d\n", label, res);

    s = io_uring_get_sqe(r);
    io_uring_prep_unlinkat(s, AT_FDCWD, "priv/dir", AT_REMOVEDIR);
    res = run(r, s, pers);
    printf("%s: UNLINKAT priv/dir: %d\n", label, res);
}

int main(int argc, char **argv)
{
    struct io_uring plain, sqpoll, late_plain, late_sqpoll;
    struct io_uring_params p = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 1000};
    int root_pers, nobody_pers, fd;

    if (argc < 2 || chdir(argv[1]))
        return 2;
    mkdir("priv", 0700);
    fd = open("priv/secret", O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || write(fd, "secret\n", 7) != 7)
        return 1;
    close(fd);

    if (io_uring_queue_init(8, &plain, 0) || io_uring_register_files_sparse(&plain, 1) ||
        io_uring_queue_init_params(8, &sqpoll, &p) ||
        io_uring_register_files_sparse(&sqpoll, 1)) {
        printf("ring setup failed\n");
        return 1;
    }
    root_pers = io_uring_register_personality(&plain);
    requests("root, plain ring", &plain, 0);
    requests("root, SQPOLL ring", &sqpoll, 0);

    if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
        printf("cannot drop to nobody\n");
        return 1;
    }
    /* Nothing of root is left in this process: a new ring or personality
     * has nobody's rights. */
    nobody_pers = io_uring_register_personality(&plain);
    requests("nobody, plain ring", &plain, 0);
    requests("nobody, plain ring, nobody's personality", &plain, nobody_pers);
    requests("nobody, plain ring, root's personality", &plain, root_pers);
    requests("nobody, SQPOLL ring set up as root", &sqpoll, 0);
    /* Setting up a ring needs no privilege, nor does SQPOLL (Linux 5.11 on). */
    fd = io_uring_queue_init(8, &late_plain, 0);
    printf("nobody: ring setup: %d\n", fd);
    if (fd == 0 && io_uring_register_files_sparse(&late_plain, 1) == 0)
        requests("nobody, ring set up as nobody", &late_plain, 0);
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SQPOLL;
    p.sq_thread_idle = 1000;
    fd = io_uring_queue_init_params(8, &late_sqpoll, &p);
    printf("nobody: SQPOLL ring setup: %d\n", fd);
    if (fd == 0 && io_uring_register_files_sparse(&late_sqpoll, 1) == 0)
        requests("nobody, SQPOLL ring set up as nobody", &late_sqpoll, 0);
    return 0;
}
