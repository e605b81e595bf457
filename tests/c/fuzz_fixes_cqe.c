/* Lost completions the differential fuzzer (tools/fuzz) found: requests
 * Linux completes at once that the Sentry left waiting.  One section each,
 * picked by argv[1] (default: all); tests/test_sandbox_fuzz_fixes_cqe.py
 * checks the output is Linux's.  CQEs are printed sorted by user_data. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_fixes.h"

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    int sv[2], p[2], dg[2];
    alarm(30);
    if (io_uring_queue_init(16, &ring, 0) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p)
        || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
        return 1;

    if (want("accept")) {
        /* Seed 1693: ACCEPT on something that is not a listening socket
         * fails at once in Linux -- EINVAL on a connected stream socket,
         * EOPNOTSUPP on a datagram one, ENOTSOCK on a pipe -- even when
         * nothing is readable; the Sentry waited for POLLIN. */
        struct io_uring_sqe *s;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_accept(s, sv[1], NULL, NULL, 0);
        s->user_data = 1;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_accept(s, dg[1], NULL, NULL, 0);
        s->user_data = 2;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_accept(s, p[0], NULL, NULL, 0);
        s->user_data = 3;
        run("accept on a non-listener, nothing readable", 3);
    }
    if (want("splice")) {
        /* Seeds 2058, 2394: SPLICE from a socket with nothing to read into
         * a pipe.  do_splice() checks the offsets before anything could
         * wait: an offset on the socket (no pread) is EINVAL, one on the
         * pipe ESPIPE.  The Sentry waited for the socket to be readable. */
        struct io_uring_sqe *s;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_splice(s, sv[1], 0, p[1], -1, 16, 0);
        s->user_data = 4;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_splice(s, sv[1], -1, p[1], 0, 16, 0);
        s->user_data = 5;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_splice(s, sv[1], 8, p[1], 0, 16, 0);
        s->user_data = 6;
        run("splice from an empty socket into a pipe, at an offset", 3);
    }
    if (want("cqhead")) {
        /* Seeds 1581, 2132, 2411: the program moves the CQ head back by
         * 2^31, so the CQ looks over-full.  Linux still writes the next
         * CQEs into the ring: it took a run of free slots (up to the end
         * of the array) when it last looked at the head, and fills those
         * without looking again.  The Sentry checked the head every time
         * and sent them to the overflow list, where they stayed. */
        struct io_uring r2;
        if (io_uring_queue_init(8, &r2, 0))
            return 1;
        unsigned *khead = r2.cq.khead, *ktail = r2.cq.ktail;
        struct io_uring_sqe *s = io_uring_get_sqe(&r2);
        io_uring_prep_nop(s);
        s->user_data = 7;
        io_uring_submit(&r2);
        *khead -= 0x80000000u;
        for (int i = 8; i < 10; i++) {
            s = io_uring_get_sqe(&r2);
            io_uring_prep_nop(s);
            s->user_data = i;
            io_uring_submit(&r2);
        }
        unsigned tail = __atomic_load_n(ktail, __ATOMIC_ACQUIRE);
        printf("CQ head moved back: tail %u, slots", tail);
        for (unsigned i = 0; i < tail && i < 16; i++)
            printf(" [%llu %d]", (unsigned long long)r2.cq.cqes[i].user_data, r2.cq.cqes[i].res);
        printf(", overflow flag %d\n", !!(*r2.sq.kflags & IORING_SQ_CQ_OVERFLOW));
        *khead = tail;
        io_uring_queue_exit(&r2);
    }
    if (want("socketdirect")) {
        /* Seed 1693: a direct SOCKET on a ring without a file table gives
         * ENXIO from installing the socket, which Linux posts without
         * failing the request: its link goes on (the READ after it was
         * cancelled under the Sentry), and CQE_SKIP_SUCCESS still holds. */
        static char b[8];
        struct io_uring_sqe *s;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_socket_direct(s, AF_UNIX, SOCK_DGRAM, 0, 0, 0);
        s->user_data = 10;
        s->flags |= IOSQE_IO_LINK;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_read(s, p[0], b, 0, 0);
        s->user_data = 11;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_socket_direct(s, AF_UNIX, SOCK_DGRAM, 0, 0, 0);
        s->user_data = 12;
        s->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
        s = io_uring_get_sqe(&ring);
        io_uring_prep_nop(s);
        s->user_data = 13;
        run("direct socket without a file table, linked", 3);
    }
    return 0;
}
