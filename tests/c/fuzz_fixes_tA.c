/* Divergences the differential fuzzer (tools/fuzz) found in the triage of
 * timing, the CQ ring, polls and io_uring_enter (area tA).  One section
 * each, picked by argv[1] (default: all); tests/test_sandbox_fuzz_fixes_tA.py
 * checks the output is Linux's.  CQEs are printed sorted by user_data. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_fixes.h"

#define BAD ((void *)0x1000)        /* user space, never mapped */

/* The CQEs in the order they sit in the CQ ring (not sorted), then seen. */
static void ring_order(struct io_uring *r, const char *what)
{
    unsigned head = *r->cq.khead, tail = __atomic_load_n(r->cq.ktail, __ATOMIC_ACQUIRE);
    printf("%s:", what);
    for (unsigned i = head; i != tail; i++) {
        struct io_uring_cqe *c = &r->cq.cqes[i & *r->cq.kring_mask];
        printf(" [%llu %d]", (unsigned long long)c->user_data, c->res);
    }
    printf("\n");
    __atomic_store_n(r->cq.khead, tail, __ATOMIC_RELEASE);
}

/* Wait up to 5 s for `expect` CQEs (0 or 1), then 200 ms for more; print
 * them in arrival order with their flags. */
static void reap(struct io_uring *r, const char *what, int expect)
{
    struct io_uring_cqe *c;
    printf("%s:", what);
    for (int k = 0; k < 8; k++) {
        struct __kernel_timespec ts = { k < expect ? 5 : 0, k < expect ? 0 : 200000000 };
        if (io_uring_wait_cqe_timeout(r, &c, &ts))
            break;
        printf(" [%llu %d %#x]", (unsigned long long)c->user_data, c->res, c->flags);
        io_uring_cqe_seen(r, c);
    }
    printf("\n");
}

static void show(const char *what, const char *buf, int n)
{
    printf("%s: \"", what);
    for (int i = 0; i < n; i++)
        putchar(buf[i] ? buf[i] : '.');
    printf("\"\n");
}

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    alarm(30);
    if (io_uring_queue_init(16, &ring, 0))
        return 1;

    if (want("readvfault")) {
        /* Seed 11287: READV on a stream (socket, pipe) whose iovecs run
         * into unmapped memory.  Linux copies to the iovecs in order and
         * stops at the fault: a fault in the first iovec is EFAULT (the
         * data stays queued), a fault after a full iovec keeps what came
         * before it.  The Sentry gave the host readv a read-only buffer
         * for the iovecs after the fault (a Python BufferError: -EIO), and
         * copied the bytes read back to the wrong iovec when one before
         * them was empty. */
        int sv[2], p[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p))
            return 1;
        int fds[2] = { sv[0], p[0] }, wfds[2] = { sv[1], p[1] };
        for (int k = 0; k < 2; k++) {
            static char a[8], b[8], c[8];
            memset(a, 0, sizeof a);
            memset(b, 0, sizeof b);
            memset(c, 0, sizeof c);
            if (write(wfds[k], "01234567", 8) != 8)
                return 1;
            struct iovec first_bad[2] = { { BAD, 8 }, { c, 8 } };
            SQE(1 + 10 * k, 0, io_uring_prep_readv(s, fds[k], first_bad, 2, -1));
            run(k ? "pipe: readv, first iovec unmapped" : "socket: readv, first iovec unmapped", 1);
            struct iovec after_empty[3] = { { a, 0 }, { b, 8 }, { BAD, 8 } };
            SQE(2 + 10 * k, 0, io_uring_prep_readv(s, fds[k], after_empty, 3, -1));
            run(k ? "pipe: readv, empty, 8 bytes, unmapped" : "socket: readv, empty, 8 bytes, unmapped", 1);
            show("  empty iovec's buffer", a, 8);
            show("  second iovec", b, 8);
            show("  after the unmapped one", c, 8);
        }
    }
    if (want("linkorder")) {
        /* Seeds 6318, 11392 and others of the 60 "cqe op=-1" divergences
         * (the program moved its CQ head back and read old slots again, so
         * the order of CQEs in the ring showed): Linux issues the next
         * request of a link by task work once the batch's completions are
         * flushed (io_free_batch_list -> io_queue_next), and fails the rest
         * of a broken link the same way (io_fail_links): after every other
         * SQE of the batch, one link step per task-work pass.  The Sentry
         * went on with the link at once, so later SQEs of the batch ran
         * after it -- which also changed what two writes to one place left. */
        struct io_uring r2;
        if (io_uring_queue_init(16, &r2, 0))
            return 1;
        struct io_uring_sqe *s;
#define RSQE(ud, fl, PREP) do { s = io_uring_get_sqe(&r2); io_uring_prep_nop(s); PREP; \
        s->user_data = (ud); s->flags |= (fl); } while (0)
        /* failing at issue (no registered files), then its link */
        RSQE(1, IOSQE_IO_LINK | IOSQE_FIXED_FILE, io_uring_prep_read(s, 5, NULL, 0, 0));
        RSQE(2, IOSQE_IO_LINK, );
        RSQE(3, 0, );
        /* failing at initialisation in the middle of a link */
        RSQE(4, IOSQE_IO_LINK, );
        RSQE(5, IOSQE_IO_LINK, s->opcode = 250);
        RSQE(6, 0, );
        /* a link of three that succeeds, then one on its own */
        RSQE(7, IOSQE_IO_LINK, );
        RSQE(8, IOSQE_IO_LINK, );
        RSQE(9, 0, );
        RSQE(10, 0, );
        printf("links: submit=%d\n", io_uring_submit(&r2));
        ring_order(&r2, "  CQ ring order");

        char path[] = "/tmp/fuzz_fixes_tA.XXXXXX";
        int fd = mkstemp(path);
        int p[2];
        if (fd < 0 || pipe(p))
            return 1;
        RSQE(11, IOSQE_IO_LINK, );
        RSQE(12, 0, io_uring_prep_write(s, fd, "AAAA", 4, 0));
        RSQE(13, 0, io_uring_prep_write(s, fd, "BBBB", 4, 0));
        RSQE(14, IOSQE_IO_LINK, );
        RSQE(15, 0, io_uring_prep_write(s, p[1], "1", 1, 0));
        RSQE(16, 0, io_uring_prep_write(s, p[1], "2", 1, 0));
        /* (A file write may finish in an io-wq worker: the CQEs' order
         * is Linux's choice here, so they are printed sorted.) */
        printf("writes: submit=%d, CQEs", io_uring_submit_and_wait(&r2, 6));
        struct io_uring_cqe got[6], *c;
        for (int i = 0; i < 6; i++) {
            if (io_uring_wait_cqe(&r2, &c))
                return 1;
            got[i] = *c;
            io_uring_cqe_seen(&r2, c);
        }
        qsort(got, 6, sizeof got[0], cmp);
        for (int i = 0; i < 6; i++)
            printf(" [%llu %d]", (unsigned long long)got[i].user_data, got[i].res);
        printf("\n");
        char b[7] = { 0 };
        if (pread(fd, b, 4, 0) != 4 || read(p[0], b + 4, 2) != 2)
            return 1;
        printf("  file \"%.4s\", pipe \"%.2s\"\n", b, b + 4);
        unlink(path);
        io_uring_queue_exit(&r2);
    }
    if (want("sqpollstart")) {
        /* Seeds 5504, 11143, 12711, 15706, 21083, 24970 (enter(0, 1, 0x9)
         * = -ETIME under Linux, 0 under the Sentry) and 11287: a new SQ
         * thread that finds the SQ empty at its first look sleeps at once
         * (io_sq_thread starts with its idle deadline passed), so an SQE
         * queued after the setup waits for IORING_ENTER_SQ_WAKEUP -- an
         * io_uring_enter without it submits nothing.  The Sentry's thread
         * stayed awake for sq_thread_idle (1 s), and its io_uring_enter
         * submitted what was queued whatever the flags. */
        struct io_uring_params prm = { .flags = IORING_SETUP_SQPOLL };
        struct io_uring r3;
        if (io_uring_queue_init_params(4, &r3, &prm))
            return 1;
        usleep(20000);
        printf("sqpoll: NEED_WAKEUP %d after 20 ms", !!(*r3.sq.kflags & IORING_SQ_NEED_WAKEUP));
        struct io_uring_sqe *s = io_uring_get_sqe(&r3);
        io_uring_prep_nop(s);
        s->user_data = 21;
        __atomic_store_n(r3.sq.ktail, r3.sq.sqe_tail, __ATOMIC_RELEASE);
        int ret = io_uring_enter(r3.ring_fd, 1, 0, 0, NULL);
        usleep(50000);
        printf("; enter without SQ_WAKEUP = %d, CQEs %u", ret, *r3.cq.ktail - *r3.cq.khead);
        ret = io_uring_enter(r3.ring_fd, 1, 0, IORING_ENTER_SQ_WAKEUP, NULL);
        struct io_uring_cqe *c;
        if (io_uring_wait_cqe(&r3, &c))
            return 1;
        printf("; with it = %d, CQE [%llu %d]\n", ret, (unsigned long long)c->user_data, c->res);
        io_uring_cqe_seen(&r3, c);
        io_uring_queue_exit(&r3);
    }
    if (want("pollring")) {
        /* Seeds 2098, 5802, 11077, 29807 (POLL_ADD on the ring fd: Linux 5,
         * the Sentry 1): io_uring_poll reports POLLOUT unless the SQ tail
         * minus the SQ head the program sees is exactly sq_entries -- an SQ
         * the program filled past its size is not "full" -- and during a
         * submission that head is the one before the batch (io_commit_sqring
         * publishes the new one at its end).  The Sentry compared with <,
         * on the head it had consumed so far. */
        struct io_uring r4;
        if (io_uring_queue_init(4, &r4, 0))
            return 1;
        struct io_uring_sqe *sq = r4.sq.sqes;
        unsigned mask = *r4.sq.kring_mask, tail = *r4.sq.ktail;
        /* exactly full: the poll is issued first of four */
        for (unsigned i = 0; i < 4; i++) {
            struct io_uring_sqe *s = &sq[(tail + i) & mask];
            if (i == 0)
                io_uring_prep_poll_add(s, r4.ring_fd, POLLIN | POLLOUT);
            else
                io_uring_prep_nop(s);
            s->user_data = 30 + i;
            r4.sq.array[(tail + i) & mask] = (tail + i) & mask;
        }
        __atomic_store_n(r4.sq.ktail, tail + 4, __ATOMIC_RELEASE);
        printf("pollring: full SQ: enter=%d", io_uring_enter(r4.ring_fd, 4, 4, IORING_ENTER_GETEVENTS, NULL));
        usleep(50000);
        ring_order(&r4, ", CQEs");
        /* filled past its size (tail - head = 5): not full */
        tail += 4;
        for (unsigned i = 0; i < 5; i++) {
            struct io_uring_sqe *s = &sq[(tail + i) & mask];
            if (i == 1)
                io_uring_prep_poll_add(s, r4.ring_fd, POLLOUT);
            else
                io_uring_prep_nop(s);
            s->user_data = 40 + i;
            r4.sq.array[(tail + i) & mask] = (tail + i) & mask;
        }
        __atomic_store_n(r4.sq.ktail, tail + 5, __ATOMIC_RELEASE);
        printf("  over-filled SQ: enter=%d", io_uring_enter(r4.ring_fd, 4, 4, IORING_ENTER_GETEVENTS, NULL));
        usleep(50000);
        ring_order(&r4, ", CQEs");
        /* Seeds 13914, 26397 and others: a multishot poll on a ring fd
         * posts what is ready at once (F_MORE), and the first batch of
         * CQEs of that ring -- a wake-up keyed EPOLLIN | EPOLL_URING_WAKE
         * -- ends it with POLLIN (io_poll_wake makes it one-shot). */
        struct io_uring r5;
        if (io_uring_queue_init(4, &r5, 0))
            return 1;
        for (int k = 0; k < 2; k++) {
            struct io_uring_sqe *s = io_uring_get_sqe(&r5);
            io_uring_prep_poll_multishot(s, ring.ring_fd, k ? POLLIN | POLLOUT : POLLIN);
            s->user_data = 50 + k;
            io_uring_submit(&r5);
            reap(&r5, k ? "  multishot IN|OUT on a ring fd: armed" : "  multishot IN on a ring fd: armed", k);
            for (int i = 0; i < 2; i++) {
                s = io_uring_get_sqe(&ring);
                io_uring_prep_nop(s);
                s->user_data = 60 + i;
                io_uring_submit(&ring);
                reap(&r5, "    after a NOP there", i == 0);
                reap(&ring, "    (its CQEs)", 1);
            }
        }
        io_uring_queue_exit(&r5);
        io_uring_queue_exit(&r4);
    }
    if (want("pollnull")) {
        /* Seeds 3534, 17705, 25037, 28046 (io_uring_enter = -1 under the
         * Sentry): POLL_ADD on a file whose driver has no ->poll, like
         * /dev/null, for events it does not have.  Linux finds no wait
         * queue and fails it with EINVAL (what is ready, for an
         * edge-triggered poll, completes it at once); the Sentry tried to
         * wait, the host's epoll refused the file (EPERM), and that error
         * ended the whole io_uring_enter. */
        int null = open("/dev/null", O_RDWR);
        if (null < 0)
            return 1;
        SQE(70, 0, io_uring_prep_poll_add(s, null, 0x2000 /* POLLRDHUP */));
        SQE(71, 0, io_uring_prep_poll_add(s, null, POLLIN | POLLPRI));
        SQE(72, 0, io_uring_prep_poll_multishot(s, null, POLLOUT));
        SQE(73, 0, );
        run("poll on /dev/null", 4);
        close(null);
    }
    if (want("polloneshot")) {
        /* Seeds 3185, 10948: a multishot POLL_ADD whose events include
         * EPOLLONESHOT (1 << 30).  Linux keeps the program's control bits
         * (io_poll_parse_events), so the poll ends at its first event: a
         * CQE without IORING_CQE_F_MORE.  The Sentry dropped the bit and
         * kept the poll armed. */
        int e = eventfd(1, 0);
        if (e < 0)
            return 1;
        SQE(80, 0, io_uring_prep_poll_multishot(s, e, POLLIN | (1U << 30)));
        SQE(81, 0, io_uring_prep_poll_multishot(s, e, POLLIN));
        run("multishot poll with EPOLLONESHOT", 2);
        SQE(82, 0, io_uring_prep_poll_remove(s, 80));
        SQE(83, 0, io_uring_prep_poll_remove(s, 81));
        run("remove both", 3);
        close(e);
    }
    return 0;
}
