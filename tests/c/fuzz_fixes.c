/* Divergences from Linux the differential fuzzer (tools/fuzz) found, one
 * section each; tests/test_sandbox_fuzz_fixes.py checks the output is
 * Linux's.  Everything printed is deterministic: CQEs are printed sorted by
 * user_data and flags.  argv[1] picks one section (default: all). */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif

#include "fuzz_fixes.h"

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    static char buf[4096], buf2[64];
    int sv[2], p[2];
    alarm(30);
    if (io_uring_queue_init(16, &ring, 0) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p))
        return 1;
    int fd = open("fuzz_fixes.tmp", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int rdonly = open("fuzz_fixes.tmp", O_RDONLY);
    unlink("fuzz_fixes.tmp");
    if (fd < 0 || rdonly < 0 || write(fd, "0123456789", 10) != 10)
        return 1;

    if (want("iovec")) {
        /* import_iovec(): every segment must pass access_ok, or the whole
         * request is EFAULT before any byte moves -- even a segment of length
         * 0, and even when an earlier segment is good. */
        struct iovec iov[2] = { { buf, 4 }, { (void *)0xffff888000000000ULL, 4 } };
        SQE(1, 0, io_uring_prep_writev(s, fd, iov, 2, 0));
        struct iovec iov0[1] = { { (void *)0xffff888000000000ULL, 0 } };
        run("iovec outside user space", 1);
        SQE(2, 0, io_uring_prep_readv(s, fd, iov0, 1, 0));
        run("an empty iovec outside user space", 1);
        char head[5] = { 0 };
        printf("  file unchanged: %d %s\n", (int)pread(fd, head, 4, 0), head);
    }
    if (want("regbuf")) {
        /* io_validate_user_buf_range(): a buffer of length 0 (not NULL) is
         * EFAULT; the wrap check uses the page-aligned length. */
        struct iovec rb = { buf, 0 };
        printf("register a zero-length buffer: %d\n", io_uring_register_buffers(&ring, &rb, 1));
        rb = (struct iovec){ (void *)0xfffffffffffff800ULL, 1 };
        printf("register a buffer whose page wraps: %d\n", io_uring_register_buffers(&ring, &rb, 1));
    }
    if (want("rwinit")) {
        /* A socket has no position: a READ at an offset other than 0 or -1 is
         * ESPIPE (sock_read_iter), RWF_HIPRI without IORING_SETUP_IOPOLL is
         * EINVAL (io_rw_init_file). */
        SQE(3, 0, io_uring_prep_read(s, sv[0], buf, 4, 5));
        SQE(4, 0, io_uring_prep_write(s, sv[0], buf, 4, 7));
        run("read/write a socket at an offset", 2);
        SQE(5, 0, (io_uring_prep_read(s, fd, buf, 4, 0), s->rw_flags = RWF_HIPRI));
        run("RWF_HIPRI without IOPOLL", 1);
    }
    if (want("splice")) {
        /* io_splice: do_splice() checks the open modes (EBADF) before a pipe's
         * offset (ESPIPE), unlike splice(2). */
        if (write(p[1], "ab", 2) != 2)
            return 1;
        SQE(6, 0, io_uring_prep_splice(s, p[0], 0, rdonly, -1, 2, 0));
        run("splice into a read-only file, pipe offset set", 1);
        /* Without a pipe (tee: on both sides) it is EINVAL at once, not a
         * wait for the empty input. */
        SQE(50, 0, io_uring_prep_splice(s, sv[1], -1, sv[0], -1, 10, 0));
        SQE(51, 0, io_uring_prep_splice(s, sv[1], 50, sv[0], 100, 10, 0));
        SQE(52, 0, io_uring_prep_tee(s, sv[1], p[1], 10, 0));
        SQE(53, 0, io_uring_prep_tee(s, p[0], sv[0], 10, 0));
        run("splice or tee without pipes", 4);
    }
    if (want("links")) {
        /* A linked SQE that fails to initialise fails its chain but does not
         * end the batch (io_submit_fail_init): the SQE after the chain runs. */
        SQE(7, IOSQE_IO_LINK, (void)0);
        SQE(8, IOSQE_IO_LINK, s->opcode = 0xfe);
        SQE(9, 0, (void)0);
        SQE(10, 0, (void)0);
        run("bad SQE in the middle of a link", 4);
        /* ... but an SQE ending its chain that fails does end the batch. */
        SQE(11, IOSQE_IO_LINK, (void)0);
        SQE(12, 0, s->opcode = 0xfe);
        SQE(13, 0, (void)0);
        run("bad SQE ending a link", 2);
        run("the SQE left", 1);
        /* A head with CQE_SKIP_SUCCESS posts its -ECANCELED, and its links
         * go silently (req_set_fail turns the skip into SKIP_LINK_CQES). */
        SQE(14, IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS, (void)0);
        SQE(15, IOSQE_IO_LINK, s->opcode = 0xfe);
        SQE(16, 0, (void)0);
        run("bad SQE linked to a CQE_SKIP_SUCCESS head", 1);
    }
    if (want("sendzc")) {
        /* Zero-copy sends: the notification (IORING_CQE_F_NOTIF) is posted as
         * the request is cleaned up, whatever became of it; a failure of the
         * send itself keeps IORING_CQE_F_MORE (io_sendrecv_fail), a link
         * cancellation does not (io_fail_links sets the flags to 0). */
        SQE(20, 0, io_uring_prep_send_zc(s, sv[0], buf2, 8, 0, 0x8000));
        run("SEND_ZC with unknown flags", 2);
        SQE(21, 0, io_uring_prep_send_zc(s, sv[0], buf2, 8, 0, IORING_SEND_ZC_REPORT_USAGE));
        run("SEND_ZC on a unix socket, REPORT_USAGE", 2);
        SQE(22, 0, io_uring_prep_send_zc(s, -1, buf2, 8, 0, IORING_SEND_ZC_REPORT_USAGE));
        run("SEND_ZC on fd -1", 2);
        SQE(23, IOSQE_IO_LINK, io_uring_prep_read(s, fd, buf, 4, 100));    /* short: 0 */
        SQE(24, 0, io_uring_prep_send_zc(s, sv[0], buf2, 8, 0, 0));
        run("SEND_ZC cancelled as a link", 3);

        int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        if (bind(l, (void *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (void *)&a, &alen) ||
            connect(c, (void *)&a, sizeof(a)))
            return 1;
        int acc = accept(l, NULL, NULL);
        SQE(25, 0, io_uring_prep_send_zc(s, c, buf2, 8, 0, IORING_SEND_ZC_REPORT_USAGE));
        run("SEND_ZC on TCP loopback, REPORT_USAGE", 2);
        SQE(26, 0, io_uring_prep_send_zc(s, c, buf2, 8, 0, 0));
        run("SEND_ZC on TCP loopback", 2);
        printf("received: %d\n", (int)read(acc, buf, sizeof(buf)));
    }
    if (want("emptyrw")) {
        /* io_rw_init_file() checks the open mode before any I/O, so a
         * transfer of nothing on a file not open for it is still EBADF. */
        struct iovec none[1] = { { buf, 0 } };
        SQE(30, 0, io_uring_prep_readv(s, p[1], none, 0, -1));
        SQE(31, 0, io_uring_prep_read(s, p[1], buf, 0, -1));
        SQE(32, 0, io_uring_prep_write(s, rdonly, buf, 0, 0));
        SQE(33, 0, io_uring_prep_writev(s, p[0], none, 1, -1));
        SQE(34, 0, io_uring_prep_read(s, rdonly, buf, 0, 0));
        run("empty transfers", 5);
        /* ... and before the buffer is touched: EBADF, not EFAULT. */
        SQE(35, 0, io_uring_prep_write(s, rdonly, (void *)0x1000, 8, 0));
        SQE(36, 0, io_uring_prep_read(s, p[1], (void *)0x1000, 8, -1));
        SQE(37, 0, io_uring_prep_write(s, fd, (void *)0x1000, 8, 0));
        run("unmapped buffers", 3);
        /* A buffer outside user space fails at prep (access_ok) first. */
        SQE(38, 0, io_uring_prep_write(s, rdonly, (void *)0xffff888000000000ULL, 8, 0));
        run("a kernel buffer", 1);
    }
    if (want("drain")) {
        /* io_init_req: once a ring has seen an SQE with CQE_SKIP_SUCCESS,
         * IO_DRAIN is EOPNOTSUPP on it, even on that same SQE. */
        struct io_uring saved = ring;
        if (io_uring_queue_init(8, &ring, 0))
            return 1;
        SQE(40, IOSQE_IO_DRAIN, (void)0);
        run("drain on a fresh ring", 1);
        SQE(41, IOSQE_CQE_SKIP_SUCCESS, (void)0);
        SQE(42, IOSQE_IO_DRAIN, (void)0);
        run("drain after a CQE_SKIP_SUCCESS", 1);
        io_uring_queue_exit(&ring);
        if (io_uring_queue_init(8, &ring, 0))
            return 1;
        SQE(43, IOSQE_IO_DRAIN | IOSQE_CQE_SKIP_SUCCESS, (void)0);
        run("drain and CQE_SKIP_SUCCESS together", 1);
        io_uring_queue_exit(&ring);
        ring = saved;
    }
    if (want("pollfile")) {
        /* A regular file has no wait queue: a poll it does not satisfy now,
         * or a level-triggered one, is EINVAL (__io_arm_poll_handler). */
        SQE(60, 0, io_uring_prep_poll_add(s, fd, 0x2000 /* POLLRDHUP */));
        SQE(61, 0, io_uring_prep_poll_add(s, fd, POLLIN));
        SQE(63, 0, io_uring_prep_poll_multishot(s, fd, POLLOUT));
        SQE(64, 0, io_uring_prep_poll_multishot(s, fd, POLLPRI));
        run("poll a regular file", 4);
        /* POLL_ADD takes no flag but MULTI (io_poll_add_prep), and a
         * multishot poll cannot skip its CQEs (EOPNOTSUPP). */
        SQE(65, 0, (io_uring_prep_poll_add(s, p[0], POLLIN), s->len = IORING_POLL_ADD_LEVEL));
        SQE(67, 0, (void)0);
        run("POLL_ADD_LEVEL", 1);
        run("after it", 1);
        SQE(66, IOSQE_CQE_SKIP_SUCCESS, io_uring_prep_poll_multishot(s, p[0], POLLIN));
        run("multishot with CQE_SKIP_SUCCESS", 1);
    }
    if (want("rwflags")) {
        /* Unknown RWF flags are EOPNOTSUPP (kiocb_set_rw_flags) on any file,
         * an eventfd with nothing to read included: not a wait. */
        static unsigned long long ev;
        int efd = eventfd(0, 0);
        SQE(70, 0, (io_uring_prep_read(s, efd, &ev, 8, -1), s->rw_flags = 0x80000000));
        SQE(71, 0, (io_uring_prep_write(s, p[1], buf, 8, -1), s->rw_flags = 0x80000000));
        run("unknown RWF flags", 2);
        close(efd);
    }
    if (want("setup")) {
        /* Linux 6.18 refuses COOP_TASKRUN and TASKRUN_FLAG with SQPOLL. */
        static const unsigned fl[] = { IORING_SETUP_COOP_TASKRUN,
                                       IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG };
        for (int i = 0; i < 2; i++) {
            struct io_uring r2;
            int ret = io_uring_queue_init(4, &r2, IORING_SETUP_SQPOLL | fl[i]);
            printf("setup SQPOLL|%#x: %d\n", fl[i], ret);
            if (!ret)
                io_uring_queue_exit(&r2);
            ret = io_uring_queue_init(4, &r2, fl[i]);
            printf("setup %#x: %d\n", fl[i], ret);
            if (!ret)
                io_uring_queue_exit(&r2);
        }
    }
    if (want("regargs")) {
        /* io_uring_register(2) checks arg and nr_args per opcode before the
         * opcode's own work (__io_uring_register): e.g. FILE_ALLOC_RANGE
         * with nr_args set is EINVAL, BUFFERS with a NULL arg EFAULT. */
        static const unsigned ops[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                        16, 22, 23, 24, 25, 26 };
        static const unsigned nrs[] = { 0, 1, 2, 0x80000000u };
        char *zero = calloc(1, 65536);
        void *args[] = { NULL, (void *)0x1000, zero };
        for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            printf("register %u:", ops[i]);
            for (int a = 0; a < 3; a++)
                for (int n = 0; n < 4; n++) {
                    struct io_uring r2;
                    if (io_uring_queue_init(4, &r2, IORING_SETUP_R_DISABLED))
                        return 1;
                    memset(zero, 0, 65536);
                    int res = (int)syscall(__NR_io_uring_register, r2.ring_fd, ops[i], args[a],
                                           nrs[n]);
                    printf(" %d", res < 0 ? -errno : res);
                    io_uring_queue_exit(&r2);
                }
            printf("\n");
        }
        free(zero);
    }
    if (want("nopfile")) {
        /* io_nop with IORING_NOP_FILE: IOSQE_FIXED_FILE on the SQE selects
         * the fixed table as IORING_NOP_FIXED_FILE does, so fd 0 names slot
         * 0 (none registered: EBADF), not stdin; an empty slot is EBADF,
         * a filled one 0. */
        SQE(40, IOSQE_FIXED_FILE, (s->fd = 0, s->rw_flags = 1U << 1));
        run("NOP_FILE, IOSQE_FIXED_FILE, no fixed files", 1);
        int one = 1;
        if (io_uring_register_files_sparse(&ring, 4) ||
            io_uring_register_files_update(&ring, 0, &one, 1) != 1)
            return 1;
        SQE(41, IOSQE_FIXED_FILE, (s->fd = 2, s->rw_flags = 1U << 1));
        SQE(42, IOSQE_FIXED_FILE, (s->fd = 0, s->rw_flags = 1U << 1));
        SQE(43, 0, (s->fd = 2, s->rw_flags = 1U << 1));
        run("NOP_FILE, IOSQE_FIXED_FILE: empty slot, filled slot, plain fd", 3);
        io_uring_unregister_files(&ring);
    }
    if (want("dirflags")) {
        /* A READ of a directory with RWF flags: the flags any file takes
         * (DSYNC, SYNC, APPEND, NOAPPEND, NOSIGNAL) reach generic_read_dir
         * (EISDIR); those the file must support (NOWAIT, ATOMIC, DONTCACHE)
         * are EOPNOTSUPP, as an unknown one is. */
        static const unsigned rwf[] = { 0x2, 0x4, 0x10, 0x20, 0x100, 0x8, 0x40, 0x80, 0x200 };
        int dir = open(".", O_RDONLY | O_DIRECTORY);
        if (dir < 0)
            return 1;
        for (unsigned i = 0; i < sizeof(rwf) / sizeof(rwf[0]); i++)
            SQE(50 + i, 0, (io_uring_prep_read(s, dir, buf, 8, 0), s->rw_flags = rwf[i]));
        run("READ of a directory with RWF flags", 9);
        close(dir);
    }
    return 0;
}
