/* io_uring through the other syscall ABIs of an x86-64 process:
 * int 0x80 (i386 numbers) and the x32 numbering (nr | 0x40000000).
 * Under pysentry both must be served by the Sentry, never the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static long int80(long nr, long a, long b, long c, long d)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
			 : "memory");
	return ret;
}

int main(void)
{
	/* int 0x80 passes 32-bit pointers: keep params below 4 GiB. */
	struct io_uring_params *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(p, 0, sizeof(*p));
	long fd = int80(425, 4, (long)p, 0, 0);
	if (fd >= 0)
		printf("int80 setup: ok sq_entries=%u cq_entries=%u\n", p->sq_entries, p->cq_entries);
	else
		printf("int80 setup: %s\n", strerrorname_np(-fd));
	if (fd >= 0) {
		long r = int80(426, fd, 0, 0, 0);   /* enter(fd, 0, 0, 0) via int 0x80 */
		printf("int80 enter: %ld\n", r);
		close(fd);
	}
	memset(p, 0, sizeof(*p));
	long r = syscall(425 | 0x40000000, 4, p);
	printf("x32 setup: %s\n", r >= 0 ? "ok" : strerrorname_np(errno));
	if (r >= 0)
		close(r);
	return 0;
}
