/* The io_uring differential fuzzer's steps (tools/fuzz/): what one generated
 * program does, as functions.  tools/fuzz/interp.c runs programs given as
 * scripts (one step per line); a minimised divergence becomes a tests/c
 * program calling these steps directly.
 *
 * Everything printed is what Linux makes deterministic: the return of every
 * setup/enter/register call, and at the end every CQE sorted by user_data
 * (the order of independent completions is not: Linux may complete them in
 * any order), a hash of the memory the requests could write and of the files.
 * Addresses are never printed (ASLR). */
#ifndef FUZZLIB_H
#define FUZZLIB_H
#include "rawring.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/time_types.h>

#ifndef IORING_ENTER_EXT_ARG
#define IORING_ENTER_EXT_ARG (1U << 3)
#endif

#define ARENA 65536
#define MAXCQE 256

/* The fds a step names by index (fd specs < 100; spec >= 100 is the literal
 * spec - 100, for fixed-file slots and numbers that are not open). */
enum { FD_FILE, FD_RDONLY, FD_PIPE_R, FD_PIPE_W, FD_SOCK0, FD_SOCK1, FD_EVENTFD, FD_NULL,
       FD_DIR, FD_RING, FD_MINUS1, FD_CLOSED, FD_CWD, NFDS };

static struct rawring fz_r;
static int fz_have_ring, fz_sqpoll;
static int fz_fds[NFDS];
static unsigned char *fz_arena;
static unsigned fz_pending;          /* SQEs written, tail not yet published */
static struct { unsigned long long ud; int res; unsigned flags; } fz_cqes[MAXCQE];
static int fz_ncqe;

/* Address specs: >= 0 an offset in the arena; negative, a bad pointer. */
static uint64_t fz_addr(long long spec)
{
    if (spec >= (1LL << 40))
        return spec - (1LL << 40);                     /* a literal */
    switch (spec) {
    case -1: return 0;
    case -2: return 0x1000;                            /* unmapped, low */
    case -3: return (uint64_t)(fz_arena + ARENA);      /* the guard page */
    case -4: return 0xffff888000000000ULL;             /* kernel half */
    case -5: return (uint64_t)(fz_arena + ARENA - 4);  /* straddles the guard */
    }
    return (uint64_t)(fz_arena + (spec % ARENA));
}

static int fz_fd(long long spec)
{
    if (spec >= 100)
        return (int)(spec - 100);
    if (spec < 0 || spec >= NFDS)
        return -1;
    if (spec == FD_RING)
        return fz_have_ring ? fz_r.fd : -1;
    return fz_fds[spec];
}

static void fz_fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = 'a' + (i * 7 + seed) % 26;
}

/* Arena layout: 0-16 KiB data; 16384 iovecs; 17408 paths; 18432 timespecs;
 * 19456 an fd array; 20480-65535 scratch (read targets). */
static void fz_init(void)
{
    fz_arena = mmap(NULL, ARENA + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fz_arena == MAP_FAILED)
        FAIL("mmap arena");
    mprotect(fz_arena + ARENA, 4096, PROT_NONE);
    fz_fill(fz_arena, ARENA, 3);
    struct iovec *iov = (struct iovec *)(fz_arena + 16384);
    for (int i = 0; i < 16; i++) {
        iov[i].iov_base = fz_arena + 20480 + i * 2048;
        iov[i].iov_len = (i % 4 == 3) ? 0 : 64 << (i % 5);
    }
    static const char *paths[] = { "f0", "f1", "d0", "f2", "d0/f3", "nosuch/x", "", "f0/x" };
    for (int i = 0; i < 8; i++)
        strcpy((char *)fz_arena + 17408 + i * 32, paths[i]);
    struct __kernel_timespec *ts = (struct __kernel_timespec *)(fz_arena + 18432);
    ts[0] = (struct __kernel_timespec){ 0, 1000000 };     /* 1 ms: fires */
    ts[1] = (struct __kernel_timespec){ 100, 0 };         /* 100 s: never */
    ts[2] = (struct __kernel_timespec){ 0, 0 };
    ts[3] = (struct __kernel_timespec){ -1, 0 };
    ts[4] = (struct __kernel_timespec){ 0, 2000000000 };  /* bad nsec */

    int fd = open("f0", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, fz_arena, 8192) != 8192)
        FAIL("f0");
    fz_fds[FD_FILE] = fd;
    fd = open("f1", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, fz_arena + 100, 4096) != 4096)
        FAIL("f1");
    close(fd);
    fz_fds[FD_RDONLY] = open("f1", O_RDONLY);
    mkdir("d0", 0755);
    int p[2], sv[2];
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        FAIL("pipe");
    fz_fds[FD_PIPE_R] = p[0];
    fz_fds[FD_PIPE_W] = p[1];
    fz_fds[FD_SOCK0] = sv[0];
    fz_fds[FD_SOCK1] = sv[1];
    fz_fds[FD_EVENTFD] = eventfd(0, 0);
    fz_fds[FD_NULL] = open("/dev/null", O_RDWR);
    fz_fds[FD_DIR] = open(".", O_RDONLY | O_DIRECTORY);
    fz_fds[FD_RING] = -1;
    fz_fds[FD_MINUS1] = -1;
    fz_fds[FD_CLOSED] = 1000;
    fz_fds[FD_CWD] = AT_FDCWD;
    int *fdarr = (int *)(fz_arena + 19456);
    for (int i = 0; i < 16; i++)
        fdarr[i] = i < NFDS && i != FD_RING ? fz_fds[i] : -1;
    signal(SIGPIPE, SIG_IGN);
}

static void fz_setup(unsigned entries, unsigned flags, unsigned cq_entries)
{
    if (fz_have_ring) {
        close(fz_r.fd);
        fz_have_ring = 0;
    }
    memset(&fz_r, 0, sizeof fz_r);
    fz_r.p.cq_entries = cq_entries;
    int res = rawring_init(&fz_r, entries, flags);
    printf("setup(%u, %#x, %u) = %d\n", entries, flags, cq_entries, res < 0 ? res : 0);
    if (res == 0) {
        fz_have_ring = 1;
        fz_sqpoll = !!(flags & IORING_SETUP_SQPOLL);
        fz_pending = 0;
        printf("  sq_entries %u cq_entries %u\n", fz_r.p.sq_entries, fz_r.p.cq_entries);
    }
}

/* Write one SQE at tail + pending (published by fz_submit). */
static void fz_sqe(int op, int flags, int ioprio, long long fd, uint64_t off, long long addr,
                   unsigned len, unsigned rw_flags, unsigned long long ud, int buf_index,
                   int personality, int splice_fd_in, long long addr3)
{
    if (!fz_have_ring)
        return;
    unsigned slot = (*fz_r.sq_tail + fz_pending) & *fz_r.sq_mask;
    struct io_uring_sqe *s = &fz_r.sqes[slot];
    memset(s, 0, sizeof *s);
    s->opcode = op;
    s->flags = flags;
    s->ioprio = ioprio;
    s->fd = fz_fd(fd);
    /* off at or above 1 << 62 is an address spec (sqe->addr2 shares it). */
    s->off = off >= (1ULL << 62) && off < (1ULL << 62) + (1ULL << 32)
             ? fz_addr((long long)(off - (1ULL << 62)) - 16) : off;
    s->addr = fz_addr(addr);
    s->len = len;
    s->rw_flags = rw_flags;
    s->user_data = ud;
    s->buf_index = buf_index;
    s->personality = personality;
    s->splice_fd_in = splice_fd_in < 100 ? fz_fd(splice_fd_in) : splice_fd_in - 100;
    s->addr3 = addr3 == 0 ? 0 : fz_addr(addr3);
    if (fz_r.sq_array)
        fz_r.sq_array[slot] = slot;
    if (fz_pending < fz_r.p.sq_entries)
        fz_pending++;
}

static void fz_submit(unsigned to_submit, unsigned min_complete, unsigned flags)
{
    if (!fz_have_ring)
        return;
    __atomic_store_n(fz_r.sq_tail, *fz_r.sq_tail + fz_pending, __ATOMIC_RELEASE);
    fz_pending = 0;
    if (min_complete)
        flags |= IORING_ENTER_GETEVENTS;
    /* Never block for good: a wait is bounded by a 200 ms timeout. */
    struct io_uring_getevents_arg arg = { 0 };
    struct __kernel_timespec ts = { 0, 200000000 };
    if (flags & IORING_ENTER_GETEVENTS) {
        flags |= IORING_ENTER_EXT_ARG;
        arg.ts = (uint64_t)&ts;
    }
    int res = sys_enter(fz_r.fd, to_submit, min_complete, flags, &arg, sizeof arg);
    /* Whether a bounded wait timed out is timing, not semantics. */
    if (res < 0 && errno == ETIME)
        printf("enter(%u, %u, %#x) = -ETIME\n", to_submit, min_complete, flags);
    else
        printf("enter(%u, %u, %#x) = %d\n", to_submit, min_complete, flags,
               res < 0 ? -errno : res);
}

/* Collect CQEs until none comes for quiet_ms (bounded: at most MAXCQE kept,
 * at most 64 waits -- a CQ head moved back makes old entries visible again). */
static void fz_reap(int quiet_ms)
{
    if (!fz_have_ring)
        return;
    for (int round = 0; round < 64; round++) {
        struct io_uring_cqe c;
        int got = 0;
        while (fz_ncqe < MAXCQE && rawring_pop(&fz_r, &c)) {
            fz_cqes[fz_ncqe].ud = c.user_data;
            fz_cqes[fz_ncqe].res = c.res;
            fz_cqes[fz_ncqe].flags = c.flags;
            fz_ncqe++;
            got++;
        }
        if (fz_ncqe >= MAXCQE)
            return;
        struct io_uring_getevents_arg arg = { 0 };
        struct __kernel_timespec ts = { 0, quiet_ms * 1000000L };
        arg.ts = (uint64_t)&ts;
        int res = sys_enter(fz_r.fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                            &arg, sizeof arg);
        if (res < 0 && errno != EINTR && *fz_r.cq_head == __atomic_load_n(fz_r.cq_tail, __ATOMIC_ACQUIRE))
            return;
        if (res >= 0 && !got && *fz_r.cq_head == __atomic_load_n(fz_r.cq_tail, __ATOMIC_ACQUIRE))
            return;
    }
}

static void fz_register(unsigned opcode, long long arg, unsigned nr)
{
    if (!fz_have_ring)
        return;
    int res = (int)syscall(__NR_io_uring_register, fz_r.fd, opcode,
                           arg == 0 ? NULL : (void *)fz_addr(arg), nr);
    printf("register(%u, %u) = %d\n", opcode, nr, res < 0 ? -errno : res);
}

/* Ring memory scribbles: 0 the SQ tail jumps by v; 1 an SQ array slot gets v
 * (out of range when large); 2 the CQ head moves back by v. */
static void fz_scribble(int kind, unsigned v)
{
    if (!fz_have_ring || fz_sqpoll)
        return;
    if (kind == 0)
        *fz_r.sq_tail += v;
    else if (kind == 1 && fz_r.sq_array)
        fz_r.sq_array[*fz_r.sq_tail & *fz_r.sq_mask] = v;
    else if (kind == 2)
        *fz_r.cq_head -= v;
}

static void fz_write(long long fd, unsigned n)
{
    int res = write(fz_fd(fd), fz_arena, n);
    printf("write(%lld, %u) = %d\n", fd, n, res < 0 ? -errno : res);
}

static uint64_t fz_hash(const unsigned char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static uint64_t fz_file_hash(const char *path)
{
    unsigned char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    uint64_t h = 14695981039346656037ULL;
    ssize_t n;
    off_t total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0 && total < (1 << 20)) {
        h = fz_hash(buf, n, h);
        total += n;
    }
    struct stat st;
    fstat(fd, &st);
    close(fd);
    return h ^ (uint64_t)st.st_size;
}

/* The end: reap what comes, print every CQE sorted by user_data and the
 * hashes; with `in_flight`, exit at once without closing anything.  CQEs of
 * one user_data are sorted by res and flags too: when two requests share
 * it, the order of their completions is Linux's choice (seed 46810). */
static void fz_finish(int in_flight)
{
    if (!in_flight)
        fz_reap(100);
    for (int i = 0; i < fz_ncqe; i++)
        for (int j = i + 1; j < fz_ncqe; j++)
            if (fz_cqes[j].ud < fz_cqes[i].ud ||
                (fz_cqes[j].ud == fz_cqes[i].ud && (fz_cqes[j].res < fz_cqes[i].res ||
                 (fz_cqes[j].res == fz_cqes[i].res && fz_cqes[j].flags < fz_cqes[i].flags)))) {
                typeof(fz_cqes[0]) t = fz_cqes[i];
                fz_cqes[i] = fz_cqes[j];
                fz_cqes[j] = t;
            }
    for (int i = 0; i < fz_ncqe; i++)
        printf("cqe %llu res %d flags %#x\n", fz_cqes[i].ud, fz_cqes[i].res, fz_cqes[i].flags);
    printf("arena %016llx\n", (unsigned long long)fz_hash(fz_arena + 20480, ARENA - 20480,
                                                           14695981039346656037ULL));
    printf("files f0 %016llx f1 %016llx f2 %016llx\n", (unsigned long long)fz_file_hash("f0"),
           (unsigned long long)fz_file_hash("f1"), (unsigned long long)fz_file_hash("f2"));
    fflush(stdout);
    if (in_flight)
        _exit(0);
}
#endif
