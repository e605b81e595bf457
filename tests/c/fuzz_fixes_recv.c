/* Divergences the differential fuzzer (tools/fuzz) found in RECV and
 * RECVMSG: a multishot RECV's sqe->len (a cap on each receive) and
 * sqe->optlen (a limit on the bytes the whole multishot receives, Linux
 * 6.18), a multishot receive issued from io-wq on a file that cannot be
 * polled, and a receive into a buffer that faults part-way (the data Linux
 * could not copy stays queued).  One section each, picked by argv[1]
 * (default: all), each on a fresh ring; tests/test_sandbox_fuzz_fixes_recv.py
 * checks the output is Linux's.  CQEs are printed sorted by user_data. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_fixes.h"

#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif

#define GROUP 7
#define BUFLEN 64
#define NBUFS 8

static char bufs[NBUFS][BUFLEN];

static void fresh_ring(void)
{
    static int have;
    if (have)
        io_uring_queue_exit(&ring);
    if (io_uring_queue_init(16, &ring, 0))
        exit(1);
    have = 1;
}

/* NBUFS legacy provided buffers of BUFLEN bytes, ids 0.., in group GROUP. */
static void provide(void)
{
    memset(bufs, '.', sizeof bufs);
    SQE(99, 0, io_uring_prep_provide_buffers(s, bufs, BUFLEN, NBUFS, GROUP, 0));
    struct io_uring_cqe *cqe;
    io_uring_submit(&ring);
    if (io_uring_wait_cqe(&ring, &cqe) || cqe->res != 0)
        exit(2);
    io_uring_cqe_seen(&ring, cqe);
}

static void put(int fd, const char *s, int n)
{
    if (write(fd, s, n) != n)
        exit(3);
}

static void show_bufs(int n)
{
    printf("buffers:");
    for (int i = 0; i < n; i++)
        printf(" %.*s", 12, bufs[i]);
    printf("\n");
}

static void left(int fd)
{
    char buf[256];
    int n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    printf("left in the socket: %d %.*s\n", n, n > 0 ? n : 0, buf);
}

/* A multishot RECV from fd into group GROUP. */
#define MSHOT(s, fd, len) do { \
        io_uring_prep_recv(s, fd, NULL, len, 0); \
        s->ioprio = IORING_RECV_MULTISHOT; \
        s->buf_group = GROUP; \
    } while (0)

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    int sv[2], p[2];
    alarm(60);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p))
        return 1;
    /* Two pages, the second PROT_NONE: a buffer running into it faults. */
    char *area = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED || mprotect(area + 4096, 4096, PROT_NONE))
        return 1;
    memset(area, '.', 4096);
    char *guard = area + 4096;

    if (want("mshotlen")) {
        /* Seeds 5555, 23691 (a multishot RECV with a length): since Linux
         * 6.17 sqe->len is taken (io_recvmsg_prep: mshot_len) -- each
         * receive into a provided buffer is capped at that length.  The
         * Sentry served this already; what those seeds' SQEs also carried,
         * and it refused, is sqe->optlen (section mshottotal). */
        fresh_ring();
        provide();
        put(sv[0], "0123456789", 10);
        SQE(1, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 4));
        run("multishot RECV with len 4, 10 bytes queued", 3);
        shutdown(sv[0], SHUT_WR);
        run("the peer shut down", 1);
        show_bufs(3);
        /* Seed 23691: with a group that has no buffers, -ENOBUFS. */
        SQE(2, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 61); s->buf_group = 1);
        run("multishot RECV with len 61 and an empty group", 1);
        close(sv[0]);
        close(sv[1]);
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
            return 1;
    }
    if (want("mshotiowq")) {
        /* Seed 3713: a multishot RECV that goes to io-wq (IOSQE_IO_DRAIN
         * or IOSQE_ASYNC) on a file that cannot be polled fails with
         * -EBADFD (io_wq_submit_work); on a socket it waits for data
         * (an armed poll) before it picks a buffer. */
        fresh_ring();
        provide();
        char path[] = "/tmp/pysentry-fuzz-recv.XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            return 1;
        unlink(path);
        SQE(1, IOSQE_BUFFER_SELECT, MSHOT(s, fd, 0));
        run("multishot RECV on a file", 1);
        SQE(2, IOSQE_BUFFER_SELECT | IOSQE_ASYNC, MSHOT(s, fd, 0));
        run("  with IOSQE_ASYNC", 1);
        SQE(3, IOSQE_BUFFER_SELECT, MSHOT(s, p[0], 0));
        run("multishot RECV on a pipe", 1);
        SQE(4, IOSQE_BUFFER_SELECT | IOSQE_ASYNC, MSHOT(s, sv[1], 0));
        run("multishot RECV with IOSQE_ASYNC on an empty socket", 0);
        put(sv[0], "abc", 3);
        run("3 bytes sent", 1);
        SQE(5, 0, io_uring_prep_cancel64(s, 4, 0));
        run("cancelled", 2);
        SQE(6, IOSQE_BUFFER_SELECT | IOSQE_ASYNC, MSHOT(s, p[0], 0));
        run("multishot RECV with IOSQE_ASYNC on an empty pipe", 0);
        put(p[1], "abc", 3);
        run("3 bytes written", 1);
        /* io-wq's poll counts as the one RECVSEND_POLL_FIRST asks for,
         * even with MSG_DONTWAIT (no -EAGAIN). */
        put(sv[0], "abc", 3);
        SQE(8, IOSQE_BUFFER_SELECT | IOSQE_ASYNC, MSHOT(s, sv[1], 0);
            s->ioprio |= IORING_RECVSEND_POLL_FIRST; s->msg_flags = MSG_DONTWAIT);
        run("multishot RECV, POLL_FIRST, MSG_DONTWAIT, IOSQE_ASYNC, 3 bytes queued", 1);
        SQE(9, 0, io_uring_prep_cancel64(s, 8, 0));
        run("cancelled", 2);
        /* Issued inline, MSG_DONTWAIT ends it at the first receive that
         * finds nothing (-EAGAIN). */
        put(sv[0], "abc", 3);
        SQE(10, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 0); s->msg_flags = MSG_DONTWAIT);
        run("multishot RECV with MSG_DONTWAIT, 3 bytes queued", 2);
        SQE(7, IOSQE_BUFFER_SELECT | IOSQE_IO_DRAIN, MSHOT(s, fd, 151));
        run("multishot RECV with len 151 and IOSQE_IO_DRAIN on a file", 1);
        close(fd);
        char c[3];
        if (read(p[0], c, 3) != 3)
            return 1;
    }
    if (want("mshottotal")) {
        /* Seeds 3713, 5555, 23691 (the fuzzer puts an fd number in the
         * splice_fd_in union): sqe->optlen of a multishot RECV is a limit
         * on all it receives (Linux 6.18, mshot_total_len): the receive
         * that reaches it is the last CQE (no IORING_CQE_F_MORE).  A
         * receive is not cut to the limit (only a bundle's buffer pick
         * is).  Anywhere else optlen is -EINVAL.  The Sentry refused it
         * everywhere (EINVAL at prep, which also ended the submission). */
        fresh_ring();
        provide();
        SQE(1, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 0); s->file_index = 10);
        run("multishot RECV with optlen 10, nothing queued", 0);
        put(sv[0], "abcdef", 6);
        run("6 bytes sent", 1);
        put(sv[0], "ghijkl", 6);
        run("6 more", 1);
        put(sv[0], "mnopqrstuvwxyz", 14);
        SQE(2, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 4); s->file_index = 10);
        run("multishot RECV with len 4 and optlen 10, 14 bytes queued", 3);
        show_bufs(5);
        left(sv[1]);
        SQE(3, IOSQE_BUFFER_SELECT, io_uring_prep_recv(s, sv[1], NULL, 0, 0);
            s->buf_group = GROUP; s->file_index = 10);
        run("optlen on a single RECV with a provided buffer", 1);
        SQE(4, 0, io_uring_prep_recv(s, sv[1], area, 8, 0); s->file_index = 1);
        run("optlen on a plain RECV", 1);
        static struct msghdr mh0;
        SQE(5, IOSQE_BUFFER_SELECT, io_uring_prep_recvmsg(s, sv[1], &mh0, 0);
            s->ioprio = IORING_RECV_MULTISHOT; s->buf_group = GROUP; s->file_index = 10);
        run("optlen on a multishot RECVMSG", 1);
        SQE(6, 0, io_uring_prep_recv(s, sv[1], area, 2, 0); s->off = 1);
        run("addr2 on a RECV", 1);
        left(sv[1]);
    }
    if (want("mshottotalbundle")) {
        /* sqe->optlen on a multishot bundle RECV: each pick of buffers
         * stays within what is left of the limit; the receive that
         * reaches it is the last CQE. */
        fresh_ring();
        static char rbufs[8][4];
        memset(rbufs, '.', sizeof rbufs);
        /* A buffer ring of 8 buffers of 4 bytes, group 8 (the ring memory
         * the program's own, registered with IORING_REGISTER_PBUF_RING). */
        struct io_uring_buf_ring *br = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        struct { unsigned long long addr; unsigned entries; unsigned short bgid, flags;
                 unsigned long long resv[3]; } reg = { (unsigned long)br, 8, 8, 0, { 0 } };
        if (br == MAP_FAILED || syscall(__NR_io_uring_register, ring.ring_fd, 22, &reg, 1))
            return 1;
        for (int i = 0; i < 8; i++) {
            br->bufs[i].addr = (unsigned long)rbufs[i];
            br->bufs[i].len = 4;
            br->bufs[i].bid = i;
        }
        __atomic_store_n(&br->tail, 8, __ATOMIC_RELEASE);
        put(sv[0], "abcdefghijklmn", 14);
        SQE(1, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 0); s->buf_group = 8;
            s->ioprio |= IORING_RECVSEND_BUNDLE; s->file_index = 10);
        run("multishot bundle RECV with optlen 10, 14 bytes queued", 1);
        printf("buffers: %.32s\n", (char *)rbufs);
        left(sv[1]);
        put(sv[0], "abcdef", 6);
        SQE(2, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 0); s->buf_group = 8;
            s->ioprio |= IORING_RECVSEND_BUNDLE; s->file_index = 7);
        run("multishot bundle RECV with optlen 7, 6 bytes queued", 1);
        put(sv[0], "ghijkl", 6);
        run("6 more", 1);
        printf("buffers: %.32s\n", (char *)rbufs);
        left(sv[1]);
        /* The limit spans rounds: 14 bytes in the first, then picks cut
         * to the 6 left, the round that reaches 20 being the last CQE. */
        memset(rbufs, '.', sizeof rbufs);
        for (int i = 0; i < 8; i++) {
            br->bufs[i].addr = (unsigned long)rbufs[i];
            br->bufs[i].len = 4;
            br->bufs[i].bid = i;
        }
        __atomic_store_n(&br->tail, 16, __ATOMIC_RELEASE);
        put(sv[0], "abcdefghijklmn", 14);
        SQE(3, IOSQE_BUFFER_SELECT, MSHOT(s, sv[1], 0); s->buf_group = 8;
            s->ioprio |= IORING_RECVSEND_BUNDLE; s->file_index = 20);
        run("multishot bundle RECV with optlen 20, 14 bytes queued", 1);
        put(sv[0], "opqrst", 6);
        run("6 more", 1);
        printf("buffers: %.32s\n", (char *)rbufs);
        left(sv[1]);
    }
    if (want("recvfault")) {
        /* A RECV into a buffer that faults part-way: the unix stream's skb
         * copy fails, the receive returns what earlier skbs gave, or
         * -EFAULT, and the skb it could not copy stays queued (the bytes
         * copied before the fault stay in the buffer).  The Sentry
         * received it all. */
        fresh_ring();
        put(sv[0], "0123456789", 10);
        SQE(1, 0, io_uring_prep_recv(s, sv[1], guard - 4, 64, 0));
        run("RECV of one 10-byte send into a buffer that faults after 4 bytes", 1);
        printf("the 4 bytes: %.4s\n", guard - 4);
        left(sv[1]);
        put(sv[0], "abc", 3);
        put(sv[0], "defghij", 7);
        memset(guard - 4, '.', 4);
        SQE(2, 0, io_uring_prep_recv(s, sv[1], guard - 4, 64, 0));
        run("RECV of a 3-byte and a 7-byte send into it", 1);
        printf("the 4 bytes: %.4s\n", guard - 4);
        left(sv[1]);
        put(sv[0], "0123456789", 10);
        static struct iovec iov[2];
        static struct msghdr mh;
        iov[0].iov_base = area;
        iov[0].iov_len = 2;
        iov[1].iov_base = guard - 4;
        iov[1].iov_len = 64;
        mh.msg_iov = iov;
        mh.msg_iovlen = 2;
        SQE(3, 0, io_uring_prep_recvmsg(s, sv[1], &mh, 0));
        run("RECVMSG into 2 bytes, then 4 before the fault", 1);
        printf("the bytes: %.2s %.4s\n", area, guard - 4);
        left(sv[1]);
        int d[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, d))
            return 1;
        put(d[0], "datagram!!", 10);
        put(d[0], "second", 6);
        SQE(4, 0, io_uring_prep_recv(s, d[1], guard - 4, 64, 0));
        run("RECV of a datagram into it", 1);
        left(d[1]);
        provide();
        put(sv[0], "0123456789", 10);
        SQE(5, IOSQE_BUFFER_SELECT, io_uring_prep_recv(s, sv[1], NULL, 0, 0);
            s->buf_group = GROUP);
        run("RECV into a provided buffer (no fault)", 1);
        show_bufs(1);
        /* A provided buffer that faults after 4 bytes: -EFAULT, the buffer
         * goes back to its group (the next receive gets it again). */
        SQE(98, 0, io_uring_prep_provide_buffers(s, guard - 4, 64, 1, 9, 0));
        run("a buffer of group 9 that faults after 4 bytes", 1);
        put(sv[0], "0123456789", 10);
        memset(guard - 4, '.', 4);
        SQE(6, IOSQE_BUFFER_SELECT, io_uring_prep_recv(s, sv[1], NULL, 0, 0); s->buf_group = 9);
        run("RECV into it", 1);
        printf("the 4 bytes: %.4s\n", guard - 4);
        SQE(7, IOSQE_BUFFER_SELECT, io_uring_prep_recv(s, sv[1], NULL, 3, 0); s->buf_group = 9);
        run("RECV of 3 bytes into it", 1);
        left(sv[1]);
        /* A multishot RECVMSG into a buffer whose payload part (after the
         * 16-byte io_uring_recvmsg_out) faults after 24 bytes. */
        SQE(97, 0, io_uring_prep_provide_buffers(s, guard - 40, 64, 1, 10, 0));
        run("a buffer of group 10 that faults after 40 bytes", 1);
        static struct msghdr mh2;
        put(sv[0], "abcdefghijklmnopqrstuvwxyz0123", 30);
        SQE(8, IOSQE_BUFFER_SELECT, io_uring_prep_recvmsg(s, sv[1], &mh2, 0);
            s->ioprio = IORING_RECV_MULTISHOT; s->buf_group = 10);
        run("multishot RECVMSG of 30 bytes into it", 1);
        printf("the 24 bytes: %.24s\n", guard - 24);
        left(sv[1]);
    }
    if (want("recvbig")) {
        /* Large buffers (the Sentry checks them only as far as the data
         * queued reaches): one whose end is unmapped but the data does not
         * reach it; one that faults after 70,000 bytes with 100,000 sent
         * (the skbs copied whole before the fault are the result). */
        fresh_ring();
        size_t big = 256 << 10;
        char *b = mmap(NULL, big + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b == MAP_FAILED || mprotect(b + big, 4096, PROT_NONE))
            return 1;
        put(sv[0], "0123456789", 10);
        SQE(1, 0, io_uring_prep_recv(s, sv[1], b, big + 64, 0));
        run("RECV of 10 bytes into 256 KiB that run into a guard page", 1);
        static char lots[100000];
        for (int i = 0; i < (int)sizeof lots; i++)
            lots[i] = 'a' + i % 26;
        put(sv[0], lots, sizeof lots);
        SQE(2, 0, io_uring_prep_recv(s, sv[1], b + big - 70000, 200000, 0));
        run("RECV of 100,000 bytes into a buffer that faults after 70,000", 1);
        int total = 0, n;
        char tmp[4096];
        while ((n = recv(sv[1], tmp, sizeof tmp, MSG_DONTWAIT)) > 0)
            total += n;
        printf("left in the socket: %d\n", total);
        printf("copied right: %d\n", !memcmp(b + big - 70000, lots, 60000));
        munmap(b, big + 4096);
    }
    if (want("bundlefault")) {
        /* A bundle RECV whose second ring buffer faults after 2 bytes. */
        fresh_ring();
        struct io_uring_buf_ring *br = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        struct { unsigned long long addr; unsigned entries; unsigned short bgid, flags;
                 unsigned long long resv[3]; } reg = { (unsigned long)br, 4, 8, 0, { 0 } };
        if (br == MAP_FAILED || syscall(__NR_io_uring_register, ring.ring_fd, 22, &reg, 1))
            return 1;
        br->bufs[0].addr = (unsigned long)area;
        br->bufs[0].len = 4;
        br->bufs[0].bid = 0;
        br->bufs[1].addr = (unsigned long)(guard - 2);
        br->bufs[1].len = 8;
        br->bufs[1].bid = 1;
        __atomic_store_n(&br->tail, 2, __ATOMIC_RELEASE);
        memset(area, '.', 4);
        memset(guard - 2, '.', 2);
        put(sv[0], "0123", 4);
        put(sv[0], "456789", 6);
        SQE(1, IOSQE_BUFFER_SELECT, io_uring_prep_recv(s, sv[1], NULL, 0, 0); s->buf_group = 8;
            s->ioprio = IORING_RECVSEND_BUNDLE);
        run("bundle RECV of a 4-byte and a 6-byte send, the second buffer faulting after 2", 1);
        printf("the bytes: %.4s %.2s\n", area, guard - 2);
        left(sv[1]);
        put(sv[0], "0123456789", 10);
        SQE(2, IOSQE_BUFFER_SELECT, io_uring_prep_recv(s, sv[1], NULL, 0, 0); s->buf_group = 8;
            s->ioprio = IORING_RECVSEND_BUNDLE);
        run("bundle RECV of one 10-byte send, the same buffers", 1);
        printf("the bytes: %.4s %.2s\n", area, guard - 2);
        left(sv[1]);
    }
    return 0;
}
