"""Registered ("fixed") buffers: IORING_REGISTER_BUFFERS.

Linux pins the pages of each buffer at registration (pin_user_pages with
FOLL_WRITE), so a buffer must be mapped and writable then, and later
READ_FIXED/WRITE_FIXED ranges must lie inside it.  The Sentry checks the
same conditions against the child's /proc/<pid>/maps and afterwards reaches
the buffer through the child's address space.  Where that differs -- a child
that unmaps or remaps a registered buffer keeps Linux's pinned pages but not
ours -- the request sees the new mapping (or EFAULT).
"""
import errno
import struct

MAX_REG_BUFFERS = 1 << 14      # IORING_MAX_REG_BUFFERS
MAX_BUFFER_LEN = 1 << 30       # SZ_1G
_IOV = struct.Struct("<QQ")


def _writable_ranges(pid):
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            addrs, perms = line.split(None, 2)[:2]
            lo, hi = (int(x, 16) for x in addrs.split("-"))
            if "w" in perms:
                out.append((lo, hi))
    return out


def _covered(ranges, lo, hi):
    """Is [lo, hi) inside writable mappings with no hole?"""
    pos = lo
    for a, b in ranges:
        if a <= pos < b:
            pos = b
            if pos >= hi:
                return True
    return pos >= hi


class BufferTable:
    def __init__(self, buffers):
        self.buffers = buffers        # [(base, len)] ; (0, 0) is an empty slot

    def __len__(self):
        return len(self.buffers)

    def has(self, index):
        return index < len(self.buffers) and self.buffers[index] != (0, 0)

    def resolve(self, index, addr, length):
        """Check a fixed-buffer request range (io_import_fixed): EFAULT if outside."""
        if index >= len(self.buffers):
            raise OSError(errno.EFAULT, "bad buffer index")
        base, size = self.buffers[index]
        if base == 0 and size == 0:
            raise OSError(errno.EFAULT, "empty buffer slot")
        if addr < base or addr + length > base + size:
            raise OSError(errno.EFAULT, "range outside the registered buffer")
        return addr, length


def register(mem, pid, iov_addr, count):
    """Validate and build a BufferTable from the child's iovec array."""
    if count == 0 or count > MAX_REG_BUFFERS:
        raise OSError(errno.EINVAL, "bad buffer count")
    raw = mem.read(iov_addr, _IOV.size * count)
    ranges = None
    buffers = []
    for base, length in _IOV.iter_unpack(raw):
        if base == 0:
            if length:
                raise OSError(errno.EFAULT, "NULL buffer")
            buffers.append((0, 0))
            continue
        if length > MAX_BUFFER_LEN:
            raise OSError(errno.EFAULT, "buffer too large")
        if base + length >= 1 << 64:
            raise OSError(errno.EOVERFLOW, "buffer wraps")
        if ranges is None:
            ranges = _writable_ranges(pid)
        if length and not _covered(ranges, base & ~0xFFF, base + length):
            raise OSError(errno.EFAULT, "buffer not mapped writable")
        buffers.append((base, length))
    return BufferTable(buffers)
