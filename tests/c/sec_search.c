/* Search (execute) permission on every directory a path walks through,
 * '..' and symlink targets included.  Linux checks it at each step with the
 * caller's credentials (may_lookup): as nobody, "priv/../pub/file" is EACCES
 * when priv is 0700 root's, even though pub/file itself is open to all, and
 * so is a symlink whose target goes through priv, or one that lives in priv.
 * A walk done with the Sentry's own (root) rights, which then hands the host
 * a path with the '..' already folded away, skips those checks: it opens,
 * creates, removes and stats through priv, and "priv/sub/../.." (found) vs
 * "priv/nonexist/../.." (ENOENT) tells what priv holds.
 *
 * Linux never checks the directories above the start of a walk (the cwd, a
 * dirfd): a relative lookup from a cwd below a 0700 directory works.
 *
 * argv[1]: a directory (0755, on a path nobody may search) to build the tree
 * in; with argv[2] "chroot" the program first chroots into it (and the
 * absolute symlink names the jail's path).  Every case runs as root, then after setuid(nobody); each line prints
 * what was reached (a file's content, a STATX result) or the negative errno,
 * and for the ops that change the tree whether the change happened. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#define NOBODY 65534
#define OP_BIND 56              /* IORING_OP_BIND (Linux 6.11), newer than liburing 2.3 */

static struct io_uring ring;
static int pers;
static unsigned long long seq;
static const char *who;

static int run(struct io_uring_sqe *sqe, int with_pers)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {5, 0};
    unsigned long long ud = ++seq;
    int res;

    if (with_pers)
        sqe->personality = pers;
    io_uring_sqe_set_data64(sqe, ud);
    io_uring_submit(&ring);
    if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
        return -1000;
    res = cqe->user_data == ud ? cqe->res : -2000;
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static struct io_uring_sqe *sqe(void)
{
    return io_uring_get_sqe(&ring);
}

static int sys(int ret)
{
    return ret < 0 ? -errno : ret;
}

/* Print what an fd (or fixed slot 0, direct) reads: the file's first line. */
static void show_open(const char *what, int res, int direct)
{
    char buf[64];
    int n;

    if (res < 0) {
        printf("%s: %s: %d\n", who, what, res);
        return;
    }
    if (direct) {
        struct io_uring_sqe *s = sqe();
        io_uring_prep_read(s, 0, buf, sizeof(buf) - 1, 0);
        s->flags |= IOSQE_FIXED_FILE;
        n = run(s, 0);
        s = sqe();
        io_uring_prep_close_direct(s, 0);
        run(s, 0);
    } else {
        n = sys(pread(res, buf, sizeof(buf) - 1, 0));
        close(res);
    }
    if (n < 0) {
        printf("%s: %s: read %d\n", who, what, n);
        return;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("%s: %s: %s\n", who, what, buf);
}

static void show(const char *what, int res)
{
    printf("%s: %s: %d\n", who, what, res);
}

/* A change op: its result, and whether `path` (named with no '..', printed
 * as `label`) exists afterwards. */
static void show_change(const char *what, int res, const char *label, const char *path)
{
    struct stat st;
    printf("%s: %s: %d, %s exists %d\n", who, what, res, label,
           fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0);
}

static int uring_open(const char *path, int direct, int with_pers)
{
    struct io_uring_sqe *s = sqe();
    if (direct)
        io_uring_prep_openat_direct(s, AT_FDCWD, path, O_RDONLY, 0, 0);
    else
        io_uring_prep_openat(s, AT_FDCWD, path, O_RDONLY, 0);
    return run(s, with_pers);
}

static int uring_open2(const char *path, int direct, unsigned long long resolve)
{
    static struct open_how how;
    struct io_uring_sqe *s = sqe();
    how = (struct open_how){.flags = O_RDONLY, .resolve = resolve};
    if (direct)
        io_uring_prep_openat2_direct(s, AT_FDCWD, path, &how, 0);
    else
        io_uring_prep_openat2(s, AT_FDCWD, path, &how);
    return run(s, 0);
}

static int uring_statx(const char *path, int with_pers)
{
    static struct statx stx;
    struct io_uring_sqe *s = sqe();
    io_uring_prep_statx(s, AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx);
    return run(s, with_pers);
}

static int uring_mkdir(const char *path, int with_pers)
{
    struct io_uring_sqe *s = sqe();
    io_uring_prep_mkdirat(s, AT_FDCWD, path, 0755);
    return run(s, with_pers);
}

static int uring_unlink(const char *path)
{
    struct io_uring_sqe *s = sqe();
    io_uring_prep_unlinkat(s, AT_FDCWD, path, 0);
    return run(s, 0);
}

static int uring_rename(const char *from, const char *to)
{
    struct io_uring_sqe *s = sqe();
    io_uring_prep_renameat(s, AT_FDCWD, from, AT_FDCWD, to, 0);
    return run(s, 0);
}

static int uring_link(const char *from, const char *to)
{
    struct io_uring_sqe *s = sqe();
    io_uring_prep_linkat(s, AT_FDCWD, from, AT_FDCWD, to, 0);
    return run(s, 0);
}

static int uring_symlink(const char *target, const char *linkpath)
{
    struct io_uring_sqe *s = sqe();
    io_uring_prep_symlinkat(s, target, AT_FDCWD, linkpath);
    return run(s, 0);
}

static int uring_getxattr(const char *path)
{
    static char value[64];
    struct io_uring_sqe *s = sqe();
    io_uring_prep_getxattr(s, "user.tag", value, path, sizeof(value));
    return run(s, 0);
}

static int uring_setxattr(const char *path)
{
    struct io_uring_sqe *s = sqe();
    io_uring_prep_setxattr(s, "user.set", "1", path, 0, 1);
    return run(s, 0);
}

static struct sockaddr_un unix_addr(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    return a;
}

/* The socket ops take a sockaddr_un path, resolved like any other. */
static int uring_sendmsg(const char *path)
{
    static struct sockaddr_un to;
    static char byte = 'x';
    static struct iovec iov = {&byte, 1};
    static struct msghdr msg;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0), res;
    struct io_uring_sqe *s = sqe();

    to = unix_addr(path);
    msg = (struct msghdr){.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
                          .msg_iovlen = 1};
    io_uring_prep_sendmsg(s, fd, &msg, 0);
    res = run(s, 0);
    close(fd);
    return res;
}

static int uring_connect(const char *path)
{
    static struct sockaddr_un to;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0), res;
    struct io_uring_sqe *s = sqe();

    to = unix_addr(path);
    io_uring_prep_connect(s, fd, (struct sockaddr *)&to, sizeof(to));
    res = run(s, 0);
    close(fd);
    return res;
}

static int uring_bind(const char *path)
{
    static struct sockaddr_un to;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0), res;
    struct io_uring_sqe *s = sqe();

    to = unix_addr(path);
    io_uring_prep_rw(OP_BIND, s, fd, &to, 0, sizeof(to));
    res = run(s, 0);
    close(fd);
    return res;
}

static void drain(int fd)
{
    char b[8];
    while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
        ;
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

static void cases(int innerfd, int workfd, int rcv)
{
    char a[128], b[192], c[192];
    struct stat st;

    /* Through a '..' out of priv, a symlink naming a path through priv, and
     * symlinks inside priv: the control (pub/file) works for everyone. */
    show_open("open(2) pub/file", sys(open("pub/file", O_RDONLY)), 0);
    show_open("open(2) priv/../pub/file", sys(open("priv/../pub/file", O_RDONLY)), 0);
    show_open("open(2) ln", sys(open("ln", O_RDONLY)), 0);
    show_open("open(2) priv/link", sys(open("priv/link", O_RDONLY)), 0);
    show_open("open(2) priv/abslink", sys(open("priv/abslink", O_RDONLY)), 0);
    show_open("open(2) priv/secret", sys(open("priv/secret", O_RDONLY)), 0);
    show("stat(2) priv/../pub/file", sys(stat("priv/../pub/file", &st)));
    show_open("OPENAT pub/file", uring_open("pub/file", 0, 0), 0);
    show_open("OPENAT priv/../pub/file", uring_open("priv/../pub/file", 0, 0), 0);
    show_open("OPENAT direct priv/../pub/file", uring_open("priv/../pub/file", 1, 0), 1);
    show_open("OPENAT personality priv/../pub/file", uring_open("priv/../pub/file", 0, 1), 0);
    show_open("OPENAT direct ln", uring_open("ln", 1, 0), 1);
    show_open("OPENAT direct priv/link", uring_open("priv/link", 1, 0), 1);
    show_open("OPENAT personality priv/link", uring_open("priv/link", 0, 1), 0);
    show_open("OPENAT2 direct 0 priv/../pub/file", uring_open2("priv/../pub/file", 1, 0), 1);
    show_open("OPENAT2 direct NO_MAGICLINKS priv/../pub/file",
              uring_open2("priv/../pub/file", 1, RESOLVE_NO_MAGICLINKS), 1);
    show_open("OPENAT2 direct NO_MAGICLINKS priv/link",
              uring_open2("priv/link", 1, RESOLVE_NO_MAGICLINKS), 1);
    show_open("OPENAT2 NO_XDEV ln", uring_open2("ln", 0, RESOLVE_NO_XDEV), 0);

    show("STATX pub/file", uring_statx("pub/file", 0));
    show("STATX priv/../pub/file", uring_statx("priv/../pub/file", 0));
    show("STATX personality priv/../pub/file", uring_statx("priv/../pub/file", 1));
    show("STATX ln", uring_statx("ln", 0));
    show("STATX priv/link", uring_statx("priv/link", 0));
    show("STATX priv/secret", uring_statx("priv/secret", 0));
    show("STATX priv/sub", uring_statx("priv/sub", 0));
    /* The pair that would tell what priv holds. */
    show("STATX priv/sub/../..", uring_statx("priv/sub/../..", 0));
    show("STATX priv/nonexist/../..", uring_statx("priv/nonexist/../..", 0));
    show("GETXATTR pub/file", uring_getxattr("pub/file"));
    show("GETXATTR priv/../pub/file", uring_getxattr("priv/../pub/file"));
    show("SETXATTR priv/../pub/file", uring_setxattr("priv/../pub/file"));
    printf("%s: pub/file has user.set %d\n", who, getxattr("pub/file", "user.set", a, sizeof(a)) > 0);
    removexattr("pub/file", "user.set");

    snprintf(a, sizeof(a), "pub/newdir-%s", who);
    snprintf(b, sizeof(b), "priv/../%s", a);
    show_change("MKDIRAT priv/../pub/NEWDIR", uring_mkdir(b, 0), "pub/NEWDIR", a);
    rmdir(a);
    show_change("MKDIRAT personality priv/../pub/NEWDIR", uring_mkdir(b, 1), "pub/NEWDIR", a);
    rmdir(a);
    show_change("MKDIRAT pub/NEWDIR", uring_mkdir(a, 0), "pub/NEWDIR", a);
    rmdir(a);

    /* VICTIM is put back (and MOVED removed) after each. */
    snprintf(a, sizeof(a), "pub/victim-%s", who);
    snprintf(b, sizeof(b), "priv/../%s", a);
    snprintf(c, sizeof(c), "priv/../pub/moved-%s", who);
    show_change("UNLINKAT priv/../pub/VICTIM", uring_unlink(b), "pub/VICTIM", a);
    put(a, "victim\n", 0666);
    show_change("RENAMEAT pub/VICTIM priv/../pub/MOVED", uring_rename(a, c), "pub/MOVED", c + 8);
    unlink(c + 8);
    put(a, "victim\n", 0666);
    show_change("RENAMEAT priv/../pub/VICTIM pub/MOVED", uring_rename(b, c + 8), "pub/MOVED",
                c + 8);
    unlink(c + 8);
    put(a, "victim\n", 0666);

    /* Link a file of the caller's own (fs.protected_hardlinks would refuse
     * another user's). */
    snprintf(a, sizeof(a), "priv/../pub/own-%s", who);
    snprintf(b, sizeof(b), "pub/hard-%s", who);
    show_change("LINKAT priv/../pub/OWN pub/HARD", uring_link(a, b), "pub/HARD", b);
    unlink(b);
    snprintf(b, sizeof(b), "priv/../pub/hard-%s", who);
    show_change("LINKAT pub/OWN priv/../pub/HARD", uring_link(a + 8, b), "pub/HARD", b + 8);
    unlink(b + 8);
    snprintf(b, sizeof(b), "priv/../pub/sym-%s", who);
    show_change("SYMLINKAT x priv/../pub/SYM", uring_symlink("x", b), "pub/SYM", b + 8);
    unlink(b + 8);

    show("SENDMSG pub/sock", uring_sendmsg("pub/sock"));
    show("SENDMSG priv/../pub/sock", uring_sendmsg("priv/../pub/sock"));
    show("CONNECT priv/../pub/sock", uring_connect("priv/../pub/sock"));
    drain(rcv);
    snprintf(a, sizeof(a), "priv/../pub/sock-%s", who);
    show_change("BIND priv/../pub/SOCK", uring_bind(a), "pub/SOCK", a + 8);
    unlink(a + 8);

    /* Below a 0700 directory, reached by a cwd set while root: Linux checks
     * only the components the path names. */
    if (fchdir(innerfd))
        exit(1);
    show_open("in anc/inner: open(2) file", sys(open("file", O_RDONLY)), 0);
    show_open("in anc/inner: open(2) ../inner/file", sys(open("../inner/file", O_RDONLY)), 0);
    show_open("in anc/inner: OPENAT file", uring_open("file", 0, 0), 0);
    show_open("in anc/inner: OPENAT direct file", uring_open("file", 1, 0), 1);
    show_open("in anc/inner: OPENAT personality file", uring_open("file", 0, 1), 0);
    show_open("in anc/inner: OPENAT direct ../inner/file", uring_open("../inner/file", 1, 0), 1);
    show_open("in anc/inner: OPENAT2 direct NO_MAGICLINKS file",
              uring_open2("file", 1, RESOLVE_NO_MAGICLINKS), 1);
    show("in anc/inner: STATX file", uring_statx("file", 0));
    show("in anc/inner: STATX .", uring_statx(".", 0));
    show("in anc/inner: GETXATTR file", uring_getxattr("file"));
    snprintf(a, sizeof(a), "d-%s", who);
    show_change("in anc/inner: MKDIRAT D", uring_mkdir(a, 0), "D", a);
    rmdir(a);
    if (fchdir(workfd))
        exit(1);
}

int main(int argc, char **argv)
{
    struct sockaddr_un addr = unix_addr("pub/sock");
    char path[600];
    int innerfd, workfd, rcv, jailed = argc > 2 && strcmp(argv[2], "chroot") == 0;

    if (argc < 2 || chdir(argv[1]))
        return 2;
    if (jailed && (chroot(".") || chdir("/")))
        return 1;
    mkdir("priv", 0700);
    mkdir("priv/sub", 0755);
    put("priv/secret", "secret\n", 0644);
    symlink("../pub/file", "priv/link");
    snprintf(path, sizeof(path), "%s/pub/file", jailed ? "" : argv[1]);
    symlink(path, "priv/abslink");
    mkdir("pub", 0777);
    chmod("pub", 0777);
    put("pub/file", "pub\n", 0666);
    setxattr("pub/file", "user.tag", "pub", 3, 0);
    put("pub/victim-root", "victim\n", 0666);
    put("pub/victim-nobody", "victim\n", 0666);
    put("pub/own-root", "own\n", 0644);
    put("pub/own-nobody", "own\n", 0644);
    if (chown("pub/own-nobody", NOBODY, NOBODY))
        return 1;
    symlink("priv/../pub/file", "ln");
    mkdir("anc", 0700);
    mkdir("anc/inner", 0777);
    chmod("anc/inner", 0777);
    put("anc/inner/file", "deep\n", 0644);
    setxattr("anc/inner/file", "user.tag", "deep", 4, 0);
    rcv = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (bind(rcv, (struct sockaddr *)&addr, sizeof(addr)) || chmod("pub/sock", 0777))
        return 1;
    innerfd = open("anc/inner", O_PATH | O_DIRECTORY);
    workfd = open(".", O_PATH | O_DIRECTORY);
    if (innerfd < 0 || workfd < 0 || io_uring_queue_init(8, &ring, 0) ||
        io_uring_register_files_sparse(&ring, 1)) {
        printf("setup failed\n");
        return 1;
    }

    who = "root";
    pers = io_uring_register_personality(&ring);
    cases(innerfd, workfd, rcv);

    if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
        printf("cannot drop to nobody\n");
        return 1;
    }
    who = "nobody";
    pers = io_uring_register_personality(&ring);
    cases(innerfd, workfd, rcv);
    return 0;
}
