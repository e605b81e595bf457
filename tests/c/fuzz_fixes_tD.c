/* Divergences the differential fuzzer (tools/fuzz) found in the network ops
 * and in what requests leave in files and memory: IOSQE_IO_DRAIN by Linux
 * 6.18's rule (a zero-copy send on the defer list, a drain that failed
 * initialisation), SEND_ZC's notification after bad flags,
 * RECVSEND_POLL_FIRST where Linux arms no poll, and transfers whose buffer
 * faults.  One section each, picked by argv[1] (default: all), each on a
 * fresh ring; tests/test_sandbox_fuzz_fixes_tD.py checks the output is
 * Linux's.  CQEs are printed sorted by user_data. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_fixes.h"

#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif

static void fresh_ring(void)
{
    static int have;
    if (have)
        io_uring_queue_exit(&ring);
    if (io_uring_queue_init(16, &ring, 0))
        exit(1);
    have = 1;
}

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
    memset(area, 'a', 4096);
    char *guard = area + 4096;
    static char data[64] = "0123456789abcdefghijklmnopqrstuvwxyz";

    if (want("zcdrain")) {
        /* Seeds 1214, 4202 and 27 more: a SEND_ZC that goes on the defer
         * list (its own IO_DRAIN here) never leaves it: io_queue_deferred()
         * waits until every allocated request is on the list, and the
         * send's notification is allocated at prep and on no list.  The
         * NOP queued behind it waits with it.  The Sentry sent it (ENOTSOCK
         * on a pipe) and posted both. */
        fresh_ring();
        SQE(1, IOSQE_IO_DRAIN, io_uring_prep_send_zc(s, p[0], data, 8, 0, 0));
        SQE(2, 0, );
        run("SEND_ZC with IO_DRAIN, then a NOP", 0);
    }
    if (want("faileddrain")) {
        /* Seed 1214 minimised: an IO_DRAIN request that fails
         * initialisation (no such personality) still makes the ring drain
         * (io_init_drain() comes first): the next request waits for every
         * request in flight -- here a POLL_ADD on an empty pipe. */
        fresh_ring();
        SQE(1, 0, io_uring_prep_poll_add(s, p[0], POLLIN));
        SQE(2, IOSQE_IO_DRAIN, s->personality = 999);
        run("POLL_ADD, then a drained NOP that fails initialisation", 1);
        SQE(3, 0, );
        run("a NOP after it", 0);
        if (write(p[1], "x", 1) != 1)
            return 1;
        run("the pipe written", 2);
        char c;
        if (read(p[0], &c, 1) != 1)
            return 1;
    }
    if (want("zcdrainlater")) {
        /* Seed 1214: the drain failed initialisation in one submission,
         * the SEND_ZC comes in the next: it goes on the defer list too. */
        fresh_ring();
        SQE(1, IOSQE_IO_DRAIN, s->personality = 999);
        run("a drained NOP that fails initialisation", 1);
        SQE(2, 0, io_uring_prep_send_zc(s, p[0], data, 8, 0, 0));
        SQE(3, 0, );
        run("SEND_ZC and a NOP after it", 0);
    }
    if (want("zcflags")) {
        /* Seed 23593: an unknown SEND_ZC flag fails prep before
         * IORING_SEND_ZC_REPORT_USAGE is taken: the notification says 0,
         * not "copied" (io_send_zc_prep). */
        fresh_ring();
        SQE(1, 0, io_uring_prep_send_zc(s, sv[0], data, 8, 0, 0);
            s->ioprio = IORING_SEND_ZC_REPORT_USAGE | 0x100);
        run("SEND_ZC with REPORT_USAGE and an unknown flag", 2);
    }
    if (want("pollfirst")) {
        /* Seeds 4118, 26664: RECVSEND_POLL_FIRST with MSG_DONTWAIT fails
         * with EAGAIN (io_queue_async: REQ_F_NOWAIT arms no poll), even on
         * a socket that is ready.  Seed 647: so does a POLL_FIRST request
         * in a link left open at the end of a submission, which Linux runs
         * in an io-wq worker where only IOSQE_ASYNC requests poll. */
        fresh_ring();
        SQE(1, 0, io_uring_prep_send(s, sv[0], data, 8, MSG_DONTWAIT);
            s->ioprio = IORING_RECVSEND_POLL_FIRST);
        SQE(2, 0, io_uring_prep_send(s, sv[0], data, 8, 0); s->ioprio = IORING_RECVSEND_POLL_FIRST);
        run("SEND with POLL_FIRST, with and without MSG_DONTWAIT", 2);
        SQE(3, 0, io_uring_prep_recv(s, sv[1], area, 4, MSG_DONTWAIT);
            s->ioprio = IORING_RECVSEND_POLL_FIRST);
        run("RECV with POLL_FIRST and MSG_DONTWAIT, data waiting", 1);
        SQE(4, IOSQE_IO_LINK, );
        SQE(5, IOSQE_IO_LINK, io_uring_prep_send(s, sv[0], data, 8, 0);
            s->ioprio = IORING_RECVSEND_POLL_FIRST);
        run("NOP and SEND with POLL_FIRST, the link left open", 2);
        SQE(6, IOSQE_IO_LINK | IOSQE_ASYNC, io_uring_prep_send(s, sv[0], data, 8, 0);
            s->ioprio = IORING_RECVSEND_POLL_FIRST);
        run("SEND with POLL_FIRST and IOSQE_ASYNC, the link left open", 1);
        char buf[64];
        int n = read(sv[1], buf, sizeof buf);
        printf("left to read: %d\n", n);
    }
    if (want("writefault")) {
        /* Seeds 7846, 9650, 13743 and more: a WRITE past the end of a file
         * from a buffer that faults at its first byte fails with EFAULT,
         * and yet (ext4) the file's size has moved up to the offset; to
         * /dev/null it succeeds.  The Sentry refused it without a write. */
        fresh_ring();
        char path[] = "/tmp/pysentry-fuzz-tD.XXXXXX";
        int fd = mkstemp(path), null = open("/dev/null", O_WRONLY);
        if (fd < 0 || null < 0 || write(fd, area, 4096) != 4096)
            return 1;
        unlink(path);
        SQE(1, 0, io_uring_prep_write(s, fd, guard, 256, 9045));
        SQE(2, 0, io_uring_prep_write(s, fd, guard, 256, 100));
        SQE(3, 0, io_uring_prep_write(s, null, guard, 256, 0));
        run("WRITE from a page that faults", 3);
        struct stat st;
        fstat(fd, &st);
        printf("size after: %lld\n", (long long)st.st_size);
        close(fd);
        close(null);
    }
    if (want("readfault")) {
        /* Seed 20986: a READ from a pipe into a buffer that faults after 4
         * bytes fails with EFAULT, but those 4 bytes were copied (and the
         * pipe keeps all its data). */
        fresh_ring();
        if (write(p[1], data, 10) != 10)
            return 1;
        SQE(1, 0, io_uring_prep_read(s, p[0], guard - 4, 64, -1));
        run("READ from a pipe into a buffer that faults after 4 bytes", 1);
        printf("the 4 bytes: %.4s\n", guard - 4);
        char buf[64];
        int n = read(p[0], buf, sizeof buf);
        printf("left in the pipe: %d %.*s\n", n, n > 0 ? n : 0, buf);
    }
    return 0;
}
