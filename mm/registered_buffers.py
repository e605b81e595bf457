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
    def __init__(self, buffers, nodes=None):
        self.buffers = buffers        # [(base, len)] ; (0, 0) is an empty slot
        # A tagged slot's RsrcNode (sentry/iouring/rsrc_node.py), or None.
        self.nodes = nodes or [None] * len(buffers)

    def __len__(self):
        return len(self.buffers)

    def has(self, index):
        return index < len(self.buffers) and self.buffers[index] != (0, 0)

    def resolve(self, index, addr, length, req=None):
        """Check a fixed-buffer request range (io_import_fixed): EFAULT if
        outside.  A request using a tagged buffer holds its node to the end."""
        if index >= len(self.buffers):
            raise OSError(errno.EFAULT, "bad buffer index")
        base, size = self.buffers[index]
        if base == 0 and size == 0:
            raise OSError(errno.EFAULT, "empty buffer slot")
        if addr < base or addr + length > base + size:
            raise OSError(errno.EFAULT, "range outside the registered buffer")
        if req is not None and self.nodes[index] is not None:
            req.hold(self.nodes[index])
        return addr, length

    def replace(self, index, buf, node):
        """Put buf (and its tag node) in slot index; the old one leaves it."""
        old = self.nodes[index]
        self.buffers[index] = buf
        self.nodes[index] = node
        if old is not None:
            old.remove()

    def release(self):
        """Unregister: every buffer leaves its slot (tagged ones post their tag)."""
        for i in range(len(self.buffers)):
            self.replace(i, (0, 0), None)


def check_iovecs(mem, pid, iov_addr, count, tags):
    """Validate the child's iovec array as io_buffer_validate() and the
    pinning do; [(base, len)], (0, 0) for an empty slot (a NULL base with a
    zero length).  A tag on an empty slot is EINVAL."""
    raw = mem.read(iov_addr, _IOV.size * count)
    ranges = None
    buffers = []
    for i, (base, length) in enumerate(_IOV.iter_unpack(raw)):
        if base == 0:
            if length:
                raise OSError(errno.EFAULT, "NULL buffer")
            if tags[i]:
                raise OSError(errno.EINVAL, "a tag on an empty slot")
            buffers.append((0, 0))
            continue
        # io_validate_user_buf_range(): a zero length is EFAULT like a huge
        # one; the wrap check is on the page-aligned length.
        if length > MAX_BUFFER_LEN or not length:
            raise OSError(errno.EFAULT, "buffer empty or too large")
        if base + ((length + 0xFFF) & ~0xFFF) >= 1 << 64:
            raise OSError(errno.EOVERFLOW, "buffer wraps")
        if ranges is None:
            ranges = _writable_ranges(pid)
        if length and not _covered(ranges, base & ~0xFFF, base + length):
            raise OSError(errno.EFAULT, "buffer not mapped writable")
        buffers.append((base, length))
    return buffers


def register(mem, pid, iov_addr, count, tags=None, make_node=None):
    """Validate and build a BufferTable from the child's iovec array; tags
    (one u64 per slot, 0: none) get a node each from make_node(tag)."""
    if count == 0 or count > MAX_REG_BUFFERS:
        raise OSError(errno.EINVAL, "bad buffer count")
    tags = tags or [0] * count
    buffers = check_iovecs(mem, pid, iov_addr, count, tags)
    return BufferTable(buffers, [make_node(t) if t else None for t in tags])
