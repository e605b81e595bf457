/* OPENAT2's RESOLVE_* flags inside a chroot, by every way an io_uring open
 * can run: task work (the fd lands in the fd table), a direct descriptor
 * (sqe->file_index), a registered personality (sqe->personality), and the
 * openat2(2) syscall itself as the control.  Linux walks each of them from the
 * program's root and cwd: '..' stops at the jail's root, absolute paths and
 * absolute symlink targets start there, and a host path outside the jail does
 * not exist.  A lookup that re-walks the path from the host's '/' (the
 * Sentry's own root) escapes: it reads, or creates, the file outside.
 *
 * argv[1]: the "outside" directory, prepared by the test: it holds jail/ and
 * jail/proc/ (empty, or with procfs mounted on it).  The program writes f
 * ("outside") there, jail/f ("inside"), jail/sub/f ("sub") and symlinks, then
 * does chroot(jail); chdir("/"), keeping a dirfd on the outside directory
 * (which Linux lets /proc/self/fd/N follow out of the jail).  Every open
 * prints WHICH file it reached (its content) or the negative errno; then
 * O_CREAT|O_EXCL opens print whether the new file appeared in the jail or
 * outside it.  All of it runs as root, then again after setuid(nobody) with
 * a personality registered as nobody. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOBODY 65534

static struct io_uring ring;
static int pers;                /* a personality with the current credentials */
static int subfd;               /* jail/sub, a dirfd inside the jail */
static int outfd;               /* the outside directory (O_PATH), for magic links */
static int outdir;              /* the outside directory, to check for created files */
static char side[512];          /* its host path */
static unsigned long long seq;

enum mode { SYSCALL, TASK, DIRECT, PERSONALITY };
static const char *mode_name[] = {"openat2(2)", "OPENAT2", "OPENAT2 direct", "OPENAT2 personality"};

static const struct { unsigned long long flags; const char *name; } resolves[] = {
    {0, "0"},
    {RESOLVE_NO_XDEV, "NO_XDEV"},
    {RESOLVE_NO_MAGICLINKS, "NO_MAGICLINKS"},
    {RESOLVE_NO_SYMLINKS, "NO_SYMLINKS"},
    {RESOLVE_BENEATH, "BENEATH"},
    {RESOLVE_IN_ROOT, "IN_ROOT"},
    {RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS, "NO_XDEV|NO_MAGICLINKS"},
    {RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS, "IN_ROOT|NO_SYMLINKS"},
};
#define NRESOLVES (int)(sizeof(resolves) / sizeof(resolves[0]))

/* Submit what is queued and return the one CQE's result; -1000 when none
 * comes within 5 s (a lost request must not hang the test). */
static int run(struct io_uring_sqe *sqe)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {5, 0};
    unsigned long long ud = ++seq;
    int res;

    io_uring_sqe_set_data64(sqe, ud);
    io_uring_submit(&ring);
    if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
        return -1000;
    res = cqe->user_data == ud ? cqe->res : -2000;
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static void close_slot(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close_direct(sqe, 0);
    run(sqe);
}

static int do_open_once(enum mode mode, int dirfd, const char *path, int flags,
                        unsigned long long resolve);

/* Open path by `mode`; returns an fd (slot 0 for DIRECT) or -errno.  A
 * scoped lookup (BENEATH, IN_ROOT) that meets '..' fails with EAGAIN when
 * anything on the system renamed or mounted meanwhile (handle_dots()'s
 * rename_lock/mount_lock check); openat2(2) says to retry, so we do. */
static int do_open(enum mode mode, int dirfd, const char *path, int flags, unsigned long long resolve)
{
    int fd, tries = 0;

    do
        fd = do_open_once(mode, dirfd, path, flags, resolve);
    while (fd == -EAGAIN && (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) && ++tries < 100);
    return fd;
}

static int do_open_once(enum mode mode, int dirfd, const char *path, int flags,
                        unsigned long long resolve)
{
    struct open_how how = {.flags = flags, .mode = (flags & O_CREAT) ? 0644 : 0, .resolve = resolve};
    struct io_uring_sqe *sqe;
    int fd;

    if (mode == SYSCALL) {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
    }
    sqe = io_uring_get_sqe(&ring);
    if (mode == DIRECT) {
        io_uring_prep_openat2_direct(sqe, dirfd, path, &how, 0);
    } else {
        io_uring_prep_openat2(sqe, dirfd, path, &how);
        if (mode == PERSONALITY)
            sqe->personality = pers;
    }
    return run(sqe);
}

/* What an open reached: the file's content, read through the fd (or the
 * fixed slot), which is then closed. */
static void reached(enum mode mode, int res, char *out, size_t len)
{
    char buf[64];
    int n;

    if (res < 0) {
        snprintf(out, len, "%d", res);
        return;
    }
    if (mode == DIRECT) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, 0, buf, sizeof(buf) - 1, 0);
        sqe->flags |= IOSQE_FIXED_FILE;
        n = run(sqe);
        close_slot();
    } else {
        n = pread(res, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            n = -errno;
        close(res);
    }
    if (n < 0) {
        snprintf(out, len, "read %d", n);
        return;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    snprintf(out, len, "%s", buf);
}

struct target {
    const char *label;
    int at_sub;                 /* relative to jail/sub rather than the cwd */
    char path[600];
};

static void matrix(const char *who, struct target *t, int nt)
{
    char res[80];

    for (int m = SYSCALL; m <= PERSONALITY; m++)
        for (int r = 0; r < NRESOLVES; r++)
            for (int i = 0; i < nt; i++) {
                int fd = do_open(m, t[i].at_sub ? subfd : AT_FDCWD, t[i].path, O_RDONLY,
                                 resolves[r].flags);
                reached(m, fd, res, sizeof(res));
                printf("%s: %s %s %s: %s\n", who, mode_name[m], resolves[r].name, t[i].label, res);
            }
}

/* O_CREAT through the same ways: where did the new file appear?  "../NEW"
 * is the jail's root's parent in a host walk, "HOST/NEW" the outside
 * directory's host path; both are inside the test's own directory. */
static void creates(const char *who)
{
    static const unsigned long long flags[] = {0, RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS,
                                               RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH,
                                               RESOLVE_IN_ROOT};
    static const char *fname[] = {"0", "NO_XDEV", "NO_MAGICLINKS", "NO_SYMLINKS", "BENEATH",
                                  "IN_ROOT"};
    static int k;
    char name[64], path[700], jailpath[80], res[16];
    struct stat st;

    for (int m = SYSCALL; m <= PERSONALITY; m++)
        for (int r = 0; r < 6; r++)
            for (int host = 0; host < 2; host++) {
                snprintf(name, sizeof(name), "new%d", ++k);
                if (host)
                    snprintf(path, sizeof(path), "%s/%s", side, name);
                else
                    snprintf(path, sizeof(path), "../%s", name);
                int fd = do_open(m, AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY, flags[r]);
                if (fd >= 0 && m != DIRECT)
                    close(fd);
                if (fd >= 0 && m == DIRECT)
                    close_slot();
                snprintf(jailpath, sizeof(jailpath), "/%s", name);
                if (fd >= 0)
                    snprintf(res, sizeof(res), "ok");
                else
                    snprintf(res, sizeof(res), "%d", fd);
                printf("%s: create %s %s %s: %s, in jail %d, outside %d\n", who, mode_name[m],
                       fname[r], host ? "HOST/NEW" : "../NEW", res,
                       lstat(jailpath, &st) == 0, fstatat(outdir, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
            }
}

static void put(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    if (fd < 0 || write(fd, content, strlen(content)) < 0) {
        perror(path);
        exit(1);
    }
    fchmod(fd, mode);
    close(fd);
}

int main(int argc, char **argv)
{
    char p[700], q[700];
    struct target t[16];
    int nt = 0, infd;

    if (argc < 2)
        return 2;
    snprintf(side, sizeof(side), "%s", argv[1]);
    snprintf(p, sizeof(p), "%s/f", side);
    put(p, "outside\n", 0644);
    snprintf(p, sizeof(p), "%s/jail/f", side);
    put(p, "inside\n", 0644);
    snprintf(p, sizeof(p), "%s/jail/sub", side);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/jail/sub/f", side);
    put(p, "sub\n", 0644);
    /* An absolute symlink, a relative one climbing out of the jail's root,
     * and one naming the outside file by its host path. */
    snprintf(p, sizeof(p), "%s/jail/abslink", side);
    symlink("/f", p);
    snprintf(p, sizeof(p), "%s/jail/uplink", side);
    symlink("../f", p);
    snprintf(p, sizeof(p), "%s/jail/hostlink", side);
    snprintf(q, sizeof(q), "%s/f", side);
    symlink(q, p);
    /* nobody creates files in the jail (Linux) and, through a host walk,
     * in the outside directory: both writable. */
    snprintf(p, sizeof(p), "%s/jail", side);
    chmod(p, 0777);
    chmod(side, 0777);

    outfd = open(side, O_PATH | O_DIRECTORY);
    outdir = open(side, O_RDONLY | O_DIRECTORY);
    if (outfd < 0 || outdir < 0 || chroot(p) || chdir("/")) {
        perror("setup");
        return 1;
    }
    subfd = open("/sub", O_RDONLY | O_DIRECTORY);
    infd = open("/f", O_RDONLY);
    if (io_uring_queue_init(8, &ring, 0) || io_uring_register_files_sparse(&ring, 1)) {
        printf("ring setup failed\n");
        return 1;
    }

#define T(lbl, sub, ...) do { t[nt].label = lbl; t[nt].at_sub = sub; \
        snprintf(t[nt].path, sizeof(t[nt].path), __VA_ARGS__); nt++; } while (0)
    T("f", 0, "f");
    T("../f", 0, "../f");
    T("/f", 0, "/f");
    T("sub:../../f", 1, "../../f");
    T("HOST/f", 0, "%s/f", side);
    T("abslink", 0, "abslink");
    T("/abslink", 0, "/abslink");
    T("uplink", 0, "uplink");
    T("hostlink", 0, "hostlink");
    /* Magic links (only with procfs mounted in the jail): one to the jail's
     * f, one to the outside directory, which Linux does follow out of the
     * jail unless RESOLVE_NO_MAGICLINKS or a scoped walk forbids it. */
    T("/proc/self/fd/IN", 0, "/proc/self/fd/%d", infd);
    T("/proc/self/fd/OUT/f", 0, "/proc/self/fd/%d/f", outfd);

    pers = io_uring_register_personality(&ring);
    matrix("root", t, nt);
    creates("root");

    if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
        printf("cannot drop to nobody\n");
        return 1;
    }
    /* setuid() made the process non-dumpable, which hands its /proc/self
     * entries to root; be an ordinary unprivileged process again. */
    prctl(PR_SET_DUMPABLE, 1);
    pers = io_uring_register_personality(&ring);
    matrix("nobody", t, nt);
    creates("nobody");
    return 0;
}
