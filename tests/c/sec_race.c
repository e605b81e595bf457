/* Racing a chroot with RENAME_EXCHANGE.  Inside the jail, "a" is a directory
 * and "b" a symlink to the outside directory's host path; one thread swaps
 * them without pause while this one submits path ops on "a/...".  Linux walks
 * each path once, in the program's root: "a" is either the directory (the
 * file inside is reached) or the symlink, whose absolute target names nothing
 * inside the jail (ENOENT).  The outside directory is never reached, however
 * the swap falls.  A walk that checks a path and then hands the host the
 * same string to walk again from the host's '/' can be overtaken by the
 * swap and follow the symlink out of the jail.
 *
 * argv[1]: the outside directory, holding an empty jail/; argv[2]: "root" or
 * "nobody" (drop to nobody after chroot, before racing); argv[3]: ops per
 * family.  For each op family the program prints how many requests reached
 * the outside (read its file, stat'ed it, created, removed or renamed
 * something there, sent to its socket): always 0 in Linux.  How many found
 * the symlink (ENOENT) depends on timing and is not printed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#define NOBODY 65534
#define BATCH 32
#define OP_BIND 56              /* IORING_OP_BIND (Linux 6.11), newer than liburing 2.3 */

static struct io_uring ring;
static int pers, outdir, outf, outsock, insock;
static unsigned long long out_ino, out_dev;
static volatile int stop;
static int nops;

static void *swapper(void *arg)
{
    (void)arg;
    while (!stop)
        renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE);
    return NULL;
}

/* Submit the queued batch and collect n results, by user_data (0..n-1). */
static void reap(int n, int *res)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {10, 0};

    io_uring_submit(&ring);
    for (int k = 0; k < n; k++) {
        if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts)) {
            printf("lost requests\n");
            exit(1);
        }
        res[cqe->user_data] = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
    }
}

static struct io_uring_sqe *sqe(int ud)
{
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    io_uring_sqe_set_data64(s, ud);
    return s;
}

static int is_outside(const char *buf, int n)
{
    return n >= 7 && memcmp(buf, "outside", 7) == 0;
}

/* Count the entries of the outside directory whose names start with prefix. */
static int count_outside(const char *prefix)
{
    int fd = openat(outdir, ".", O_RDONLY | O_DIRECTORY), k = 0;
    DIR *d = fdopendir(fd);
    struct dirent *e;

    while ((e = readdir(d)))
        k += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return k;
}

static void report(const char *family, int reached)
{
    printf("%s: reached outside %d\n", family, reached);
}

/* Files opened into the fd table: read them to see which file it was. */
static void fd_family(const char *name, int with_pers)
{
    int res[BATCH], reached = 0;
    char buf[16];

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            struct io_uring_sqe *s = sqe(k);
            io_uring_prep_openat(s, AT_FDCWD, "a/f", O_RDONLY, 0);
            if (with_pers)
                s->personality = pers;
        }
        reap(BATCH, res);
        for (int k = 0; k < BATCH; k++)
            if (res[k] >= 0) {
                reached += is_outside(buf, pread(res[k], buf, sizeof(buf), 0));
                close(res[k]);
            }
    }
    report(name, reached);
}

/* Direct descriptors: READ each filled slot, then empty the slots. */
static void direct_family(const char *name, int open2, unsigned long long resolve)
{
    static struct open_how how;
    static char buf[BATCH][16];
    int res[BATCH], rd[BATCH], reached = 0, n;

    how = (struct open_how){.flags = O_RDONLY, .resolve = resolve};
    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            if (open2)
                io_uring_prep_openat2_direct(sqe(k), AT_FDCWD, "a/f", &how, k);
            else
                io_uring_prep_openat_direct(sqe(k), AT_FDCWD, "a/f", O_RDONLY, 0, k);
        }
        reap(BATCH, res);
        n = 0;
        for (int k = 0; k < BATCH; k++)
            if (res[k] >= 0) {
                struct io_uring_sqe *s = sqe(k);
                io_uring_prep_read(s, k, buf[k], sizeof(buf[k]), 0);
                s->flags |= IOSQE_FIXED_FILE;
                n++;
            }
        for (int k = 0; k < BATCH; k++)
            rd[k] = -1;
        reap(n, rd);
        for (int k = 0; k < BATCH; k++)
            if (res[k] >= 0) {
                reached += is_outside(buf[k], rd[k]);
                io_uring_prep_close_direct(sqe(k), k);
            }
        reap(n, rd);
    }
    report(name, reached);
}

static void statx_family(void)
{
    static struct statx stx[BATCH];
    int res[BATCH], reached = 0;

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++)
            io_uring_prep_statx(sqe(k), AT_FDCWD, "a/f", 0, STATX_INO, &stx[k]);
        reap(BATCH, res);
        for (int k = 0; k < BATCH; k++)
            reached += res[k] == 0 && stx[k].stx_ino == out_ino &&
                       makedev(stx[k].stx_dev_major, stx[k].stx_dev_minor) == out_dev;
    }
    report("STATX a/f", reached);
}

static void getxattr_family(void)
{
    static char val[BATCH][16];
    int res[BATCH], reached = 0;

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++)
            io_uring_prep_getxattr(sqe(k), "user.where", val[k], "a/f", sizeof(val[k]));
        reap(BATCH, res);
        for (int k = 0; k < BATCH; k++)
            reached += is_outside(val[k], res[k]);
    }
    report("GETXATTR a/f", reached);
}

static void setxattr_family(void)
{
    int res[BATCH], reached = 0;
    char v[4];

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++)
            io_uring_prep_setxattr(sqe(k), "user.hit", "1", "a/f", 0, 1);
        reap(BATCH, res);
        if (fgetxattr(outf, "user.hit", v, sizeof(v)) > 0) {
            reached++;              /* at least one in this batch */
            fremovexattr(outf, "user.hit");
        }
    }
    report("SETXATTR a/f (batches)", reached);
}

static void mkdir_family(void)
{
    static char names[BATCH][32];
    int res[BATCH];

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            snprintf(names[k], sizeof(names[k]), "a/mk-%d", i + k);
            io_uring_prep_mkdirat(sqe(k), AT_FDCWD, names[k], 0755);
        }
        reap(BATCH, res);
    }
    report("MKDIRAT a/mk-N", count_outside("mk-"));
}

static void symlink_family(void)
{
    static char names[BATCH][32];
    int res[BATCH];

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            snprintf(names[k], sizeof(names[k]), "a/sl-%d", i + k);
            io_uring_prep_symlinkat(sqe(k), "t", AT_FDCWD, names[k]);
        }
        reap(BATCH, res);
    }
    report("SYMLINKAT t a/sl-N", count_outside("sl-"));
}

/* Did the outside victim go?  Put it back for the next batch. */
static int victim_gone(void)
{
    struct stat st;
    if (fstatat(outdir, "victim", &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    close(openat(outdir, "victim", O_CREAT | O_WRONLY, 0666));
    return 1;
}

static void unlink_family(void)
{
    int res[BATCH], reached = 0;

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++)
            io_uring_prep_unlinkat(sqe(k), AT_FDCWD, "a/victim", 0);
        reap(BATCH, res);
        reached += victim_gone();
    }
    report("UNLINKAT a/victim (batches)", reached);
}

static void rename_family(void)
{
    int res[BATCH], reached = 0;

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++)
            io_uring_prep_renameat(sqe(k), AT_FDCWD, "a/victim", AT_FDCWD, "a/moved", 0);
        reap(BATCH, res);
        reached += victim_gone();
        unlinkat(outdir, "moved", 0);
    }
    report("RENAMEAT a/victim a/moved (batches)", reached);
}

static void link_family(void)
{
    int res[BATCH], reached = 0;
    struct stat st;

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++)
            io_uring_prep_linkat(sqe(k), AT_FDCWD, "a/victim", AT_FDCWD, "/lnk", 0);
        reap(BATCH, res);
        if (lstat("/lnk", &st) == 0) {
            reached++;              /* the outside file, linked into the jail */
            unlink("/lnk");
        }
    }
    report("LINKAT a/victim /lnk (batches)", reached);
}

/* Datagrams to a/sock: the jail's socket or, escaped, the outside one.  A
 * receiver queues at most net.unix.max_dgram_qlen (10) datagrams, so the
 * batches are small and both queues are drained after each: every send
 * completes at once (MSG_DONTWAIT: a full queue would be -EAGAIN, not a
 * wait). */
#define SEND_BATCH 8
static void sendmsg_family(void)
{
    static struct sockaddr_un to = {.sun_family = AF_UNIX, .sun_path = "a/sock"};
    static char byte = 'x';
    static struct iovec iov = {&byte, 1};
    static struct msghdr msg = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
                                .msg_iovlen = 1};
    int res[SEND_BATCH], reached = 0, snd = socket(AF_UNIX, SOCK_DGRAM, 0);
    char b[8];

    for (int i = 0; i < nops; i += SEND_BATCH) {
        for (int k = 0; k < SEND_BATCH; k++)
            io_uring_prep_sendmsg(sqe(k), snd, &msg, MSG_DONTWAIT);
        reap(SEND_BATCH, res);
        while (recv(outsock, b, sizeof(b), MSG_DONTWAIT) > 0)
            reached++;
        while (recv(insock, b, sizeof(b), MSG_DONTWAIT) > 0)
            ;
    }
    close(snd);
    report("SENDMSG a/sock", reached);
}

static void bind_family(void)
{
    static struct sockaddr_un addr[BATCH];
    int res[BATCH], fds[BATCH];

    for (int i = 0; i < nops; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            fds[k] = socket(AF_UNIX, SOCK_DGRAM, 0);
            addr[k].sun_family = AF_UNIX;
            snprintf(addr[k].sun_path, sizeof(addr[k].sun_path), "a/bd-%d", i + k);
            io_uring_prep_rw(OP_BIND, sqe(k), fds[k], &addr[k], 0, sizeof(addr[k]));
        }
        reap(BATCH, res);
        /* socket() hands out the lowest free numbers: one call closes them
         * (a close(2) apiece would cost a stop each in the sandbox). */
        if (fds[BATCH - 1] - fds[0] == BATCH - 1)
            syscall(SYS_close_range, fds[0], fds[BATCH - 1], 0);
        else
            for (int k = 0; k < BATCH; k++)
                close(fds[k]);
    }
    report("BIND a/bd-N", count_outside("bd-"));
}

/* open(2) itself, the control the program walks on its own. */
static void open_family(void)
{
    int reached = 0, fd;
    char buf[16];

    for (int i = 0; i < nops; i++) {
        fd = open("a/f", O_RDONLY);
        if (fd >= 0) {
            reached += is_outside(buf, pread(fd, buf, sizeof(buf), 0));
            close(fd);
        }
    }
    report("open(2) a/f", reached);
}

static void put(const char *path, const char *content, const char *where)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0666);
    if (fd < 0 || write(fd, content, strlen(content)) < 0) {
        perror(path);
        exit(1);
    }
    fchmod(fd, 0666);
    fsetxattr(fd, "user.where", where, strlen(where), 0);
    close(fd);
}

static int bound(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || chmod(path, 0777)) {
        perror(path);
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    char jail[600];
    struct stat st;
    pthread_t th;

    if (argc < 4)
        return 2;
    nops = atoi(argv[3]);
    if (chdir(argv[1]))
        return 1;
    put("f", "outside\n", "outside");
    put("victim", "victim\n", "outside");
    outsock = bound("sock");
    snprintf(jail, sizeof(jail), "%s/jail", argv[1]);
    mkdir("jail/a", 0777);
    put("jail/a/f", "inside\n", "inside");
    insock = bound("jail/a/sock");
    if (symlink(argv[1], "jail/b"))
        return 1;
    /* Everyone may change the jail and, for a walk that escapes it, the
     * outside directory: the race must show up as nobody as well. */
    chmod("jail/a", 0777);
    chmod("jail", 0777);
    chmod(".", 0777);
    outdir = open(".", O_RDONLY | O_DIRECTORY);
    outf = open("f", O_RDONLY);
    if (outdir < 0 || outf < 0 || fstat(outf, &st))
        return 1;
    out_ino = st.st_ino;
    out_dev = st.st_dev;
    if (chroot(jail) || chdir("/")) {
        perror("chroot");
        return 1;
    }
    /* The ring is set up before the drop (a plain ring: its requests run
     * with the submitter's current credentials), the personality after. */
    if (io_uring_queue_init(2 * BATCH, &ring, 0) || io_uring_register_files_sparse(&ring, BATCH)) {
        printf("ring setup failed\n");
        return 1;
    }
    if (strcmp(argv[2], "nobody") == 0 &&
        (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))) {
        printf("cannot drop to nobody\n");
        return 1;
    }
    pers = io_uring_register_personality(&ring);
    pthread_create(&th, NULL, swapper, NULL);

    statx_family();
    fd_family("OPENAT a/f", 0);
    fd_family("OPENAT personality a/f", 1);
    direct_family("OPENAT direct a/f", 0, 0);
    direct_family("OPENAT2 direct NO_MAGICLINKS a/f", 1, RESOLVE_NO_MAGICLINKS);
    getxattr_family();
    setxattr_family();
    mkdir_family();
    symlink_family();
    unlink_family();
    rename_family();
    link_family();
    sendmsg_family();
    bind_family();
    open_family();

    stop = 1;
    pthread_join(th, NULL);
    close(insock);
    return 0;
}
