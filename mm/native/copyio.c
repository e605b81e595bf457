/* Hot path of the Sentry's data movement: file <-> child memory in one call.
 *
 * pread/pwrite (preadv2/pwritev2 with RWF flags) against a Sentry-held fd,
 * staged through a caller-provided bounce buffer and moved to or from the
 * child with process_vm_writev/readv.  Returns bytes moved or -errno.  As with
 * copy_to_user, a fault after some progress returns the progress.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static ssize_t to_child(int pid, uint64_t addr, const char *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	return n < 0 ? -errno : n;
}

static ssize_t from_child(int pid, uint64_t addr, char *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	return n < 0 ? -errno : n;
}

/* Read up to len bytes at off (or the file position if off < 0) into the child. */
ssize_t ps_read_to_child(int fd, int pid, uint64_t addr, size_t len, int64_t off, int flags,
			 char *bounce)
{
	struct iovec iov = { bounce, len };
	ssize_t n = preadv2(fd, &iov, 1, off, flags);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	ssize_t w = to_child(pid, addr, bounce, n);
	if (w < 0)
		return w;
	return w;
}

/* The child's buffer faults at its first byte: the same write from a
 * buffer that faults there too, so that the file does what it does in
 * Linux for that call -- not always nothing: ext4 (generic_perform_write,
 * then ->write_end with nothing copied) still moves the size up to off when
 * off is past the end, and /dev/null takes the count without reading. */
static ssize_t write_faulting(int fd, size_t len, int64_t off, int flags)
{
	size_t size = (len + 4095) & ~(size_t)4095;
	void *none = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	if (none == MAP_FAILED)
		return -EFAULT;
	struct iovec iov = { none, len };
	ssize_t n = pwritev2(fd, &iov, 1, off, flags);
	ssize_t res = n < 0 ? -errno : n;
	munmap(none, size);
	return res;
}

/* Write len bytes from the child at off (or the file position if off < 0). */
ssize_t ps_write_from_child(int fd, int pid, uint64_t addr, size_t len, int64_t off, int flags,
			    char *bounce)
{
	ssize_t r = from_child(pid, addr, bounce, len);
	if (r == 0 || r == -EFAULT)
		return write_faulting(fd, len, off, flags);
	if (r < 0)
		return r;
	/* A fault part-way: what was copied is written, as Linux's
	 * generic_perform_write writes the bytes it could copy. */
	len = r;
	struct iovec iov = { bounce, len };
	ssize_t n = pwritev2(fd, &iov, 1, off, flags);
	return n < 0 ? -errno : n;
}
