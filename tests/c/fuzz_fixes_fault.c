/* Transfers from a buffer that runs into unmapped memory, found by the
 * differential fuzzer (tools/fuzz): Linux moves what the file's write
 * copied before the fault -- a prefix, whole pipe pages, whole socket
 * chunks -- or, for /dev/null, reads nothing and succeeds; the Sentry
 * read the whole buffer first and failed with EFAULT.  A read into such a
 * buffer stops at the fault and a stream keeps the rest; the Sentry had
 * consumed it.  One section each,
 * picked by argv[1] (default: all); tests/test_sandbox_fuzz_fixes_fault.py
 * checks the output is Linux's.  CQEs are printed sorted by user_data. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_fixes.h"

#define PG 4096

/* n readable pages followed by 8 unmapped ones. */
static unsigned char *faulting_buffer(int n)
{
    unsigned char *b = mmap(NULL, (n + 8) * PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        exit(1);
    for (int i = 0; i < n * PG; i++)
        b[i] = 'a' + i % 26;
    munmap(b + n * PG, 8 * PG);
    return b;
}

/* An unlinked scratch file holding n bytes of first + i % period, also
 * left in src. */
static int pattern_file(unsigned char *src, int n, char first, int period)
{
    int fd = open("fuzz_fixes_fault.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink("fuzz_fixes_fault.tmp");
    for (int i = 0; i < n; i++)
        src[i] = first + i % period;
    if (fd < 0 || pwrite(fd, src, n, 0) != n)
        exit(1);
    return fd;
}

int main(int argc, char **argv)
{
    wanted = argc > 1 ? argv[1] : "";
    alarm(30);
    if (io_uring_queue_init(16, &ring, 0))
        return 1;

    if (want("devnull")) {
        /* Seeds 141 421 539 2613: WRITEV to /dev/null of an iovec running
         * into unmapped memory.  write_iter_null() never reads the buffer:
         * the whole length (capped at MAX_RW_COUNT), not EFAULT. */
        unsigned char *b = faulting_buffer(1);
        int fd = open("/dev/null", O_RDWR);
        static struct iovec iov[2];
        iov[0] = (struct iovec){ b + 100, 1 << 20 };
        iov[1] = (struct iovec){ b, 0x7fffffff };
        SQE(1, 0, io_uring_prep_writev(s, fd, iov, 1, -1));
        SQE(2, 0, io_uring_prep_writev(s, fd, iov, 2, -1));
        SQE(3, 0, io_uring_prep_write(s, fd, b + 2 * PG, 64, 0));
        run("to /dev/null", 3);
    }
    if (want("pipe")) {
        /* Seed 1574: WRITE to a pipe.  pipe_write() copies a page at a time
         * and stops at the page that faults: whole pages only. */
        unsigned char *b = faulting_buffer(3);
        int p[2];
        if (pipe(p))
            return 1;
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        SQE(4, 0, io_uring_prep_write(s, p[1], b + 100, 4 * PG, 0));
        run("to a pipe", 1);
        static char back[8 * PG];
        ssize_t n = read(p[0], back, sizeof back);
        printf("  the pipe holds %zd bytes, %s\n", n,
               n > 0 && !memcmp(back, b + 100, n) ? "the buffer's" : "not the buffer's");
        SQE(5, 0, io_uring_prep_write(s, p[1], b + 3 * PG - 10, 20, 0));
        run("to a pipe, a fault in the first page", 1);
    }
    if (want("file")) {
        /* A regular file: generic_perform_write() writes the prefix before
         * the fault; at the fault itself, EFAULT. */
        unsigned char *b = faulting_buffer(2);
        int fd = open("fuzz_fixes_fault.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
        unlink("fuzz_fixes_fault.tmp");
        static struct iovec iov[1];
        iov[0] = (struct iovec){ b + 300, 3 << 20 };
        SQE(6, 0, io_uring_prep_write(s, fd, b + 100, 3 * PG, 0));
        SQE(7, IOSQE_IO_LINK, io_uring_prep_nop(s));
        SQE(8, 0, io_uring_prep_writev(s, fd, iov, 1, 16384));
        SQE(9, 0, io_uring_prep_write(s, fd, b + 2 * PG, 8, 0));
        run("to a file", 4);
        struct stat st;
        fstat(fd, &st);
        static unsigned char back[4 * PG];
        ssize_t n = pread(fd, back, 2 * PG - 100, 0);
        printf("  size %lld, the first write's bytes %s\n", (long long)st.st_size,
               n == 2 * PG - 100 && !memcmp(back, b + 100, n) ? "match" : "differ");
    }
    if (want("socket")) {
        /* Seeds 243 2052 2492 2941: SEND (and WRITE) to a unix stream
         * socket of a huge length whose buffer ends 10 pages in.
         * unix_stream_sendmsg() copies an skb-sized chunk at a time: the
         * chunks before the fault are sent, the one with it is not. */
        unsigned char *b = faulting_buffer(10);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
            return 1;
        SQE(10, 0, io_uring_prep_send(s, sv[0], b, 0x7fffffff, 0));
        run("send to a unix stream socket", 1);
        SQE(11, 0, io_uring_prep_write(s, sv[0], b + 1280, 0x7fffffff, 0));
        run("write to a unix stream socket", 1);
        SQE(12, 0, io_uring_prep_send(s, sv[0], b + 9 * PG, 2 * PG, 0));
        run("send, a fault in the first chunk", 1);
        static char back[1 << 17];
        ssize_t n = recv(sv[1], back, sizeof back, MSG_DONTWAIT);
        printf("  the peer reads %zd bytes, %s\n", n,
               n > 0 && !memcmp(back, b, 36544 < n ? 36544 : n) ? "the buffer's" : "not the buffer's");
    }
    if (want("read")) {
        /* A READ from a pipe or socket into a buffer running into unmapped
         * memory: the read stops at the fault and the stream keeps the
         * rest (pipe_read copies whole pipe buffers; an eventfd's 8 bytes
         * are EFAULT across the fault and stay).  The Sentry consumed the
         * data and failed with EFAULT. */
        unsigned char *b = faulting_buffer(1);
        static unsigned char src[3 * PG];
        int p[2], sv[2];
        if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
            return 1;
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        for (int i = 0; i < 3 * PG; i++)
            src[i] = 'A' + i % 23;
        for (int i = 0; i < 6; i++)     /* six pipe buffers, six skbs */
            if (write(p[1], src + i * 2048, 2048) != 2048
                || write(sv[1], src + i * 2048, 2048) != 2048)
                return 1;
        SQE(14, 0, io_uring_prep_read(s, p[0], b + 100, 3 * PG, 0));
        run("from a pipe", 1);
        ssize_t n = read(p[0], src, sizeof src);
        printf("  the pipe still holds %zd bytes\n", n);
        SQE(15, 0, io_uring_prep_read(s, sv[0], b + 100, 3 * PG, 0));
        run("from a unix stream socket", 1);
        n = recv(sv[0], src, sizeof src, MSG_DONTWAIT);
        printf("  the socket still holds %zd bytes\n", n);
        int efd = eventfd(5, EFD_NONBLOCK);
        SQE(16, 0, io_uring_prep_read(s, efd, b + PG - 4, 8, 0));
        run("from an eventfd", 1);
        uint64_t v = 0;
        n = read(efd, &v, 8);
        printf("  the eventfd still holds %llu\n", (unsigned long long)v);
    }
    if (want("fileread")) {
        /* A READ/READV from a regular file into such a buffer: filemap_read()
         * copies up to the fault and returns that much (at the fault
         * itself, EFAULT); the C data plane hands it to Python. */
        unsigned char *b = faulting_buffer(1);
        static unsigned char src[3 * PG];
        int fd = pattern_file(src, sizeof src, 'a', 19);
        static struct iovec iov[2];
        iov[0] = (struct iovec){ b + 1000, 1000 };
        iov[1] = (struct iovec){ b + 3000, 3 * PG };
        SQE(17, 0, io_uring_prep_read(s, fd, b + 100, 3 * PG, 0));
        SQE(18, IOSQE_IO_LINK, io_uring_prep_nop(s));
        SQE(19, 0, io_uring_prep_readv(s, fd, iov, 2, 10));
        SQE(20, IOSQE_IO_LINK, io_uring_prep_nop(s));
        SQE(21, 0, io_uring_prep_read(s, fd, b + PG, 16, 0));
        run("from a file", 5);
        printf("  the buffer holds the file's bytes: %s\n",
               !memcmp(b + 100, src, 900) && !memcmp(b + 1000, src + 10, 1000)
               && !memcmp(b + 3000, src + 1010, PG - 3000) ? "yes" : "no");
    }
    if (want("midpage")) {
        /* Seeds 4991 9753: the buffer starts inside an unmapped page: the
         * fault is at its first byte, EFAULT, not the rest of that page
         * (the Sentry's mirror once left it readable: 4032 bytes). */
        unsigned char *b = faulting_buffer(1);
        int fd = open("fuzz_fixes_fault.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
        unlink("fuzz_fixes_fault.tmp");
        static struct iovec iov[2];
        iov[0] = (struct iovec){ b + PG + 64, 1 << 20 };
        iov[1] = (struct iovec){ b, 100 };
        SQE(22, 0, io_uring_prep_writev(s, fd, iov, 2, 0));
        SQE(23, 0, io_uring_prep_write(s, fd, b + PG + 64, 3 << 20, 0));
        run("to a file from inside an unmapped page", 2);
    }
    if (want("eventfd")) {
        /* An eventfd write reads its 8 bytes whole: EFAULT across the fault. */
        unsigned char *b = faulting_buffer(1);
        int efd = eventfd(0, EFD_NONBLOCK);
        SQE(13, 0, io_uring_prep_write(s, efd, b + PG - 4, 8, 0));
        run("to an eventfd", 1);
    }
    if (want("curpos")) {
        /* Seed 48950: a READ or WRITE at the file position (offset -1) of
         * a regular file that stops at a fault.  Linux retries the rest
         * from io-wq, which faults at once, and posts the bytes done but
         * keeps the position where it was (kiocb_done stores it only after
         * an attempt that did not fail).  A read stopped by the end of the
         * file moves it (its retry reads 0).  The Sentry's position moved
         * with every byte. */
        unsigned char *b = faulting_buffer(1);
        static unsigned char src[2 * PG];
        int fd = pattern_file(src, sizeof src, 'A', 23);
        struct { const char *what; int write; long pos; int off, len; } c[] = {
            { "READ 100 into 4 mapped bytes", 0, 0, PG - 4, 100 },
            { "READ 5000 into 1000", 0, 100, PG - 1000, 5000 },
            { "READ 100 into 4, 4 bytes to the end", 0, 2 * PG - 4, PG - 4, 100 },
            { "WRITE 100 from 4", 1, 10, PG - 4, 100 },
            { "READ 100, nothing mapped", 0, 20, PG, 100 },
        };
        for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
            lseek(fd, c[i].pos, SEEK_SET);
            if (c[i].write)
                SQE(30 + i, 0, io_uring_prep_write(s, fd, b + c[i].off, c[i].len, -1));
            else
                SQE(30 + i, 0, io_uring_prep_read(s, fd, b + c[i].off, c[i].len, -1));
            char label[96];
            snprintf(label, sizeof label, "%s at %ld", c[i].what, c[i].pos);
            run(label, 1);
            printf("  position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
        }
        struct iovec v[2] = { { b + PG - 8, 4 }, { b + PG - 4, 64 } };
        lseek(fd, 0, SEEK_SET);
        SQE(40, 0, io_uring_prep_readv(s, fd, v, 2, -1));
        run("READV into 4 + 4 mapped of 68 at 0", 1);
        printf("  position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    }
    return 0;
}
