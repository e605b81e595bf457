/* Errno divergences from Linux the differential fuzzer (tools/fuzz) found,
 * one section each; tests/test_sandbox_fuzz_fixes_errno.py checks the output
 * is Linux's.  Everything printed is deterministic: CQEs are printed sorted
 * by user_data and flags.  argv[1] picks one section (default: all). */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_fixes.h"

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    static char buf[4096];
    int p[2];
    alarm(30);
    if (io_uring_queue_init(16, &ring, 0) || pipe(p))
        return 1;
    int fd = open("fuzz_fixes_errno.tmp", O_RDWR | O_CREAT | O_TRUNC, 0644);
    unlink("fuzz_fixes_errno.tmp");
    if (fd < 0 || write(fd, "0123456789", 10) != 10)
        return 1;

    if (want("fxattr")) {
        /* FGETXATTR/FSETXATTR take IOSQE_FIXED_FILE like any op with a
         * file: the name is imported at prep (an empty one is ERANGE), the
         * fixed file looked up at issue (no table: EBADF).  Only GETXATTR
         * and SETXATTR, which take a path, refuse a fixed file (EBADF). */
        char value[16];
        SQE(1, IOSQE_FIXED_FILE, io_uring_prep_fgetxattr(s, 0, "", value, sizeof value));
        run("FGETXATTR, fixed file, empty name", 1);
        SQE(2, IOSQE_FIXED_FILE, io_uring_prep_fsetxattr(s, 0, "", "v", 0, 1));
        run("FSETXATTR, fixed file, empty name", 1);
        SQE(3, IOSQE_FIXED_FILE, io_uring_prep_fgetxattr(s, 0, "user.x", value, sizeof value));
        run("FGETXATTR, fixed file, no table", 1);
        SQE(4, IOSQE_FIXED_FILE, io_uring_prep_getxattr(s, "", value, "f", sizeof value));
        run("GETXATTR, fixed file, empty name", 1);
    }
    if (want("fdinstall")) {
        /* io_install_fixed_fd_prep(): the reserved fields (EINVAL) come
         * before the need for IOSQE_FIXED_FILE (EBADF). */
        SQE(10, 0, (s->opcode = 54 /* IORING_OP_FIXED_FD_INSTALL */, s->fd = 0, s->addr = 1));
        run("FIXED_FD_INSTALL, plain fd, addr set", 1);
        SQE(11, 0, (s->opcode = 54 /* IORING_OP_FIXED_FD_INSTALL */, s->fd = 0));
        run("FIXED_FD_INSTALL, plain fd", 1);
    }
    if (want("oneiov")) {
        /* A single iovec is imported as one buffer (import_ubuf): its length
         * is capped at MAX_RW_COUNT before access_ok, so a huge one passes
         * import and the open mode decides (EBADF); with two segments the
         * uncapped length fails access_ok (EFAULT). */
        struct iovec one[1] = { { buf, 0x7000000000000000ULL } };
        struct iovec two[2] = { { buf, 4 }, { buf, 0x7000000000000000ULL } };
        SQE(20, 0, io_uring_prep_writev(s, p[0], one, 1, 0));
        SQE(21, 0, io_uring_prep_readv(s, p[1], one, 1, 0));
        run("a huge lone iovec on a pipe end not open for it", 2);
        SQE(22, 0, io_uring_prep_writev(s, p[0], two, 2, 0));
        run("two iovecs, one huge", 1);
    }
    if (want("eventfd0")) {
        /* eventfd_read() (read_iter) refuses fewer than 8 bytes, 0 too:
         * EINVAL, where a pipe moves 0.  A write of 0 bytes goes through
         * the eventfd's ->write, which io_uring's loop never calls: 0. */
        int efd = eventfd(0, 0);
        if (efd < 0)
            return 1;
        SQE(30, 0, io_uring_prep_read(s, efd, buf, 0, 0));
        SQE(31, 0, io_uring_prep_write(s, efd, buf, 0, 0));
        SQE(32, 0, io_uring_prep_read(s, efd, buf, 4, 0));
        SQE(33, 0, io_uring_prep_read(s, p[0], buf, 0, 0));
        struct iovec none[1] = { { buf, 0 } };
        SQE(34, 0, io_uring_prep_readv(s, efd, none, 1, 0));
        run("empty transfers on an eventfd", 5);
        close(efd);
    }
    if (want("iopoll")) {
        /* io_rw_init_file(): on an IOPOLL ring the open mode (EBADF) and the
         * RWF flags (EOPNOTSUPP) are checked before the file's support for
         * polled I/O (EOPNOTSUPP). */
        struct io_uring pr;
        if (io_uring_queue_init(4, &pr, IORING_SETUP_IOPOLL))
            return 1;
        struct iovec iov[1] = { { buf, 2 } };
        struct io_uring_sqe *s = io_uring_get_sqe(&pr);
        io_uring_prep_writev(s, p[0], iov, 1, -1);
        s->user_data = 40;
        s = io_uring_get_sqe(&pr);
        io_uring_prep_writev(s, p[0], iov, 1, -1);
        s->rw_flags = 0x80000000;
        s->user_data = 41;
        s = io_uring_get_sqe(&pr);
        io_uring_prep_write(s, p[1], buf, 2, -1);
        s->user_data = 42;
        printf("IOPOLL ring, pipe ends: submit=%d", io_uring_submit(&pr));
        struct io_uring_cqe got[3], *cqe;
        for (int k = 0; k < 3; k++) {
            if (io_uring_wait_cqe(&pr, &cqe))
                return 1;
            got[k] = *cqe;
            io_uring_cqe_seen(&pr, cqe);
        }
        qsort(got, 3, sizeof(got[0]), cmp);
        for (int i = 0; i < 3; i++)
            printf(" [%llu %d %#x]", (unsigned long long)got[i].user_data, got[i].res, got[i].flags);
        printf("\n");
        io_uring_queue_exit(&pr);
    }
    if (want("unfailed")) {
        /* Handlers that post their error with io_req_set_res() and never
         * req_set_fail(): the xattr ops (io_xattr_finish) and a SOCKET's
         * direct-descriptor install (io_fixed_fd_install).  Such an error
         * breaks no link, and IOSQE_CQE_SKIP_SUCCESS hides it; a bad fd
         * (the file lookup before the handler) still fails the link. */
        char v[8];
        SQE(50, IOSQE_IO_LINK, io_uring_prep_fsetxattr(s, fd, "bogus.x", "v", 0, 1));
        SQE(51, 0, (void)0);
        SQE(52, IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS,
            io_uring_prep_fgetxattr(s, fd, "user.none", v, sizeof v));
        SQE(53, 0, (void)0);
        SQE(54, IOSQE_IO_LINK, io_uring_prep_getxattr(s, "user.none", v, "nosuch", sizeof v));
        SQE(55, 0, (void)0);
        SQE(56, IOSQE_IO_LINK, io_uring_prep_fgetxattr(s, 1000, "user.none", v, sizeof v));
        SQE(57, 0, (void)0);
        run("failing xattr ops, linked", 7);
        SQE(58, IOSQE_IO_LINK, io_uring_prep_socket_direct(s, AF_UNIX, SOCK_DGRAM, 0, 3, 0));
        SQE(59, 0, (void)0);
        run("SOCKET into a slot, no table, linked", 2);
    }
    if (want("sendzc")) {
        /* Seed 140: a SEND with a length of 2 GiB or more fails at prep
         * (EINVAL), which ends the batch; SEND_ZC's length stays unsigned
         * (capped at MAX_RW_COUNT), so it fails only at issue -- ENOTSOCK
         * on a file -- and the batch goes on.  Its notification follows. */
        SQE(60, 0, io_uring_prep_send_zc(s, fd, buf, 0xffffffffu, 0, 0));
        SQE(61, 0, io_uring_prep_send_zc(s, fd, buf, 0x80000000u, 0, 0));
        SQE(62, 0, (void)0);
        SQE(63, 0, io_uring_prep_send(s, fd, buf, 0xffffffffu, 0));
        SQE(64, 0, (void)0);
        run("SEND_ZC and SEND of 4 GiB - 1 to a file", 6);
    }
    close(fd);
    return 0;
}
