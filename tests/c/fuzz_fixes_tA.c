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
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_fixes.h"

#define BAD ((void *)0x1000)        /* user space, never mapped */

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
    return 0;
}
