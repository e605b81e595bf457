/* Read/write divergences the differential fuzzer (tools/fuzz) found, in
 * the RWF flag checks and in what Linux does for a request it issues from an
 * io-wq worker.  One section each, picked by argv[1] (default: all);
 * tests/test_sandbox_fuzz_fixes_rw.py checks the output is Linux's.  CQEs
 * are printed sorted by user_data. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_fixes.h"

#define OP_READ_MULTISHOT 49

/* A READ_MULTISHOT from fd with buffers of group bgid (none are provided). */
static void prep_read_mshot(struct io_uring_sqe *s, int fd, int bgid)
{
    io_uring_prep_rw(OP_READ_MULTISHOT, s, fd, NULL, 0, 0);
    s->buf_group = bgid;
}

/* CQEs already posted, without waiting: none, or their user_data. */
static void posted_now(const char *what)
{
    struct io_uring_cqe *cqe;
    printf("%s:", what);
    while (!io_uring_peek_cqe(&ring, &cqe)) {
        printf(" [%llu %d]", (unsigned long long)cqe->user_data, cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    int p[2], sv[2];
    alarm(30);
    if (io_uring_queue_init(16, &ring, 0) || pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 1;
    static uint64_t one = 1;
    static char buf[64];

    if (want("eventfd")) {
        /* Seeds 6828, 5860, 28736, 16689...: an eventfd has no ->write_iter,
         * so pwritev2(2) refuses any RWF flag but HIPRI; io_uring checks the
         * flags (kiocb_set_rw_flags) and calls ->write itself
         * (loop_rw_iter), which ignores them.  RWF_NOWAIT on an eventfd not
         * opened O_NONBLOCK is -EAGAIN there -- unless an io-wq worker
         * issues it blocking (the head of a link left open), which clears
         * IOCB_NOWAIT.  The Sentry answered -EOPNOTSUPP to all. */
        int efd = eventfd(0, 0);
        struct iovec v = { &one, 8 };
        SQE(1, 0, io_uring_prep_write(s, efd, &one, 8, 0); s->rw_flags = RWF_DSYNC);
        SQE(2, 0, io_uring_prep_writev(s, efd, &v, 1, 0); s->rw_flags = RWF_NOAPPEND);
        SQE(3, 0, io_uring_prep_write(s, efd, &one, 4, 0); s->rw_flags = RWF_SYNC);
        SQE(4, 0, io_uring_prep_write(s, efd, &one, 8, 0);
            s->rw_flags = RWF_APPEND | RWF_NOAPPEND);
        SQE(5, 0, io_uring_prep_write(s, efd, &one, 8, 0); s->rw_flags = RWF_NOWAIT);
        SQE(6, 0, io_uring_prep_write(s, efd, &one, 8, 0); s->rw_flags = 0x40);   /* RWF_ATOMIC */
        run("eventfd writes with RWF flags", 6);
        SQE(7, IOSQE_IO_LINK, io_uring_prep_write(s, efd, &one, 8, 0);
            s->rw_flags = RWF_NOWAIT);
        run("eventfd RWF_NOWAIT write, an open link's head", 1);
        uint64_t count = 0;
        ssize_t n = read(efd, &count, 8);
        printf("eventfd read %zd: count %llu\n", n, (unsigned long long)count);
        close(efd);
    }
    if (want("badmode")) {
        /* Seeds 5724, 12601...: io_rw_init_file() checks the open mode
         * (EBADF) before the RWF flags (EOPNOTSUPP for unknown ones). */
        SQE(8, 0, io_uring_prep_write(s, p[0], buf, 8, 0); s->rw_flags = 0x80000000);
        SQE(9, 0, io_uring_prep_read(s, p[1], buf, 8, 0); s->rw_flags = 0x80000000);
        SQE(10, 0, io_uring_prep_read(s, p[0], buf, 8, 0); s->rw_flags = 0x80000000);
        run("unknown RWF flag, file not open for the direction", 3);
    }
    if (want("regnowait")) {
        /* Seeds 15290, 14806, 22573: a buffered RWF_NOWAIT write to a regular
         * file of a filesystem that cannot do it without blocking (ext4) is
         * -EAGAIN, even for 0 bytes; with IOSQE_ASYNC the io-wq worker
         * issues it blocking and it is written.  (On tmpfs, without
         * FMODE_NOWAIT, it is -EOPNOTSUPP; the test compares with Linux on
         * whatever /tmp is.) */
        char path[] = "/tmp/fuzz_fixes_rw.XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            return 1;
        unlink(path);
        SQE(11, 0, io_uring_prep_write(s, fd, "abcd", 4, 0); s->rw_flags = RWF_NOWAIT);
        SQE(12, 0, io_uring_prep_write(s, fd, "abcd", 0, 0); s->rw_flags = RWF_NOWAIT);
        SQE(13, IOSQE_ASYNC, io_uring_prep_write(s, fd, "wxyz", 4, 4);
            s->rw_flags = RWF_NOWAIT);
        run("RWF_NOWAIT writes to a regular file", 3);
        char got[16] = "";
        ssize_t n = pread(fd, got, sizeof(got), 0);
        printf("file: %zd bytes:", n);
        for (ssize_t i = 0; i < n; i++)
            printf(" %02x", (unsigned char)got[i]);
        printf("\n");
        close(fd);
    }
    if (want("ringfd")) {
        /* Seeds 9391, 10451: an io_uring fd has no read: kiocb_set_rw_flags
         * refuses RWF_NOWAIT (no FMODE_NOWAIT) with EOPNOTSUPP first. */
        SQE(14, 0, io_uring_prep_read(s, ring.ring_fd, buf, 8, 0); s->rw_flags = RWF_NOWAIT);
        SQE(15, 0, io_uring_prep_read(s, ring.ring_fd, buf, 8, 0));
        run("read of an io_uring fd", 2);
    }
    if (want("splicering")) {
        /* Seeds 14617, 20630, 27835: SPLICE from a pipe, at an offset, into
         * the ring's own fd: do_splice() refuses the offset on the pipe
         * (ESPIPE) before it finds that the ring cannot splice (EINVAL). */
        SQE(24, 0, io_uring_prep_splice(s, p[0], 50, ring.ring_fd, -1, 16, 0));
        SQE(25, 0, io_uring_prep_splice(s, p[0], -1, ring.ring_fd, -1, 16, 0));
        run("splice from a pipe into the ring fd", 2);
    }
    if (want("mshot")) {
        /* Seeds 10034, 18858, 23391: READ_MULTISHOT takes no ioprio
         * (EINVAL at init), and fails a file without ->poll (/dev/null)
         * with EBADFD before it looks for a buffer. */
        int null = open("/dev/null", O_RDONLY);
        SQE(16, IOSQE_BUFFER_SELECT | IOSQE_ASYNC, prep_read_mshot(s, null, 7));
        SQE(17, IOSQE_BUFFER_SELECT, prep_read_mshot(s, null, 7));
        /* Last: an SQE failing its init ends the batch. */
        SQE(18, IOSQE_BUFFER_SELECT, prep_read_mshot(s, p[0], 7); s->ioprio = 1 << 13);
        run("multishot read: a file without poll, ioprio", 3);
        close(null);
    }
    if (want("mshotiowq")) {
        /* Seeds 7906, 1310, 11678, 27751...: a multishot read Linux hands to
         * io-wq -- IOSQE_ASYNC, any request after an IOSQE_IO_DRAIN (the
         * drain's slow path), the head of a link left open at the end of a
         * batch -- is not issued there: io_wq_submit_work() arms its poll.
         * So with no buffer to select it fails with ENOBUFS only once data
         * arrives; the Sentry failed it at once. */
        SQE(19, IOSQE_BUFFER_SELECT | IOSQE_ASYNC, prep_read_mshot(s, sv[1], 7));
        SQE(20, IOSQE_BUFFER_SELECT | IOSQE_IO_LINK, prep_read_mshot(s, sv[1], 7));
        io_uring_submit(&ring);
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { 0, 300000000 };
        io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
        posted_now("IOSQE_ASYNC, open link: before data");
        if (write(sv[0], "x", 1) != 1)
            return 1;
        run("after data", 2);

        /* The drain's case on a ring of its own: in Linux a request after a
         * drain waits for every request in flight before it. */
        struct io_uring main_ring = ring;
        int dv[2];
        if (io_uring_queue_init(8, &ring, 0) || socketpair(AF_UNIX, SOCK_STREAM, 0, dv))
            return 1;
        SQE(21, IOSQE_IO_DRAIN, );
        SQE(22, IOSQE_BUFFER_SELECT, prep_read_mshot(s, dv[1], 7));
        io_uring_submit(&ring);
        struct __kernel_timespec ts1 = { 1, 0 };
        io_uring_wait_cqe_timeout(&ring, &cqe, &ts1);       /* the NOP's */
        io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
        posted_now("after a drain: before data");
        if (write(dv[0], "x", 1) != 1)
            return 1;
        run("after data", 1);
        io_uring_queue_exit(&ring);
        ring = main_ring;
    }
    if (want("emptynowait")) {
        /* Seeds 33081, 36812, 86575: an empty RWF_NOWAIT write to an
         * eventfd not opened O_NONBLOCK.  loop_rw_iter() refuses
         * IOCB_NOWAIT there before it looks at the length: -EAGAIN (an
         * O_NONBLOCK one goes on, and writes nothing: 0).  The Sentry
         * answered 0 for an empty write without asking. */
        int efd = eventfd(0, 0), nbfd = eventfd(0, EFD_NONBLOCK);
        SQE(1, 0, io_uring_prep_write(s, efd, &one, 0, 0); s->rw_flags = RWF_NOWAIT);
        SQE(2, 0, io_uring_prep_writev(s, efd, NULL, 0, 0); s->rw_flags = RWF_NOWAIT);
        SQE(3, 0, io_uring_prep_write(s, efd, &one, 0, 0));
        SQE(4, 0, io_uring_prep_write(s, nbfd, &one, 0, 0); s->rw_flags = RWF_NOWAIT);
        run("empty eventfd writes", 4);
        /* Seed 56042: a request linked after one Linux completes in an
         * io-wq worker (FGETXATTR always goes there) is issued by that
         * worker, blocking (io_wq_free_work): IOCB_NOWAIT is cleared and
         * the same write is 0.  The Sentry issued it non-blocking. */
        SQE(5, IOSQE_IO_HARDLINK, io_uring_prep_fgetxattr(s, p[0], "user.x", buf, 0));
        SQE(6, 0, io_uring_prep_write(s, efd, &one, 0, 0); s->rw_flags = RWF_NOWAIT);
        run("the same after FGETXATTR in a hard link", 2);
        close(efd);
        close(nbfd);
    }
    if (want("drainhead")) {
        /* Seed 63844: an IO_DRAIN request inside a link drains the link's
         * head and forces it async (io_init_drain).  A multishot READ at
         * that head is not issued in io-wq but arms its poll: only once
         * data comes does it look for a buffer (none: -ENOBUFS), and the
         * drained NOP after it is cancelled then.  The Sentry issued the
         * READ at once: -ENOBUFS before any data. */
        SQE(1, IOSQE_IO_LINK | IOSQE_BUFFER_SELECT, prep_read_mshot(s, sv[1], 7));
        SQE(2, IOSQE_IO_DRAIN, );
        io_uring_submit(&ring);
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { 0, 200000000 };
        io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
        posted_now("multishot READ heading a link with a drained NOP: before data");
        if (write(sv[0], "x", 1) != 1)
            return 1;
        run("after data", 2);
        if (read(sv[1], buf, 1) != 1)
            return 1;
    }
    return 0;
}
