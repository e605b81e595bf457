/* Divergences the differential fuzzer (tools/fuzz) found that were left
 * open after the 30,000-seed triage: IOSQE_IO_DRAIN when a request of the
 * same batch failed initialisation (the batch's completed requests count
 * as allocated until its completions are flushed), and READ/WRITE on a
 * ring's own fd, which Linux issues only when io_uring_poll says the ring
 * is ready for it.  One section each, picked by argv[1] (default: all),
 * each on a fresh ring; tests/test_sandbox_fuzz_fixes_misc.py checks the
 * output is Linux's.  CQEs are printed sorted by user_data. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "fuzz_fixes.h"

static void on_signal(int sig)
{
    (void)sig;
}

static void fresh_ring(unsigned entries, unsigned flags)
{
    static int have;
    if (have)
        io_uring_queue_exit(&ring);
    if (io_uring_queue_init(entries, &ring, flags))
        exit(1);
    have = 1;
}

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    int p[2];
    alarm(60);
    if (pipe(p))
        return 1;
    static char data[64] = "0123456789abcdefghijklmnopqrstuvwxyz";
    static char buf[64];
    /* The iovecs READV/WRITEV SQEs point at: Linux reads them when the SQE
     * is submitted, so they must outlive SQE()'s block (a compound literal
     * there is dead by then, and gcc reuses its stack slot). */
    static struct iovec buf_iov = { buf, 1 }, data_iov = { data, 8 };
    char c;

    if (want("drainflush")) {
        /* Seed 10582: a drained request that fails initialisation (no such
         * personality) and, in the same batch, a POLL_ADD behind it.  The
         * failed request is freed only when the batch's completions are
         * flushed, so io_drain_req() finds it still allocated and keeps
         * the poll on the defer list until then; and since only
         * io_drain_req() stops the drain, the ring still drains when the
         * flush lets the poll go: the NOP of the next submission waits for
         * the poll.  The Sentry freed the failed request at once, issued
         * the poll, stopped draining and ran the NOP. */
        fresh_ring(8, IORING_SETUP_SUBMIT_ALL);
        SQE(1, IOSQE_IO_DRAIN, s->personality = 999);
        SQE(2, 0, io_uring_prep_poll_add(s, p[0], POLLIN));
        run("a drained NOP that fails initialisation, then POLL_ADD", 1);
        SQE(3, 0, );
        run("a NOP after them", 0);
        if (write(p[1], "x", 1) != 1)
            return 1;
        run("the pipe written", 2);
        if (read(p[0], &c, 1) != 1)
            return 1;
    }
    if (want("drainflush2")) {
        /* Seed 10582's own order: the drain failed in one submission; in
         * the next a request fails initialisation before a POLL_ADD. */
        fresh_ring(8, IORING_SETUP_SUBMIT_ALL);
        SQE(1, IOSQE_IO_DRAIN, s->personality = 999);
        run("a drained NOP that fails initialisation", 1);
        SQE(2, 0, s->personality = 999);
        SQE(3, 0, io_uring_prep_poll_add(s, p[0], POLLIN));
        run("a NOP that fails initialisation, then POLL_ADD", 1);
        SQE(4, 0, io_uring_prep_readv(s, p[0], &buf_iov, 1, 0);
            s->rw_flags = 0x80000000);
        run("a READV with an unknown RWF flag after them", 0);
        if (write(p[1], "x", 1) != 1)
            return 1;
        run("the pipe written", 2);
        if (read(p[0], &c, 1) != 1)
            return 1;
    }
    if (want("ringwrite")) {
        /* Seeds 47, 7737, 27039: a WRITE to the ring's own fd in a batch
         * that fills its SQ.  io_write() issues a write only when the file
         * supports NOWAIT or io_uring_poll() says POLLOUT, and the SQ is
         * full as the program published it before the batch: -EAGAIN, and
         * a poll for POLLOUT is armed on the ring.  The ring wakes its
         * pollers only with EPOLLIN (a CQE was posted), which a POLLOUT
         * poll ignores: the write waits until it is cancelled.  When the
         * SQ is not full it is issued, and the ring has no write: EINVAL.
         * The Sentry answered EINVAL at once. */
        fresh_ring(4, 0);
        int rfd = ring.ring_fd;
        SQE(1, 0, io_uring_prep_write(s, rfd, data, 8, 0));
        SQE(2, 0, );
        SQE(3, 0, );
        SQE(4, 0, );
        run("WRITE to the ring fd with NOPs that fill the SQ", 3);
        SQE(5, 0, );
        run("a NOP later", 1);
        SQE(6, 0, io_uring_prep_writev(s, rfd, &data_iov, 1, 0));
        run("WRITEV to the ring fd, the SQ not full", 1);
        SQE(7, 0, io_uring_prep_cancel64(s, 1, 0));
        run("ASYNC_CANCEL of the WRITE", 2);
    }
    if (want("ringread")) {
        /* The same for a READ from the ring fd, which waits for POLLIN: a
         * CQE of the ring wakes it, and it is issued again -- EINVAL. */
        fresh_ring(4, 0);
        int rfd = ring.ring_fd;
        SQE(1, 0, io_uring_prep_read(s, rfd, buf, 8, 0));
        run("READ from the ring fd, no CQE waiting", 0);
        SQE(2, 0, );
        run("a NOP", 2);
        SQE(3, 0, );
        SQE(4, 0, io_uring_prep_read(s, rfd, buf, 8, 0));
        run("a NOP, then READ from the ring fd", 2);
    }
    if (want("ringpollbatch")) {
        /* Seed 11518: a POLL_ADD on the ring's own fd after a request that
         * completed in the same batch.  Linux posts the batch's CQEs when
         * it flushes them at the batch's end (io_submit_state_end), so
         * io_uring_poll() still finds the CQ empty: POLLOUT alone.  The
         * Sentry had written the first CQE already: POLLIN | POLLOUT. */
        fresh_ring(8, 0);
        int rfd = ring.ring_fd;
        SQE(1, 0, io_uring_prep_read(s, p[1], buf, 8, 0));
        SQE(2, 0, io_uring_prep_poll_add(s, rfd, POLLIN | POLLOUT));
        run("READ that fails, then POLL_ADD on the ring fd", 2);
        /* A link's next request is issued by task work after the flush:
         * by then the batch's CQEs are there. */
        SQE(3, 0, );
        SQE(4, IOSQE_IO_LINK, );
        SQE(5, 0, io_uring_prep_poll_add(s, rfd, POLLIN | POLLOUT));
        run("NOP, and POLL_ADD linked after another NOP", 3);
        /* POLLIN alone waits, and the batch's flush wakes it. */
        SQE(6, 0, );
        SQE(7, 0, io_uring_prep_poll_add(s, rfd, POLLIN));
        run("NOP, then POLL_ADD for POLLIN on the ring fd", 2);
        /* The same when the C trap step takes the NOP (the thread has used
         * this ring, so its io_uring_enter is C's until the POLL_ADD): the
         * NOP's CQE still belongs to the batch. */
        SQE(8, 0, );
        SQE(9, 0, io_uring_prep_poll_add(s, rfd, POLLIN | POLLOUT));
        run("NOP, then POLL_ADD for POLLIN | POLLOUT, by C first", 2);
    }
    if (want("openat2tail")) {
        /* Seeds 78715 99832: OPENAT2 with an open_how size larger than the
         * struct.  copy_struct_from_user() checks the tail first, up to its
         * first non-zero byte: one before an unmapped page is E2BIG, an
         * all-zero run into the page EFAULT.  The Sentry read the whole
         * size at once: EFAULT for both. */
        fresh_ring(8, 0);
        char *area = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED || mprotect(area + 4096, 4096, PROT_NONE))
            return 1;
        struct open_how *how = (struct open_how *)(area + 4096 - sizeof(*how) - 16);
        memset(how, 0, sizeof(*how) + 16);
        how->flags = O_RDONLY;
        SQE(1, 0, io_uring_prep_openat2(s, AT_FDCWD, "/", how); s->len = 4096);
        run("OPENAT2, a zero tail running into an unmapped page", 1);
        area[4096 - 3] = 1;
        SQE(2, 0, io_uring_prep_openat2(s, AT_FDCWD, "/", how); s->len = 4096);
        run("OPENAT2, a non-zero byte before the unmapped page", 1);
        SQE(3, 0, io_uring_prep_openat2(s, AT_FDCWD, "/", how); s->len = sizeof(*how) + 13);
        run("OPENAT2, a tail of zeros that ends before it", 1);
    }
    if (want("sigchld")) {
        /* A child exits while the program waits in io_uring_enter.  With
         * SIGCHLD at its default (ignore) Linux drops the signal when it
         * is sent, so the wait runs to its timeout: -ETIME.  With a
         * handler it ends the wait: -EINTR.  The Sentry, whose program is
         * traced (the kernel queues even ignored signals then), answered
         * -EINTR both times. */
        fresh_ring(8, 0);
        for (int handled = 0; handled < 2; handled++) {
            struct sigaction sa;
            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = handled ? on_signal : SIG_DFL;
            sigaction(SIGCHLD, &sa, NULL);
            pid_t pid = fork();
            if (pid == 0) {
                usleep(20000);
                _exit(0);
            }
            struct io_uring_cqe *cqe;
            struct __kernel_timespec ts = { 0, 300 * 1000 * 1000 };
            int ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
            waitpid(pid, NULL, 0);
            printf("wait while a child exits, SIGCHLD %s: %d\n", handled ? "handled" : "default", ret);
        }
        signal(SIGCHLD, SIG_DFL);
    }
    if (want("mshotfull")) {
        /* Seeds 36544, 76668, 90232: a multishot POLL_ADD that is ready as
         * it is armed, submitted onto a full CQ.  Linux runs its first
         * event by task work as the submission ends; a multishot CQE may
         * not overflow, so the poll ends there with a plain CQE (which may,
         * and waits in the overflow list).  The Sentry posted the event
         * when its loop next saw the socket -- after the program had
         * emptied the CQ -- with IORING_CQE_F_MORE. */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
            return 1;
        fresh_ring(2, 0);
        for (int i = 1; i <= 4; i += 2) {
            SQE(i, 0, );
            SQE(i + 1, 0, );
            printf("two NOPs: submit=%d\n", io_uring_submit(&ring));
        }
        SQE(5, 0, io_uring_prep_poll_multishot(s, sv[0], POLLOUT));
        run("multishot POLL_ADD for POLLOUT, the CQ full", 5);
        /* With room, that first event is one CQE (F_MORE), and each later
         * wake-up -- more data -- another; none twice. */
        if (write(sv[0], "a", 1) != 1)
            return 1;
        SQE(6, 0, io_uring_prep_poll_multishot(s, sv[1], POLLIN));
        run("multishot POLL_ADD for POLLIN, data waiting", 1);
        if (write(sv[0], "b", 1) != 1)
            return 1;
        run("more data", 1);
        close(sv[0]);
        close(sv[1]);
    }
    if (want("wakeinwrite")) {
        /* A READ waits on a pipe; the program writes to the pipe and looks
         * at the CQ at once, without a syscall.  Linux has completed the
         * READ by then: the write's wake-up queued task work on the
         * program's thread, run as write(2) returned.  The Sentry does so
         * with PYSENTRY_WAKE_IN_WRITE=1 (else a moment later: the fuzzer's
         * "write-wake" programs, seeds 25165 69434 70832). */
        fresh_ring(4, 0);
        int seen = 0, rounds = 200;
        for (int i = 0; i < rounds; i++) {
            struct io_uring_cqe *cqe;
            SQE(1, 0, io_uring_prep_read(s, p[0], buf, 8, 0));
            if (io_uring_submit(&ring) != 1 || write(p[1], "wake", 4) != 4)
                return 1;
            if (!io_uring_peek_cqe(&ring, &cqe)) {
                seen += cqe->res == 4 && !memcmp(buf, "wake", 4);
                io_uring_cqe_seen(&ring, cqe);
            } else if (io_uring_wait_cqe(&ring, &cqe) == 0) {
                io_uring_cqe_seen(&ring, cqe);
            }
        }
        printf("READs completed when the write returned: %d of %d\n", seen, rounds);
    }
    return 0;
}
