"""The file description behind an io_uring fd.

In the child the fd refers to the shared /dev/shm file (so ordinary mmap works);
in the Sentry it is this object, which knows the ring.  Like Linux's
io_uring_fops it has no read or write (both fail with EINVAL).
"""
from pysentry.vfs.file import FileDescription


class IoUringFileDescription(FileDescription):
    kind = "io_uring"

    def __init__(self, kernel, ring):
        super().__init__()
        self.kernel = kernel
        self.ring = ring
        ring.refs += 1

    def poll_fd(self):
        """An fd the Sentry's loop can wait on for this ring's readiness."""
        return self.ring.kick_fd() if self.ring is not None else None

    def release(self):
        ring, self.ring = self.ring, None
        if ring is not None:
            ring.refs -= 1
            if ring.refs == 0:
                self.kernel.io_uring.destroy(ring)
