/*
 * pread64(2)/pwrite64(2)/read(2)/write(2) on regular files and their errors,
 * as the Sentry serves them (the hottest trapped calls, with a short path of
 * their own: sentry/syscalls/file_io.py); output compared with the host's.
 *
 *   sync_rw DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

int main(int argc, char **argv)
{
	char path[4096], buf[8192];
	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/sync_rw.dat", argv[1]);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	for (int i = 0; i < 3; i++) {
		memset(buf, 'a' + i, 4096);
		show("pwrite block", pwrite(fd, buf, 4096, i * 4096));
	}
	for (int i = 0; i < 3; i++) {
		memset(buf, 0, sizeof(buf));
		long n = pread(fd, buf, 4096, i * 4096);
		printf("pread block %d: %ld first=%c last=%c\n", i, n, buf[0], buf[4095]);
	}
	show("pread across EOF", pread(fd, buf, 8192, 8192));
	show("pread at EOF", pread(fd, buf, 100, 12288));
	show("pread past EOF", pread(fd, buf, 100, 1 << 20));
	show("pread count 0", pread(fd, buf, 0, 0));
	show("pread negative offset", syscall(SYS_pread64, fd, buf, 10, -1L));
	show("pread bad buffer", syscall(SYS_pread64, fd, (void *)8, 10, 0L));
	show("pread kernel buffer", pread(fd, (void *)0xffff800000000000UL, 10, 0));
	show("pread bad fd", pread(1000, buf, 10, 0));
	show("pread negative fd", pread(-5, buf, 10, 0));
	show("pwrite count 0", pwrite(fd, buf, 0, 0));
	show("pwrite negative offset", syscall(SYS_pwrite64, fd, buf, 10, -1L));
	show("pwrite bad buffer", syscall(SYS_pwrite64, fd, (void *)8, 10, 0L));

	/* A buffer whose second page is not mapped: a short count. */
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(two + 4096, 4096);
	show("pread into half a buffer", pread(fd, two, 8192, 0));
	memset(two, 'z', 4096);
	show("pwrite from half a buffer", pwrite(fd, two, 8192, 0));
	show("pread after it", pread(fd, buf, 1, 0));
	printf("byte 0: %c\n", buf[0]);

	/* Read-only, write-only, O_APPEND, a directory, a pipe, a ring. */
	int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
	show("pwrite read-only fd", pwrite(ro, buf, 10, 0));
	show("pread write-only fd", pread(wo, buf, 10, 0));
	int ap = open(path, O_WRONLY | O_APPEND);
	show("pwrite O_APPEND at 0", pwrite(ap, "XYZ", 3, 0));
	struct stat st;
	fstat(fd, &st);
	printf("size after O_APPEND pwrite: %ld\n", (long)st.st_size);
	show("pread its tail", pread(fd, buf, 3, st.st_size - 3));
	printf("tail: %.3s\n", buf);
	int dir = open(argv[1], O_RDONLY | O_DIRECTORY);
	show("pread directory", pread(dir, buf, 10, 0));
	int p[2];
	pipe(p);
	show("pread pipe", pread(p[0], buf, 10, 0));
	show("pwrite pipe", pwrite(p[1], buf, 10, 0));
	struct io_uring ring;
	io_uring_queue_init(2, &ring, 0);
	show("pread ring fd", pread(ring.ring_fd, buf, 10, 0));
	show("pwrite ring fd", pwrite(ring.ring_fd, buf, 10, 0));

	/* read/write share the file position with pread's description. */
	lseek(fd, 4096, SEEK_SET);
	show("read", read(fd, buf, 10));
	printf("read got %c, position %ld\n", buf[0], (long)lseek(fd, 0, SEEK_CUR));
	show("write", write(fd, "hello", 5));
	printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	show("pread what write wrote", pread(fd, buf, 5, 4106));
	printf("got %.5s\n", buf);
	close(fd);
	show("pread closed fd", pread(fd, buf, 10, 0));
	unlink(path);
	return 0;
}
