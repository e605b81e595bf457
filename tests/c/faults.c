/* Faults the Sentry must survive and end clean after (tests/test_faults.py,
 * docs/reliability.md "Faults").  One mode per fault; every mode prints the
 * same thing natively and sandboxed on stdout; "pid N" lines on stderr name
 * the processes it makes, so the test can check none is left behind.
 *
 *   inflight     READ on a pipe, TIMEOUT, POLL_ADD in flight, the main thread
 *                waiting in io_uring_enter; another thread SIGKILLs the
 *                process
 *   sqinflight   the same on an SQPOLL ring
 *   open FILE    an OPENAT request (the Sentry opens the file by injecting
 *                openat into the program) -- killed there by the test hook
 *   sqexit FILE  a thread makes an SQPOLL ring, submits writes and exits at
 *                once; the main thread goes on using the ring
 *   exec         READ on a pipe and a TIMEOUT in flight, then execve: the new
 *                image sees no ring fd, gets the pipe's data (the READ was
 *                cancelled) and makes a ring of its own
 *   fork FILE    a forked child submits to the parent's ring from its own
 *                copy of memory; the parent then uses the ring too
 *   hold         threads in io_uring_enter, a futex and a pipe read, an
 *                SQPOLL ring, a forked child with a ring of its own; prints
 *                "ready" and waits forever (the Sentry is killed)
 *   clonekill N  N children making threads without end; the first process
 *                SIGKILLs itself meanwhile
 *   stop WHAT    waits the test SIGSTOPs and SIGCONTs: WHAT is enter,
 *                entertimeout, futex or read; the wait's result is printed,
 *                then the data the test writes to stdin is read
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct io_uring ring;
static int pfd[2];

static void die(const char *what, int err)
{
    printf("%s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

static void *killer(void *arg)
{
    /* The main thread is (or soon will be) waiting: kill the whole process. */
    usleep(100 * 1000);
    kill(getpid(), SIGKILL);
    return NULL;
}

static int inflight(unsigned flags)
{
    struct __kernel_timespec ts = {30, 0};
    struct io_uring_params p = {.flags = flags, .sq_thread_idle = 1000};
    static char buf[64];
    struct io_uring_cqe *cqe;
    pthread_t t;
    int ret;

    if ((ret = io_uring_queue_init_params(8, &ring, &p)))
        die("queue_init", ret);
    if (pipe(pfd))
        die("pipe", errno);
    io_uring_prep_read(io_uring_get_sqe(&ring), pfd[0], buf, sizeof(buf), 0);
    io_uring_prep_timeout(io_uring_get_sqe(&ring), &ts, 0, 0);
    io_uring_prep_poll_add(io_uring_get_sqe(&ring), pfd[0], POLLIN);
    printf("submitted %d\n", io_uring_submit(&ring));
    fflush(stdout);
    pthread_create(&t, NULL, killer, NULL);
    ret = io_uring_wait_cqe(&ring, &cqe);
    printf("woke: %d\n", ret);     /* never: the process is killed first */
    return 0;
}

static int open_op(const char *path)
{
    struct io_uring_cqe *cqe;
    int ret;

    if ((ret = io_uring_queue_init(8, &ring, 0)))
        die("queue_init", ret);
    printf("ring ready\n");
    fflush(stdout);
    io_uring_prep_openat(io_uring_get_sqe(&ring), AT_FDCWD, path, O_RDONLY, 0);
    io_uring_submit_and_wait(&ring, 1);
    if ((ret = io_uring_peek_cqe(&ring, &cqe)))
        die("peek", ret);
    printf("openat: %s\n", cqe->res >= 0 ? "ok" : strerror(-cqe->res));
    return 0;
}

/* sqexit: the thread that made the SQPOLL ring exits right after submitting. */
static const char *sqexit_path;
static int sqexit_fd;
static char blocks[16][512];

static void *sq_creator(void *arg)
{
    struct io_uring_params p = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 2000};
    int ret, i;

    if ((ret = io_uring_queue_init_params(16, &ring, &p)))
        die("queue_init sqpoll", ret);
    for (i = 0; i < 8; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        memset(blocks[i], 'a' + i, sizeof(blocks[i]));
        io_uring_prep_write(sqe, sqexit_fd, blocks[i], sizeof(blocks[i]), i * 512);
        sqe->user_data = i;
    }
    io_uring_submit(&ring);
    return NULL;       /* exits with its writes possibly still being served */
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void reap(int n)
{
    uint64_t got[32];
    struct io_uring_cqe *cqe;
    int i, ret;

    for (i = 0; i < n; i++) {
        if ((ret = io_uring_wait_cqe(&ring, &cqe)))
            die("wait_cqe", ret);
        got[i] = cqe->user_data << 32 | (uint32_t)cqe->res;
        io_uring_cqe_seen(&ring, cqe);
    }
    qsort(got, n, sizeof(got[0]), cmp_u64);
    for (i = 0; i < n; i++)
        printf("cqe user_data=%llu res=%d\n", (unsigned long long)(got[i] >> 32),
               (int)(uint32_t)got[i]);
}

static unsigned sum_file(int fd, off_t len)
{
    unsigned char buf[8192];
    unsigned s = 0;
    off_t i;
    ssize_t n = pread(fd, buf, len, 0);

    for (i = 0; i < n; i++)
        s = s * 31 + buf[i];
    return s ^ (unsigned)n;
}

static int sqexit(const char *path)
{
    pthread_t t;
    int i;

    sqexit_path = path;
    sqexit_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (sqexit_fd < 0)
        die("open", errno);
    pthread_create(&t, NULL, sq_creator, NULL);
    pthread_join(t, NULL);
    /* The creator is gone: the ring and its SQ thread go on serving. */
    for (i = 8; i < 16; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        memset(blocks[i], 'a' + i, sizeof(blocks[i]));
        io_uring_prep_write(sqe, sqexit_fd, blocks[i], sizeof(blocks[i]), i * 512);
        sqe->user_data = i;
    }
    io_uring_submit(&ring);
    reap(16);
    printf("file sum %08x\n", sum_file(sqexit_fd, 16 * 512));
    io_uring_queue_exit(&ring);
    return 0;
}

static int exec_with_rings(char **argv)
{
    struct __kernel_timespec ts = {30, 0};
    static char buf[64];
    char a0[16], a1[16], a2[16];
    int ret;

    if ((ret = io_uring_queue_init(8, &ring, 0)))
        die("queue_init", ret);
    if (pipe(pfd))
        die("pipe", errno);
    io_uring_prep_read(io_uring_get_sqe(&ring), pfd[0], buf, sizeof(buf), 0);
    io_uring_prep_timeout(io_uring_get_sqe(&ring), &ts, 0, 0);
    printf("submitted %d\n", io_uring_submit(&ring));
    fflush(stdout);
    snprintf(a0, sizeof(a0), "%d", ring.ring_fd);
    snprintf(a1, sizeof(a1), "%d", pfd[0]);
    snprintf(a2, sizeof(a2), "%d", pfd[1]);
    execl("/proc/self/exe", argv[0], "afterexec", a0, a1, a2, (char *)NULL);
    die("execl", errno);
    return 1;
}

static int after_exec(char **argv)
{
    int oldfd = atoi(argv[2]), rfd = atoi(argv[3]), wfd = atoi(argv[4]);
    struct io_uring_cqe *cqe;
    char buf[64] = "";
    int ret;

    /* io_uring fds are O_CLOEXEC: the old ring went with the old image. */
    ret = fcntl(oldfd, F_GETFD);
    printf("old ring fd after exec: %s\n", ret < 0 ? strerror(errno) : "open");
    /* The READ in flight was cancelled, so what is written now stays in the
     * pipe for this image to read. */
    write(wfd, "after", 5);
    ret = read(rfd, buf, sizeof(buf) - 1);
    printf("pipe read after exec: %d \"%s\"\n", ret, buf);
    if ((ret = io_uring_queue_init(8, &ring, 0)))
        die("queue_init after exec", ret);
    {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_nop(sqe);
        sqe->user_data = 77;
    }
    io_uring_submit_and_wait(&ring, 1);
    io_uring_peek_cqe(&ring, &cqe);
    printf("new ring nop: user_data=%llu res=%d\n", (unsigned long long)cqe->user_data,
           cqe->res);
    return 0;
}

static int fork_child_ring(const char *path)
{
    static char wbuf[64], rbuf[64];
    struct io_uring_sqe *sqe;
    int fd, status, ret;
    pid_t pid;

    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open", errno);
    if ((ret = io_uring_queue_init(8, &ring, 0)))
        die("queue_init", ret);
    strcpy(wbuf, "parent's buffer");
    pid = fork();
    if (pid == 0) {
        /* The child's own copy of memory: the SQEs it submits on the shared
         * ring read and write the child's buffers. */
        strcpy(wbuf, "written by the child");
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_write(sqe, fd, wbuf, strlen(wbuf), 0);
        sqe->flags |= IOSQE_IO_LINK;
        sqe->user_data = 1;
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fd, rbuf, sizeof(rbuf) - 1, 0);
        sqe->user_data = 2;
        io_uring_submit(&ring);
        reap(2);
        printf("child read: \"%s\"\n", rbuf);
        fflush(stdout);
        _exit(0);
    }
    fprintf(stderr, "pid %d\n", pid);
    waitpid(pid, &status, 0);
    printf("child exit %d, parent buffer \"%s\", parent rbuf \"%s\"\n", WEXITSTATUS(status),
           wbuf, rbuf);
    /* The SQ and CQ indexes live in the shared ring, but liburing keeps a
     * private copy of the SQ tail: catch up with what the child submitted. */
    ring.sq.sqe_head = ring.sq.sqe_tail = *ring.sq.ktail;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, fd, wbuf, strlen(wbuf), 32);
    sqe->user_data = 3;
    io_uring_submit(&ring);
    reap(1);
    memset(rbuf, 0, sizeof(rbuf));
    pread(fd, rbuf, sizeof(rbuf) - 1, 0);
    printf("file: \"%.20s\" + \"%s\"\n", rbuf, rbuf + 32);
    return 0;
}

/* hold: everything at once, then wait for the Sentry to be killed. */
static uint32_t futex_word;
static struct io_uring thr_ring;

static void *hold_enter(void *arg)
{
    struct io_uring_cqe *cqe;
    io_uring_queue_init(4, &thr_ring, 0);
    io_uring_prep_read(io_uring_get_sqe(&thr_ring), pfd[0], blocks[0], 64, 0);
    io_uring_submit_and_wait(&thr_ring, 1);
    io_uring_peek_cqe(&thr_ring, &cqe);
    return NULL;
}

static void *hold_futex(void *arg)
{
    syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void *hold_read(void *arg)
{
    char c;
    read(pfd[0], &c, 1);
    return NULL;
}

static int hold(void)
{
    struct io_uring_params p = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 1000};
    struct io_uring child_ring;
    struct io_uring_cqe *cqe;
    int ready[2], ret;
    pthread_t t;
    pid_t pid;
    char c;

    if (pipe(pfd) || pipe(ready))
        die("pipe", errno);
    if ((ret = io_uring_queue_init_params(8, &ring, &p)))
        die("queue_init sqpoll", ret);
    io_uring_prep_poll_add(io_uring_get_sqe(&ring), pfd[0], POLLIN);
    io_uring_submit(&ring);
    pid = fork();
    if (pid == 0) {
        io_uring_queue_init(4, &child_ring, 0);
        io_uring_prep_read(io_uring_get_sqe(&child_ring), pfd[0], &c, 1, 0);
        io_uring_submit(&child_ring);
        write(ready[1], "r", 1);
        io_uring_wait_cqe(&child_ring, &cqe);
        _exit(0);
    }
    read(ready[0], &c, 1);
    pthread_create(&t, NULL, hold_enter, NULL);
    pthread_create(&t, NULL, hold_futex, NULL);
    pthread_create(&t, NULL, hold_read, NULL);
    printf("ready %d %d\n", getpid(), pid);
    fflush(stdout);
    for (;;)
        pause();
}

/* stop WHAT: the main thread waits; the test stops and continues the process
 * and then writes a line to stdin. */
static void *futex_waker(void *arg)
{
    char buf[16];
    read(0, buf, sizeof(buf));
    __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return NULL;
}

static int stop_wait(const char *what)
{
    struct io_uring_cqe *cqe;
    char buf[16] = "";
    pthread_t t;
    long ret;

    if (!strcmp(what, "enter") || !strcmp(what, "entertimeout")) {
        struct __kernel_timespec ts = {60, 0};
        if ((ret = io_uring_queue_init(8, &ring, 0)))
            die("queue_init", ret);
        io_uring_prep_read(io_uring_get_sqe(&ring), 0, buf, sizeof(buf) - 1, 0);
        io_uring_submit(&ring);
        printf("waiting\n");
        fflush(stdout);
        if (!strcmp(what, "enter"))
            ret = io_uring_wait_cqe(&ring, &cqe);
        else
            ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
        printf("wait: %s\n", ret ? strerror(-ret) : "cqe");
        fflush(stdout);
        if (ret)
            ret = io_uring_wait_cqe(&ring, &cqe);
        printf("read cqe: res=%d \"%.*s\"\n", cqe->res, cqe->res > 0 ? cqe->res : 0, buf);
    } else if (!strcmp(what, "futex")) {
        pthread_create(&t, NULL, futex_waker, NULL);
        printf("waiting\n");
        fflush(stdout);
        do
            ret = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        while (ret == 0 && !__atomic_load_n(&futex_word, __ATOMIC_SEQ_CST));
        printf("futex wait: %s, word %u\n", ret ? strerror(errno) : "0", futex_word);
        pthread_join(t, NULL);
    } else {
        printf("waiting\n");
        fflush(stdout);
        ret = read(0, buf, sizeof(buf) - 1);
        printf("read: %ld \"%s\"\n", ret, ret > 0 ? buf : "");
    }
    return 0;
}

/* clonekill: children forever making threads (each exits at once), and the
 * first process SIGKILLed meanwhile: threads caught being born, whose parent
 * dies before the Sentry hears of them, must die with the sandbox too. */
static void *nothing(void *arg)
{
    return NULL;
}

static int clone_kill(int children)
{
    pthread_t t;
    int i;

    for (i = 0; i < children; i++)
        if (fork() == 0)
            for (;;)
                if (pthread_create(&t, NULL, nothing, NULL) == 0)
                    pthread_detach(t);
    for (i = 0; i < 64; i++)
        if (pthread_create(&t, NULL, nothing, NULL) == 0)
            pthread_detach(t);
    usleep(50 * 1000);
    kill(getpid(), SIGKILL);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "inflight"))
        return inflight(0);
    if (!strcmp(argv[1], "sqinflight"))
        return inflight(IORING_SETUP_SQPOLL);
    if (!strcmp(argv[1], "open") && argc > 2)
        return open_op(argv[2]);
    if (!strcmp(argv[1], "sqexit") && argc > 2)
        return sqexit(argv[2]);
    if (!strcmp(argv[1], "exec"))
        return exec_with_rings(argv);
    if (!strcmp(argv[1], "afterexec") && argc > 4)
        return after_exec(argv);
    if (!strcmp(argv[1], "fork") && argc > 2)
        return fork_child_ring(argv[2]);
    if (!strcmp(argv[1], "clonekill") && argc > 2)
        return clone_kill(atoi(argv[2]));
    if (!strcmp(argv[1], "hold"))
        return hold();
    if (!strcmp(argv[1], "stop") && argc > 2)
        return stop_wait(argv[2]);
    return 2;
}
