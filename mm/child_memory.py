"""Copy-in / copy-out of a child's memory (the Sentry's copy_from_user/copy_to_user).

Uses process_vm_readv/writev, which fail cleanly on unmapped or protected
addresses instead of faulting the Sentry.  As in Linux, any part of the range
that cannot be accessed makes the whole copy fail with EFAULT; callers that
stream large ranges copy in chunks and report the bytes done before a fault,
the way read(2) returns a short count.

A transfer whose source runs into unmapped memory is Linux's to split: the
host call is given a mirror of the child's buffer (mirror()) that faults
where the child's would, so the host kernel decides what moves -- a prefix
(generic_perform_write, pipe_write by whole pages), a socket's whole chunk
failing, or nothing touched at all (/dev/null).
"""
import errno
import mmap

from pysentry.platform.libc import ffi, lib

# Linux caps a single read/write at MAX_RW_COUNT (INT_MAX rounded down to a page).
MAX_RW_COUNT = 0x7FFFF000
_ADDR_LIMIT = 1 << 47   # x86-64 user address space (4-level paging; TASK_SIZE_MAX)


def _efault():
    return OSError(errno.EFAULT, "Bad address")


class ChildMemory:
    """Access to the address space of one child task (any tid of the process)."""

    __slots__ = ("pid", "_local", "_remote")

    def __init__(self, pid):
        self.pid = pid
        self._local = ffi.new("struct iovec *")
        self._remote = ffi.new("struct iovec *")

    def read(self, addr, size):
        """Return `size` bytes at `addr`; OSError(EFAULT) if any byte is unreadable."""
        if size == 0:
            return b""
        if not access_ok(addr, size):
            raise _efault()
        buf = bytearray(size)
        self._xfer_in(addr, buf)
        return bytes(buf)

    def _xfer_in(self, addr, buf):
        cbuf = ffi.from_buffer(buf)
        self._local.iov_base = cbuf
        self._local.iov_len = len(buf)
        self._remote.iov_base = ffi.cast("void *", addr)
        self._remote.iov_len = len(buf)
        n = lib.process_vm_readv(self.pid, self._local, 1, self._remote, 1, 0)
        if n != len(buf):
            raise _efault()

    def write(self, addr, data):
        """Copy `data` (bytes-like) to child memory at `addr`; EFAULT if not writable."""
        size = len(data)
        if size == 0:
            return
        if not access_ok(addr, size):
            raise _efault()
        cbuf = ffi.from_buffer(data)
        self._local.iov_base = cbuf
        self._local.iov_len = size
        self._remote.iov_base = ffi.cast("void *", addr)
        self._remote.iov_len = size
        n = lib.process_vm_writev(self.pid, self._local, 1, self._remote, 1, 0)
        if n != size:
            raise _efault()

    def write_prefix(self, addr, data):
        """Copy as much of `data` to `addr` as the child can take, in order
        (copy_to_user's partial copy up to the fault): the bytes written."""
        size = len(data)
        if size == 0 or not access_ok(addr, size):
            return 0
        cbuf = ffi.from_buffer(data)
        self._local.iov_base = cbuf
        self._local.iov_len = size
        self._remote.iov_base = ffi.cast("void *", addr)
        self._remote.iov_len = size
        return max(0, lib.process_vm_writev(self.pid, self._local, 1, self._remote, 1, 0))

    def mirror(self, addr, size):
        """A Sentry buffer laid out like the child's [addr, addr+size): the
        readable prefix copied, and from the first page the child cannot
        read on, pages the Sentry cannot read either (PROT_NONE), at the same
        offset in a page.  A host call given it faults where the same call
        on the child's buffer faults in Linux, and copies what Linux copies.
        Returns (a memoryview, which keeps the mapping alive; how many bytes
        from its start were readable -- those the Sentry may touch).  Only
        the readable part is copied or allocated."""
        off = addr & 4095
        total = (off + size + 4095) & ~4095
        m = _anonymous(total)
        view = memoryview(m)[off:off + size]
        cbuf = ffi.from_buffer(view)
        self._local.iov_base = cbuf
        self._local.iov_len = size
        self._remote.iov_base = ffi.cast("void *", addr)
        self._remote.iov_len = size
        n = max(0, lib.process_vm_readv(self.pid, self._local, 1, self._remote, 1, 0))
        if n < size:
            # The child's fault is at the start of a page (base + n is
            # page-aligned, or n is 0 and base's page is unreachable): that
            # page on, the mirror is unreadable too.
            cut = (off + n) & ~4095
            if cut < total:
                _no_access(m, cut, total - cut)
        return view, n

    @staticmethod
    def unreadable(size):
        """`size` bytes of pages nobody can touch (PROT_NONE), as a buffer
        Python still takes as writable: a host readv given it faults there,
        as a host writev does (an mmap made with prot=0 is a read-only
        buffer, which os.readv refuses before any call)."""
        m = _anonymous(size)
        _no_access(m, 0, size)
        return memoryview(m)

    def probe(self, addrs):
        """How many of `addrs`, in order, the child can read (a byte each,
        one process_vm_readv: it stops at the first that faults)."""
        n = len(addrs)
        local = ffi.new("char[]", n)
        liov = ffi.new("struct iovec *", (local, n))
        riov = ffi.new("struct iovec[]", n)
        for i, a in enumerate(addrs):
            riov[i].iov_base = ffi.cast("void *", a)
            riov[i].iov_len = 1
        return max(0, lib.process_vm_readv(self.pid, liov, 1, riov, n, 0))

    def read_cstring(self, addr, limit=4096):
        """Read a NUL-terminated string (strncpy_from_user): ENAMETOOLONG past `limit`."""
        out = bytearray()
        page = 4096
        while len(out) < limit:
            chunk = min(page - (addr % page), limit - len(out))
            try:
                data = self.read(addr, chunk)
            except OSError:
                raise _efault()
            nul = data.find(b"\0")
            if nul >= 0:
                out += data[:nul]
                return bytes(out)
            out += data
            addr += chunk
        raise OSError(errno.ENAMETOOLONG, "File name too long")


def _anonymous(size):
    """Private anonymous pages for a mirror, reserving no swap for them."""
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
                     | getattr(mmap, "MAP_NORESERVE", 0x4000))


def _no_access(m, start, length):
    """Make [start, start+length) of mapping m PROT_NONE.  The mmap object
    stays a writable Python buffer, which a host readv still accepts; a
    mapping made with prot=0 would be read-only to Python."""
    base = int(ffi.cast("uintptr_t", ffi.from_buffer(m)))
    if lib.mprotect(ffi.cast("void *", base + start), length, 0):
        raise _efault()


def access_ok(addr, size):
    """Linux's access_ok(): the range lies inside the user address space."""
    return 0 <= addr and addr + size <= _ADDR_LIMIT
