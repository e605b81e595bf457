/*
 * Synchronous I/O on regular files that the host runs in the program
 * (sentry/syscalls/file_io.py): results that depend on *who* makes the
 * call -- the program, not the Sentry -- and on the one file position the
 * program, the Sentry and io_uring share.  Output compared with the host's.
 *
 *   host_file_io DIR
 *
 * Each case is one the Sentry used to answer itself, on its own fd for the
 * same open file description, with a different result:
 *   - RLIMIT_FSIZE: the limit and its SIGXFSZ are the program's
 *     (generic_write_check_limits); the Sentry's own limit is not;
 *   - a write clears the set-user-ID bit unless the *writer* has
 *     CAP_FSETID (file_remove_privs -> should_remove_suid);
 *   - O_DIRECT checks the alignment of the program's buffer, not of a
 *     Sentry bounce buffer (iomap_dio_rw / generic filesystems: EINVAL);
 *   - /proc/self/io counts the bytes the program's read(2)s return
 *     (add_rchar(current, ...));
 * and some that must stay the same: faults in part of the buffer, vectors,
 * and read(2)/lseek(2)/io_uring READ at offset -1 moving one position.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static volatile sig_atomic_t xfsz;

static void on_xfsz(int sig)
{
	(void)sig;
	xfsz++;
}

static long file_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) < 0 ? -1 : (long)st.st_size;
}

/* The rchar line of /proc/self/io, read with pread from an fd kept open;
 * *len gets the count the read returned (which the next rchar includes). */
static long rchar(int iofd, long *len)
{
	char text[512];
	long n = pread(iofd, text, sizeof(text) - 1, 0);
	if (n < 0)
		return -1;
	text[n] = 0;
	*len = n;
	return strncmp(text, "rchar: ", 7) ? -1 : atol(text + 7);
}

static void rlimit_fsize(const char *dir)
{
	char path[4096], buf[8192];
	snprintf(path, sizeof(path), "%s/fsize.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(buf, 'f', sizeof(buf));
	struct rlimit old, lim = { 10000, 10000 };
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_max = old.rlim_max;
	signal(SIGXFSZ, on_xfsz);
	setrlimit(RLIMIT_FSIZE, &lim);
	show("pwrite below the limit", pwrite(fd, buf, 4096, 0));
	show("pwrite across the limit", pwrite(fd, buf, 8192, 4096));
	printf("SIGXFSZ so far: %d, size %ld\n", (int)xfsz, file_size(fd));
	show("pwrite at the limit", pwrite(fd, buf, 10, 10000));
	show("pwrite past the limit", pwrite(fd, buf, 10, 20000));
	printf("SIGXFSZ so far: %d\n", (int)xfsz);
	signal(SIGXFSZ, SIG_IGN);
	show("pwrite past the limit, SIGXFSZ ignored", pwrite(fd, buf, 10, 20000));
	lseek(fd, 9990, SEEK_SET);
	show("write across the limit", write(fd, buf, 100));
	printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	struct iovec iov[2] = { { buf, 10 }, { buf, 10 } };
	show("pwritev past the limit", pwritev(fd, iov, 2, 30000));
	show("pwritev2 past the limit", pwritev2(fd, iov, 2, 30000, 0));
	show("pread below the limit still", pread(fd, buf, 100, 0));
	printf("SIGXFSZ in all: %d, size %ld\n", (int)xfsz, file_size(fd));
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	show("pwrite past it once lifted", pwrite(fd, buf, 10, 20000));
	close(fd);
	unlink(path);
}

/* Drop CAP_FSETID from the effective set (the program, not the Sentry). */
static int drop_fsetid(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	data[CAP_FSETID / 32].effective &= ~(1u << (CAP_FSETID % 32));
	return syscall(SYS_capset, &hdr, data);
}

static void suid_cleared(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/suid.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0755);
	fchmod(fd, 06755);
	struct stat st;
	fstat(fd, &st);
	printf("mode before: %o\n", st.st_mode & 07777);
	show("pwrite with CAP_FSETID", pwrite(fd, "x", 1, 0));
	fstat(fd, &st);
	printf("mode after it: %o\n", st.st_mode & 07777);
	show("drop CAP_FSETID", drop_fsetid());
	show("pwrite without CAP_FSETID", pwrite(fd, "y", 1, 1));
	fstat(fd, &st);
	printf("mode after it: %o\n", st.st_mode & 07777);
	fchmod(fd, 04755);
	show("write without CAP_FSETID", write(fd, "z", 1));
	fstat(fd, &st);
	printf("mode after it: %o\n", st.st_mode & 07777);
	close(fd);
	unlink(path);
}

static void direct_io(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/direct.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *mem = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	memset(mem, 'd', 3 * 4096);
	show("pwrite 8 KiB", pwrite(fd, mem, 8192, 0));
	fsync(fd);
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0) {
		/* A filesystem without direct I/O: the same in both runs. */
		show("open O_DIRECT", fd);
		unlink(path);
		return;
	}
	show("O_DIRECT pread, aligned buffer", pread(fd, mem, 4096, 0));
	show("O_DIRECT pread, unaligned buffer", pread(fd, mem + 1, 4096, 0));
	show("O_DIRECT pread, aligned buffer, odd count", pread(fd, mem, 100, 0));
	show("O_DIRECT pwrite, unaligned buffer", pwrite(fd, mem + 1, 4096, 0));
	show("O_DIRECT pwrite, aligned buffer", pwrite(fd, mem, 4096, 4096));
	lseek(fd, 0, SEEK_SET);
	show("O_DIRECT read, unaligned buffer", read(fd, mem + 1, 4096));
	printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	close(fd);
	munmap(mem, 3 * 4096);
	unlink(path);
}

static void io_accounting(const char *dir)
{
	char path[4096], buf[4096];
	snprintf(path, sizeof(path), "%s/acct.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(buf, 'a', sizeof(buf));
	pwrite(fd, buf, sizeof(buf), 0);
	int iofd = open("/proc/self/io", O_RDONLY);
	long len0, len1;
	long before = rchar(iofd, &len0);
	long got = pread(fd, buf, 3000, 0);
	got += read(fd, buf, 1000);
	long after = rchar(iofd, &len1);
	/* after - before: the reads between, and the first /proc read itself. */
	printf("file reads returned %ld, counted in rchar: %ld\n", got,
	       before < 0 || after < 0 ? -1 : after - before - len0);
	close(iofd);
	close(fd);
	unlink(path);
}

static void faults_and_vectors(const char *dir)
{
	char path[4096], buf[8192];
	snprintf(path, sizeof(path), "%s/faults.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < 4; i++) {
		memset(buf, 'a' + i, 4096);
		pwrite(fd, buf, 4096, i * 4096);
	}
	/* Page 2 of 3 unmapped, page 3 read-only. */
	char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(m + 4096, 4096);
	mprotect(m + 8192, 4096, PROT_READ);
	show("pread into a buffer unmapped from 4096", pread(fd, m + 100, 8192, 0));
	printf("last byte copied: %c\n", m[4095]);
	show("pread into an unmapped buffer", pread(fd, m + 4096, 10, 0));
	show("pread into a read-only buffer", pread(fd, m + 8192, 10, 0));
	show("pwrite from a buffer unmapped from 4096", pwrite(fd, m + 4000, 200, 0));
	lseek(fd, 0, SEEK_SET);
	show("read into a buffer unmapped from 4096", read(fd, m + 2048, 8192));
	printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	struct iovec v[3] = { { buf, 100 }, { m + 4096, 100 }, { buf + 200, 100 } };
	show("preadv, second iovec unmapped", preadv(fd, v, 3, 0));
	show("readv, second iovec unmapped", readv(fd, v, 3));
	printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	struct iovec w[2] = { { buf, 4096 }, { buf + 4096, 4096 } };
	show("preadv2 at -1", preadv2(fd, w, 2, -1, 0));
	printf("position %ld, bytes %c %c\n", (long)lseek(fd, 0, SEEK_CUR), buf[0], buf[4096]);
	show("preadv2 RWF_NOWAIT", preadv2(fd, w, 2, 0, RWF_NOWAIT));
	show("preadv2 RWF_HIPRI", preadv2(fd, w, 2, 0, RWF_HIPRI));
	show("preadv2 unknown flag", preadv2(fd, w, 2, 0, 0x40000000));
	show("pwritev2 RWF_APPEND", pwritev2(fd, w, 1, 0, RWF_APPEND));
	printf("size %ld\n", file_size(fd));
	show("fsync", fsync(fd));
	show("fdatasync", fdatasync(fd));
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	show("fsync a directory", fsync(dir_fd));
	show("read a directory", read(dir_fd, buf, 10));
	int opath = open(path, O_PATH);
	show("pread an O_PATH fd", pread(opath, buf, 10, 0));
	show("fsync an O_PATH fd", fsync(opath));
	close(opath);
	close(dir_fd);
	close(fd);
	unlink(path);
}

/* read(2), lseek(2) and io_uring READ/WRITE at offset -1 share one position. */
static void one_position(const char *dir)
{
	char path[4096], buf[64];
	snprintf(path, sizeof(path), "%s/pos.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < 26; i++)
		pwrite(fd, (char[]){ 'a' + i }, 1, i);
	struct io_uring ring;
	if (io_uring_queue_init(4, &ring, 0) < 0) {
		printf("io_uring_queue_init failed\n");
		return;
	}
	show("read 3", read(fd, buf, 3));
	for (int round = 0; round < 2; round++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, fd, buf + 3, 4, -1);
		sqe->user_data = 1;
		io_uring_submit(&ring);
		struct io_uring_cqe *cqe;
		io_uring_wait_cqe(&ring, &cqe);
		printf("uring READ at -1: res=%d got %.4s\n", cqe->res, buf + 3);
		io_uring_cqe_seen(&ring, cqe);
		printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
		show("read 2", read(fd, buf, 2));
		printf("got %.2s\n", buf);
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, fd, "XY", 2, -1);
	io_uring_submit(&ring);
	struct io_uring_cqe *cqe;
	io_uring_wait_cqe(&ring, &cqe);
	printf("uring WRITE at -1: res=%d\n", cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	show("write 2", write(fd, "Zz", 2));
	printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	show("pread all", pread(fd, buf, 26, 0));
	printf("file: %.26s\n", buf);
	show("read ring fd", read(ring.ring_fd, buf, 8));
	show("pread ring fd", pread(ring.ring_fd, buf, 8, 0));
	show("fsync ring fd", fsync(ring.ring_fd));
	io_uring_queue_exit(&ring);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	rlimit_fsize(argv[1]);
	direct_io(argv[1]);
	io_accounting(argv[1]);
	faults_and_vectors(argv[1]);
	one_position(argv[1]);
	suid_cleared(argv[1]);     /* last: it drops a capability */
	return 0;
}
