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

static struct io_uring ring;
static const char *wanted;

static int want(const char *name)
{
    return !*wanted || !strcmp(wanted, name);
}

static int cmp(const void *a, const void *b)
{
    const struct io_uring_cqe *x = a, *y = b;
    if (x->user_data != y->user_data)
        return x->user_data < y->user_data ? -1 : 1;
    return (int)x->flags - (int)y->flags;
}

/* Submit what is queued, wait for n CQEs (2 s each at most, then 200 ms
 * for any more), print them sorted. */
static void run(const char *what, int n)
{
    struct io_uring_cqe got[32], *cqe;
    int ret = io_uring_submit(&ring), k = 0;
    printf("%s: submit=%d", what, ret);
    while (k < 32) {
        struct __kernel_timespec ts = { k < n ? 2 : 0, k < n ? 0 : 200000000 };
        if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
            break;
        got[k++] = *cqe;
        io_uring_cqe_seen(&ring, cqe);
    }
    qsort(got, k, sizeof(got[0]), cmp);
    for (int i = 0; i < k; i++)
        printf(" [%llu %d %#x]", (unsigned long long)got[i].user_data, got[i].res, got[i].flags);
    printf("\n");
}

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
    return 0;
}
