/* The differential fuzzer's largest class (tools/fuzz, `scribble 2`): a
 * program that moves its CQ head backwards, then looks at what sits in the
 * CQ ring's slots.  Linux 6.18 reads the CQ head only when it refills its
 * run of free slots (io_cqe_cache_refill: from the tail to the first of
 * the head and the end of the array) and fills the slots of that run
 * without looking again (io_get_cqe_overflow); once the run is used up,
 * the refill counts the CQEs queued as min(tail - head, cq_entries), so a
 * head moved back by more than the free space gives no run and the CQE
 * overflows; flushing the overflow list does the same refill.  A
 * multishot CQE (IORING_CQE_F_MORE) takes a slot of the run the same way
 * (io_req_post_cqe -> io_get_cqe).  One section each, picked by argv[1]
 * (default: all), each on a fresh ring; tests/test_sandbox_fuzz_fixes_cqback.py
 * checks the output is Linux's.  The ring is driven by hand: the head is
 * the program's to move. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *wanted;

static int want(const char *name)
{
    return !*wanted || !strcmp(wanted, name);
}

static struct io_uring r;
static int have_ring;

static void fresh_ring(unsigned entries)
{
    if (have_ring)
        io_uring_queue_exit(&r);
    if (io_uring_queue_init(entries, &r, 0))
        exit(1);
    have_ring = 1;
}

/* Queue n NOPs with user_data ud, ud+1, ... and submit them (no wait). */
static void nops(unsigned long long ud, int n)
{
    for (int i = 0; i < n; i++) {
        struct io_uring_sqe *s = io_uring_get_sqe(&r);
        io_uring_prep_nop(s);
        s->user_data = ud + i;
    }
    int ret = io_uring_submit(&r);
    if (ret != n)
        printf("  submit %d of %d\n", ret, n);
}

/* The tail, every slot of the CQ array, the head as the program set it
 * (relative to the tail) and the overflow flag. */
static void dump(const char *what)
{
    unsigned tail = __atomic_load_n(r.cq.ktail, __ATOMIC_ACQUIRE), head = *r.cq.khead;
    printf("%s: tail %u, tail-head %d, slots", what, tail, (int)(tail - head));
    for (unsigned i = 0; i < r.cq.ring_entries; i++)
        printf(" %llu/%d", (unsigned long long)r.cq.cqes[i].user_data, r.cq.cqes[i].res);
    printf(", overflow %d\n", !!(IO_URING_READ_ONCE(*r.sq.kflags) & IORING_SQ_CQ_OVERFLOW));
}

/* The program has read everything: head = tail; then an enter with
 * GETEVENTS flushes the overflow list (io_cqring_wait). */
static void catch_up(const char *what)
{
    *r.cq.khead = __atomic_load_n(r.cq.ktail, __ATOMIC_ACQUIRE);
    int ret = io_uring_enter(r.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, NULL);
    printf("%s: enter=%d\n", what, ret);
    dump("  then");
}

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    alarm(60);

    if (want("runout")) {
        /* Seeds 940 5789 and the like: the first CQE took a run of all 8
         * slots; after the head moved back by 64 the rest of that run is
         * still filled (slots 2..7), and the refill after it sees 66
         * queued: no room, the last two overflow.  Once the program has
         * caught up, the flush refills from slot 0. */
        fresh_ring(4);
        nops(1, 2);
        *r.cq.khead -= 64;
        nops(10, 4);
        nops(20, 4);
        dump("head back by 64, 8 NOPs");
        catch_up("caught up");
    }
    if (want("smallback")) {
        /* A head moved back by less than the free space: the refill after
         * the run is used up gives what tail - head leaves (3 slots), no
         * more. */
        fresh_ring(4);
        nops(1, 4);
        nops(5, 4);
        *r.cq.khead += 5;       /* the program read five */
        *r.cq.khead -= 2;       /* and moved back by two */
        nops(10, 4);
        dump("8 NOPs, 5 read, head back by 2, 4 NOPs");
        catch_up("caught up");
    }
    if (want("arrayend")) {
        /* The run ends at the end of the array: two slots (6, 7) are left
         * of it when the head moves back, and the refill at slot 0 finds
         * no room.  Without the move the refill wraps to slot 0. */
        fresh_ring(4);
        nops(1, 4);
        nops(5, 2);
        *r.cq.khead += 6;
        *r.cq.khead -= 2147483648u;
        nops(10, 4);
        dump("6 NOPs read, head back by 2^31, 4 NOPs");
        catch_up("caught up");
        fresh_ring(4);
        nops(1, 4);
        nops(5, 2);
        *r.cq.khead += 6;
        nops(10, 4);
        dump("6 NOPs read, 4 NOPs");
    }
    if (want("stalerun")) {
        /* The run is taken when the CQ is nearly full (one slot), and the
         * program then reads everything: the next CQE still uses that one
         * slot, and only the refill after it sees the room. */
        fresh_ring(4);
        nops(1, 4);
        nops(5, 3);             /* one run of 8: slots 0..6 used, 7 left */
        *r.cq.khead += 7;       /* read all seven */
        nops(10, 3);
        dump("7 NOPs read, 3 NOPs");
    }
    if (want("multishot")) {
        /* A multishot poll's CQEs (F_MORE) take slots of the run like any
         * CQE: with the head moved back by 64 the poll goes on posting
         * into slots 2..7, and ends (no F_MORE) only when the run is used
         * up and the refill finds no room. */
        int p[2];
        if (pipe(p))
            return 1;
        fresh_ring(4);
        nops(1, 1);
        struct io_uring_sqe *s = io_uring_get_sqe(&r);
        io_uring_prep_poll_multishot(s, p[0], POLLIN);
        s->user_data = 2;
        io_uring_submit(&r);
        *r.cq.khead -= 64;
        char c[16];
        for (int i = 0; i < 8; i++) {
            /* each write is one edge: one CQE (the byte is read after
             * the poll has seen it) */
            if (write(p[1], "x", 1) != 1)
                return 1;
            usleep(20000);
            io_uring_enter(r.ring_fd, 0, 0, 0, NULL);   /* let task work run */
            if (read(p[0], c, 1) != 1)
                return 1;
        }
        dump("multishot poll, head back by 64, 8 writes");
        printf("  flags of slots 1..7:");
        for (unsigned i = 1; i < 8; i++)
            printf(" %#x", r.cq.cqes[i].flags);
        printf("\n");
        catch_up("caught up");
        printf("  the last CQE, flushed from the overflow list: flags %#x\n", r.cq.cqes[0].flags);
    }
    if (want("zcnotif")) {
        /* Seed 1104 (its final dump of the slots showed the order): a
         * zero-copy send's notification is task work in Linux
         * (io_notif_flush), so it comes after every CQE its batch
         * flushes; one that failed before sending flushes it when freed,
         * after the task work of its link (io_free_batch_list:
         * io_queue_next, then io_clean_op).  The Sentry posted it right
         * after the send's own CQE.  CQEs in the order posted. */
        int p[2];
        if (pipe(p))
            return 1;
        static char data[8] = "zcnotif";
        fresh_ring(8);
        struct io_uring_sqe *s = io_uring_get_sqe(&r);
        io_uring_prep_send_zc(s, p[0], data, 8, 0, 0);
        s->user_data = 1;
        s = io_uring_get_sqe(&r);
        io_uring_prep_nop(s);
        s->user_data = 2;
        s = io_uring_get_sqe(&r);
        io_uring_prep_send_zc(s, p[0], data, 8, 0, 0);
        s->user_data = 3;
        s->flags = IOSQE_IO_LINK;
        s = io_uring_get_sqe(&r);
        io_uring_prep_nop(s);
        s->user_data = 4;
        s = io_uring_get_sqe(&r);
        io_uring_prep_nop(s);
        s->user_data = 5;
        printf("SEND_ZC on a pipe, NOP, SEND_ZC linked to a NOP, NOP: submit=%d\n",
               io_uring_submit_and_wait(&r, 7));
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { 0, 200000000 };
        while (!io_uring_wait_cqe_timeout(&r, &cqe, &ts)) {
            printf("  %llu %d %#x\n", (unsigned long long)cqe->user_data, cqe->res, cqe->flags);
            io_uring_cqe_seen(&r, cqe);
        }
    }
    if (want("asyncorder")) {
        /* Seeds 8672 9582: an IOSQE_ASYNC request runs in an io-wq worker
         * (io_queue_iowq), whose CQE comes after those the batch completes
         * inline and flushes; with a full CQ it is the one that overflows.
         * The Sentry issued it in SQ order.  CQEs in the order posted. */
        int n = 3;
        if (argc > 2)
            n = atoi(argv[2]);
        for (int round = 0; round < n; round++) {
            fresh_ring(2);      /* 4 CQ slots */
            struct io_uring_sqe *s = io_uring_get_sqe(&r);
            io_uring_prep_nop(s);
            s->user_data = 1;
            s->flags = IOSQE_ASYNC;
            s = io_uring_get_sqe(&r);
            io_uring_prep_nop(s);
            s->user_data = 2;
            io_uring_submit_and_wait(&r, 2);
            printf("NOP with IOSQE_ASYNC, NOP:");
            unsigned head = *r.cq.khead, tail = __atomic_load_n(r.cq.ktail, __ATOMIC_ACQUIRE);
            for (; head != tail; head++)
                printf(" %llu", (unsigned long long)r.cq.cqes[head & 3].user_data);
            *r.cq.khead = tail;
            printf("\n");
        }
    }
    if (want("forceasync")) {
        /* Seeds 15427 18190: ops whose prep sets REQ_F_FORCE_ASYNC (SPLICE,
         * STATX, the fs and xattr ops, ...) always run in io-wq: their CQE
         * follows the batch's inline ones, as with IOSQE_ASYNC. */
        int n = 3, p[2];
        if (argc > 2)
            n = atoi(argv[2]);
        if (pipe(p))
            return 1;
        for (int round = 0; round < n; round++) {
            fresh_ring(2);
            struct io_uring_sqe *s = io_uring_get_sqe(&r);
            io_uring_prep_splice(s, p[0], 0, p[1], -1, 16, 0);   /* an offset on a pipe */
            s->user_data = 1;
            s = io_uring_get_sqe(&r);
            io_uring_prep_nop(s);
            s->user_data = 2;
            io_uring_submit_and_wait(&r, 2);
            printf("SPLICE (ESPIPE), NOP:");
            unsigned head = *r.cq.khead, tail = __atomic_load_n(r.cq.ktail, __ATOMIC_ACQUIRE);
            for (; head != tail; head++)
                printf(" %llu/%d", (unsigned long long)r.cq.cqes[head & 3].user_data,
                       r.cq.cqes[head & 3].res);
            *r.cq.khead = tail;
            printf("\n");
        }
    }
    return 0;
}
