"""Memory shared between the Sentry and a child: unnamed files in /dev/shm.

io_uring rings live in such a region.  The file is created with O_TMPFILE so
it never has a name in /dev/shm: nothing can be left behind however the child
or the Sentry exits.  The Sentry maps it once; the child receives an fd for
the same file (by reopening /proc/<sentry>/fd/<n>) and maps it with ordinary
mmap(2) calls, so both sides see the same pages.
"""
import errno
import mmap
import os

SHM_DIR = "/dev/shm"
PAGE_SIZE = mmap.PAGESIZE


def page_align(n):
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


class SharedRegion:
    """A page-aligned, zero-filled shared memory file mapped into the Sentry."""

    def __init__(self, size):
        self.size = page_align(max(size, 1))
        try:
            self.fd = os.open(SHM_DIR, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            # Fallback for a /dev/shm without O_TMPFILE: create, then unlink at once.
            name = os.path.join(SHM_DIR, "pysentry-%d-%s" % (os.getpid(), os.urandom(6).hex()))
            self.fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC, 0o600)
            os.unlink(name)
        try:
            os.ftruncate(self.fd, self.size)
            self.map = mmap.mmap(self.fd, self.size, mmap.MAP_SHARED,
                                 mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(self.fd)
            raise
        st = os.fstat(self.fd)
        self.inode = (st.st_dev, st.st_ino)

    def close(self):
        if self.fd >= 0:
            try:
                self.map.close()
            except BufferError:
                pass   # a memoryview still exported; the mapping goes with the process
            os.close(self.fd)
            self.fd = -1
