/* /proc/self, /proc/thread-self and /proc/self/mem name the program that
 * opens them, whichever way the open runs: open(2), openat2(2), and io_uring
 * OPENAT/OPENAT2 as task work, as a direct descriptor and with a registered
 * personality.  An open the Sentry performs itself must not reach the
 * Sentry's own /proc entries (its status, its memory).
 *
 * argv[1]: "-" to use the host's /proc, or a jail directory to chroot into
 * (the test mounts procfs at <jail>/proc, or leaves it an empty directory).
 * Each line says, for /proc/self/status, whether the Pid: and Name: lines are
 * this program's ("self is me 1"), for /proc/thread-self/status whether the
 * thread belongs to it ("thread of mine 1"), and for mem whether reading it
 * at the address of a static buffer gives that buffer's bytes ("mem is mine
 * 1"); failures print the negative errno.  As root, then after setuid(nobody). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOBODY 65534

static struct io_uring ring;
static int pers;
static int procfd;              /* /proc (or <jail>/proc), for relative lookups */
static unsigned long long seq;
static char marker[32] = "pysentry-marker: mine, not yours";

enum how { SYS_OPEN, SYS_OPENAT2, OPENAT, OPENAT2 };
enum via { TASK, DIRECT, PERSONALITY };

static const struct {
    enum how how;
    enum via via;
    unsigned long long resolve;
    const char *name;
} modes[] = {
    {SYS_OPEN, TASK, 0, "open(2)"},
    {SYS_OPENAT2, TASK, RESOLVE_NO_MAGICLINKS, "openat2(2) NO_MAGICLINKS"},
    {OPENAT, TASK, 0, "OPENAT"},
    {OPENAT, DIRECT, 0, "OPENAT direct"},
    {OPENAT, PERSONALITY, 0, "OPENAT personality"},
    {OPENAT2, TASK, 0, "OPENAT2 0"},
    {OPENAT2, DIRECT, 0, "OPENAT2 direct 0"},
    {OPENAT2, PERSONALITY, 0, "OPENAT2 personality 0"},
    {OPENAT2, TASK, RESOLVE_NO_MAGICLINKS, "OPENAT2 NO_MAGICLINKS"},
    {OPENAT2, DIRECT, RESOLVE_NO_MAGICLINKS, "OPENAT2 direct NO_MAGICLINKS"},
    {OPENAT2, PERSONALITY, RESOLVE_NO_MAGICLINKS, "OPENAT2 personality NO_MAGICLINKS"},
    {OPENAT2, DIRECT, RESOLVE_NO_XDEV, "OPENAT2 direct NO_XDEV"},
    {OPENAT2, PERSONALITY, RESOLVE_NO_XDEV, "OPENAT2 personality NO_XDEV"},
    {OPENAT2, DIRECT, RESOLVE_BENEATH, "OPENAT2 direct BENEATH"},
    {OPENAT2, PERSONALITY, RESOLVE_BENEATH, "OPENAT2 personality BENEATH"},
};
#define NMODES (int)(sizeof(modes) / sizeof(modes[0]))

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

static int do_open(int m, int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = flags, .resolve = modes[m].resolve};
    struct io_uring_sqe *sqe;
    int fd;

    switch (modes[m].how) {
    case SYS_OPEN:
        fd = dirfd == AT_FDCWD ? open(path, flags) : openat(dirfd, path, flags);
        return fd < 0 ? -errno : fd;
    case SYS_OPENAT2:
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
    case OPENAT:
        sqe = io_uring_get_sqe(&ring);
        if (modes[m].via == DIRECT)
            io_uring_prep_openat_direct(sqe, dirfd, path, flags, 0, 0);
        else
            io_uring_prep_openat(sqe, dirfd, path, flags, 0);
        break;
    default:
        sqe = io_uring_get_sqe(&ring);
        if (modes[m].via == DIRECT)
            io_uring_prep_openat2_direct(sqe, dirfd, path, &how, 0);
        else
            io_uring_prep_openat2(sqe, dirfd, path, &how);
        break;
    }
    if (modes[m].via == PERSONALITY)
        sqe->personality = pers;
    return run(sqe);
}

/* pread through the fd, or a READ of the fixed slot; closes either. */
static int read_at(int m, int fd, char *buf, int len, uint64_t off)
{
    int n;

    if (modes[m].via == DIRECT) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, 0, buf, len, off);
        sqe->flags |= IOSQE_FIXED_FILE;
        n = run(sqe);
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_close_direct(sqe, 0);
        run(sqe);
        return n;
    }
    n = pread(fd, buf, len, off);
    if (n < 0)
        n = -errno;
    close(fd);
    return n;
}

/* /proc/self/status: the Pid: and Name: lines must be this process's.
 * /proc/thread-self/status: the Tgid: line must be this process's; which
 * thread it is varies, since Linux may run an io_uring open in one of the
 * process's io-wq workers, and thread-self is then that worker. */
static void status(const char *who, int m, int dirfd, const char *label, const char *path)
{
    char buf[4096], want[64], comm[16] = "";
    int fd = do_open(m, dirfd, path, O_RDONLY), n;

    if (fd < 0) {
        printf("%s: %s %s: %d\n", who, modes[m].name, label, fd);
        return;
    }
    n = read_at(m, fd, buf, sizeof(buf) - 1, 0);
    if (n < 0) {
        printf("%s: %s %s: read %d\n", who, modes[m].name, label, n);
        return;
    }
    buf[n] = 0;
    if (strstr(path, "thread-self")) {
        snprintf(want, sizeof(want), "\nTgid:\t%d\n", getpid());
        printf("%s: %s %s: thread of mine %d\n", who, modes[m].name, label,
               strstr(buf, want) != NULL);
        return;
    }
    prctl(PR_GET_NAME, comm);
    snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
    int pid_ok = strstr(buf, want) != NULL;
    snprintf(want, sizeof(want), "Name:\t%s\n", comm);
    int name_ok = strncmp(buf, want, strlen(want)) == 0;
    printf("%s: %s %s: self is me %d\n", who, modes[m].name, label, pid_ok && name_ok);
}

static void mem(const char *who, int m, int dirfd, const char *label, const char *path)
{
    char buf[sizeof(marker)];
    int fd = do_open(m, dirfd, path, O_RDWR), n;

    if (fd < 0) {
        printf("%s: %s %s: %d\n", who, modes[m].name, label, fd);
        return;
    }
    memset(buf, 0, sizeof(buf));
    n = read_at(m, fd, buf, sizeof(buf), (uint64_t)(uintptr_t)marker);
    if (n < 0)
        printf("%s: %s %s: read %d\n", who, modes[m].name, label, n);
    else
        printf("%s: %s %s: mem is mine %d\n", who, modes[m].name, label,
               n == (int)sizeof(marker) && memcmp(buf, marker, sizeof(marker)) == 0);
}

static void cases(const char *who)
{
    for (int m = 0; m < NMODES; m++) {
        status(who, m, AT_FDCWD, "/proc/self/status", "/proc/self/status");
        status(who, m, AT_FDCWD, "/proc/thread-self/status", "/proc/thread-self/status");
        status(who, m, procfd, "procfd:self/status", "self/status");
        mem(who, m, AT_FDCWD, "/proc/self/mem", "/proc/self/mem");
        mem(who, m, procfd, "procfd:self/mem", "self/mem");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "-") != 0 && (chroot(argv[1]) || chdir("/"))) {
        perror("chroot");
        return 1;
    }
    /* Without procfs in the jail, /proc is an empty directory: relative
     * lookups from it find nothing. */
    procfd = open("/proc", O_RDONLY | O_DIRECTORY);
    if (procfd < 0 || io_uring_queue_init(8, &ring, 0) ||
        io_uring_register_files_sparse(&ring, 1)) {
        printf("setup failed\n");
        return 1;
    }
    pers = io_uring_register_personality(&ring);
    cases("root");

    if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
        printf("cannot drop to nobody\n");
        return 1;
    }
    /* setuid() cleared the dumpable flag, which hands /proc/self to root;
     * an ordinary unprivileged program owns it (and may open its mem). */
    prctl(PR_SET_DUMPABLE, 1);
    pers = io_uring_register_personality(&ring);
    cases("nobody");
    return 0;
}
