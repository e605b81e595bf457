/* Links, drain, cancel and timeout differences the differential fuzzer
 * (tools/fuzz) found.  One section each, picked by argv[1] (default: all);
 * tests/test_sandbox_fuzz_fixes_tB.py checks the output is Linux's.  CQEs
 * are printed sorted by user_data. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_fixes.h"

static void efd_write(int efd)
{
    uint64_t one = 1;
    if (write(efd, &one, sizeof one) != sizeof one)
        exit(1);
}

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    static uint64_t val[8];
    alarm(60);
    int efd = eventfd(0, 0);
    if (efd < 0)
        return 1;

    if (want("drainlink")) {
        /* Seed 25577: IOSQE_IO_DRAIN on a request inside a link.  Linux
         * (io_init_drain) drains the link's head -- the link waits for
         * everything submitted before it -- and the request after the
         * link too (ctx->drain_next).  The Sentry looked at the head's
         * own flags only and ran the link at once. */
        if (io_uring_queue_init(16, &ring, 0))
            return 1;
        SQE(1, 0, io_uring_prep_read(s, efd, &val[0], 8, 0));   /* waits */
        SQE(2, IOSQE_IO_LINK, );
        SQE(3, IOSQE_IO_DRAIN, );
        SQE(4, 0, );
        run("read waiting, then a link with a drain inside, then a nop", 0);
        efd_write(efd);
        run("after the eventfd write", 4);
        io_uring_queue_exit(&ring);
    }
    if (want("drainsticky")) {
        /* Seed 25577 too: once a drain was seen, Linux keeps draining
         * (ctx->drain_active) until a request without IOSQE_IO_DRAIN finds
         * nothing in flight: a NOP submitted later waits for a read the
         * drain's own batch started. */
        if (io_uring_queue_init(16, &ring, 0))
            return 1;
        SQE(5, IOSQE_IO_DRAIN, );
        SQE(6, 0, io_uring_prep_read(s, efd, &val[1], 8, 0));   /* waits */
        run("a drained nop, then a read", 1);
        SQE(7, 0, );
        run("a nop submitted after them", 0);
        efd_write(efd);
        run("after the eventfd write", 2);
        SQE(8, 0, );
        run("a nop once nothing is in flight", 1);
        SQE(9, 0, );
        run("and another", 1);
        io_uring_queue_exit(&ring);
    }
    if (want("drainfail")) {
        /* A drain whose request then fails initialisation (here an unknown
         * personality) still leaves the drain active (io_init_drain comes
         * first in io_init_req): a read of a regular file after it -- an
         * SQE the C data plane would take -- waits for the eventfd read. */
        int fd = open("/proc/self/exe", O_RDONLY);
        static char buf[16];
        if (fd < 0 || io_uring_queue_init(16, &ring, 0))
            return 1;
        SQE(31, 0, io_uring_prep_read(s, efd, &val[2], 8, 0));  /* waits */
        SQE(32, IOSQE_IO_DRAIN, s->personality = 0x7ff);
        run("read waiting, a drain failing init", 1);
        SQE(33, 0, io_uring_prep_read(s, fd, buf, 4, 0));
        run("a file read", 0);
        efd_write(efd);
        run("after the eventfd write", 2);
        io_uring_queue_exit(&ring);
        close(fd);
    }
    if (want("drainzc")) {
        /* Seed 25071 (and the SEND_ZC CQEs Linux never posts with drain):
         * a zero-copy send's prep allocates its notification, a request
         * Linux 6.18's drain counts as in flight but never finds in its
         * defer list -- so a SEND_ZC that has to wait for a drain never
         * runs, nor does anything queued behind it. */
        int sv[2];
        static char buf[16] = "zero-copy";
        if (io_uring_queue_init(16, &ring, 0) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
            return 1;
        SQE(21, IOSQE_IO_DRAIN, );
        SQE(22, 0, io_uring_prep_send_zc(s, sv[0], buf, 4, 0, 0));
        SQE(23, 0, );
        run("a drained nop, a zero-copy send, a nop", 1);
        SQE(24, 0, );
        run("a nop later", 0);
        io_uring_queue_exit(&ring);
    }
    return 0;
}
