/* The harness shared by the fuzz-fix programs (tests/c/fuzz_fixes*.c): one
 * ring, sections picked by argv[1], and CQEs printed sorted by user_data and
 * flags so that what is printed is deterministic. */
#ifndef FUZZ_FIXES_H
#define FUZZ_FIXES_H
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct io_uring ring;
static const char *wanted;

/* The section named on the command line, or all of them. */
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

/* Submit what is queued, wait for n CQEs (a second after the last), print
 * them sorted. */
static void run(const char *what, int n)
{
    struct io_uring_cqe got[32], *cqe;
    int ret = io_uring_submit(&ring), k = 0;
    printf("%s: submit=%d", what, ret);
    while (k < 32) {
        struct __kernel_timespec ts = { k < n ? 5 : 0, k < n ? 0 : 200000000 };
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

/* An SQE: a NOP unless PREP (a liburing prep call on s) says otherwise,
 * with its user_data and flags set after the prep (which clears flags). */
#define SQE(ud, fl, PREP) do { \
        struct io_uring_sqe *s = io_uring_get_sqe(&ring); \
        io_uring_prep_nop(s); \
        PREP; \
        s->user_data = (ud); \
        s->flags = (fl); \
    } while (0)

#endif
