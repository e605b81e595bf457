/* A path op whose dirfd is the io_uring fd itself (an anonymous inode, not a
 * directory): Linux fails a relative lookup from it with ENOTDIR and posts
 * the CQE like any other.  OPENAT2 with RESOLVE_* flags, as a direct
 * descriptor or with a personality, is the case that must not be lost; the
 * other path ops and open forms follow the same rule.  An absolute path
 * ignores the dirfd, unless BENEATH/IN_ROOT make the dirfd the root.  Each
 * request waits at most 1 s for its CQE (Linux answers in microseconds) and
 * prints "no cqe" otherwise: a lost request must not hang the program.  As
 * root, then after setuid(nobody).  argv[1]: an empty directory (the cwd). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

static struct io_uring ring;
static int pers;
static unsigned long long seq;

static void run(const char *who, const char *what, struct io_uring_sqe *sqe, int with_pers)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {1, 0};
    unsigned long long ud = ++seq;

    if (with_pers)
        sqe->personality = pers;
    io_uring_sqe_set_data64(sqe, ud);
    io_uring_submit(&ring);
    if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts)) {
        printf("%s: %s: no cqe\n", who, what);
        return;
    }
    if (cqe->user_data != ud)
        printf("%s: %s: cqe of another request\n", who, what);
    else if (cqe->res >= 0 && !strstr(what, "direct") && strstr(what, "OPEN"))
        printf("%s: %s: fd\n", who, what);      /* its number is not the point */
    else
        printf("%s: %s: %d\n", who, what, cqe->res);
    if (cqe->res >= 0 && !strstr(what, "direct") && strstr(what, "OPEN"))
        close(cqe->res);
    if (cqe->res >= 0 && strstr(what, "OPEN") && strstr(what, "direct")) {
        io_uring_cqe_seen(&ring, cqe);
        io_uring_prep_close_direct(io_uring_get_sqe(&ring), 0);
        io_uring_submit_and_wait(&ring, 1);
        io_uring_peek_cqe(&ring, &cqe);
    }
    io_uring_cqe_seen(&ring, cqe);
}

static void cases(const char *who)
{
    static struct open_how how;
    static struct statx stx;
    int rfd = ring.ring_fd;
    struct io_uring_sqe *s;

    static const struct { unsigned long long resolve; const char *name; } rs[] = {
        {RESOLVE_NO_MAGICLINKS, "NO_MAGICLINKS"}, {RESOLVE_NO_SYMLINKS, "NO_SYMLINKS"},
        {RESOLVE_NO_XDEV, "NO_XDEV"}, {RESOLVE_BENEATH, "BENEATH"},
        {RESOLVE_IN_ROOT, "IN_ROOT"}, {0, "0"},
    };
    char what[128];

    for (unsigned i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
        how = (struct open_how){.flags = O_RDONLY, .resolve = rs[i].resolve};
        snprintf(what, sizeof(what), "OPENAT2 direct %s ringfd:x", rs[i].name);
        s = io_uring_get_sqe(&ring);
        io_uring_prep_openat2_direct(s, rfd, "x", &how, 0);
        run(who, what, s, 0);
        snprintf(what, sizeof(what), "OPENAT2 personality %s ringfd:x", rs[i].name);
        s = io_uring_get_sqe(&ring);
        io_uring_prep_openat2(s, rfd, "x", &how);
        run(who, what, s, 1);
        snprintf(what, sizeof(what), "OPENAT2 %s ringfd:x", rs[i].name);
        s = io_uring_get_sqe(&ring);
        io_uring_prep_openat2(s, rfd, "x", &how);
        run(who, what, s, 0);
    }
    /* An absolute path never looks at the dirfd. */
    how = (struct open_how){.flags = O_RDONLY | O_DIRECTORY, .resolve = RESOLVE_NO_MAGICLINKS};
    s = io_uring_get_sqe(&ring);
    io_uring_prep_openat2_direct(s, rfd, "/", &how, 0);
    run(who, "OPENAT2 direct NO_MAGICLINKS ringfd:/", s, 0);
    /* BENEATH/IN_ROOT take the dirfd as the root even for an absolute path. */
    how = (struct open_how){.flags = O_RDONLY | O_DIRECTORY, .resolve = RESOLVE_IN_ROOT};
    s = io_uring_get_sqe(&ring);
    io_uring_prep_openat2_direct(s, rfd, "/", &how, 0);
    run(who, "OPENAT2 direct IN_ROOT ringfd:/", s, 0);

    s = io_uring_get_sqe(&ring);
    io_uring_prep_openat_direct(s, rfd, "x", O_RDONLY, 0, 0);
    run(who, "OPENAT direct ringfd:x", s, 0);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_openat(s, rfd, "x", O_RDONLY, 0);
    run(who, "OPENAT personality ringfd:x", s, 1);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_openat(s, rfd, "x", O_RDONLY, 0);
    run(who, "OPENAT ringfd:x", s, 0);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_statx(s, rfd, "x", 0, STATX_BASIC_STATS, &stx);
    run(who, "STATX ringfd:x", s, 0);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_statx(s, rfd, "x", 0, STATX_BASIC_STATS, &stx);
    run(who, "STATX personality ringfd:x", s, 1);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_mkdirat(s, rfd, "x", 0755);
    run(who, "MKDIRAT ringfd:x", s, 0);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_unlinkat(s, rfd, "x", 0);
    run(who, "UNLINKAT ringfd:x", s, 0);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_renameat(s, rfd, "x", rfd, "y", 0);
    run(who, "RENAMEAT ringfd:x ringfd:y", s, 0);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_symlinkat(s, "t", rfd, "x");
    run(who, "SYMLINKAT t ringfd:x", s, 0);
    s = io_uring_get_sqe(&ring);
    io_uring_prep_linkat(s, rfd, "x", rfd, "y", 0);
    run(who, "LINKAT ringfd:x ringfd:y", s, 0);
}

int main(int argc, char **argv)
{
    /* argv[1]: an empty directory to work in, should anything be made. */
    if (argc < 2 || chdir(argv[1]))
        return 2;
    if (io_uring_queue_init(8, &ring, 0) || io_uring_register_files_sparse(&ring, 1)) {
        printf("ring setup failed\n");
        return 1;
    }
    pers = io_uring_register_personality(&ring);
    cases("root");
    if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
        printf("cannot drop to nobody\n");
        return 1;
    }
    pers = io_uring_register_personality(&ring);
    cases("nobody");
    return 0;
}
