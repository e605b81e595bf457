"""IORING_REGISTER_MEM_REGION: a memory region of the ring's parameters, so
far only registered wait arguments (IORING_MEM_REGION_REG_WAIT_ARG): an
io_uring_enter with IORING_ENTER_EXT_ARG | IORING_ENTER_EXT_ARG_REG then
passes an offset into it instead of a pointer (Linux's io_uring/memmap.c
io_create_region, register.c io_register_mem_region, io_get_ext_arg_reg).

A region of the program's own memory (IORING_MEM_REGION_TYPE_USER) is
checked as Linux's pinning would (page-aligned, mapped writable) and its wait
arguments are read from the program's memory at each wait, like registered
buffers (docs/io_uring.md).  Otherwise the region is shared memory the
Sentry allocates, as the kernel does, and the program maps it from the ring
fd at IORING_MAP_OFF_PARAM_REGION (written back in mmap_offset).
"""
import errno
import struct

from pysentry.mm.registered_buffers import _covered, _writable_ranges
from pysentry.mm.shm import SharedRegion
from pysentry.sentry.iouring import abi

_REG = struct.Struct("<QQ2Q")            # io_uring_mem_region_reg: region_uptr, flags, resv
_DESC = struct.Struct("<QQIIQ4Q")        # io_uring_region_desc
DESC_SIZE = _DESC.size
REG_WAIT_ARG = 1 << 0
REGION_TYPE_USER = 1 << 0
_PAGE = 4096
_INT_MAX = (1 << 31) - 1
# struct io_uring_reg_wait: ts (sec, nsec), min_wait_usec, flags, sigmask,
# sigmask_sz, pad[3], pad2[2]
REG_WAIT = struct.Struct("<qqIIQI3I2Q")
REG_WAIT_TS = 1 << 0


class Region:
    __slots__ = ("addr", "size", "wait_arg", "shm")

    def __init__(self, addr, size, wait_arg, shm=None):
        self.addr, self.size, self.wait_arg = addr, size, wait_arg
        self.shm = shm            # SharedRegion of a kernel-allocated region

    def read(self, task, offset, size):
        if self.shm is not None:
            return bytes(self.shm.map[offset:offset + size])
        return task.mem.read(self.addr + offset, size)


def register_mem_region(kernel, task, ring, arg, nr_args):
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "bad arguments")
    if ring.param_region is not None:
        raise OSError(errno.EBUSY, "a region is registered")
    uptr, flags, *resv = _REG.unpack(task.mem.read(arg, _REG.size))
    raw = task.mem.read(uptr, _DESC.size)
    if any(resv) or flags & ~REG_WAIT_ARG:
        raise OSError(errno.EINVAL, "reserved fields or unknown flags")
    # Waiters are not synchronised with a new region: only before the ring
    # is enabled (IORING_SETUP_R_DISABLED).
    if flags & REG_WAIT_ARG and ring.enabled:
        raise OSError(errno.EINVAL, "ring already enabled")
    user_addr, size, rflags, rid, mmap_offset, *rresv = _DESC.unpack(raw)
    if any(rresv) or rflags & ~REGION_TYPE_USER:
        raise OSError(errno.EINVAL, "reserved fields or unknown region flags")
    if bool(rflags & REGION_TYPE_USER) != bool(user_addr):
        raise OSError(errno.EFAULT, "user_addr iff a user region")
    if not size or mmap_offset or rid:
        raise OSError(errno.EINVAL, "bad size, id or mmap_offset")
    if size // _PAGE > _INT_MAX:
        raise OSError(errno.E2BIG, "region too large")
    if (user_addr | size) & (_PAGE - 1):
        raise OSError(errno.EINVAL, "not page-aligned")
    if user_addr + size >= 1 << 64:
        raise OSError(errno.EOVERFLOW, "region wraps")
    shm = None
    if rflags & REGION_TYPE_USER:
        if not _covered(_writable_ranges(task.tid), user_addr, user_addr + size):
            raise OSError(errno.EFAULT, "region not mapped writable")
    else:
        shm = SharedRegion(size)
        mmap_offset = abi.MAP_OFF_PARAM_REGION
    # Linux copies the descriptor back (with mmap_offset for its own pages).
    try:
        task.mem.write(uptr, _DESC.pack(user_addr, size, rflags, rid, mmap_offset, *rresv))
    except OSError:
        if shm is not None:
            shm.close()
        raise
    ring.param_region = Region(user_addr, size, bool(flags & REG_WAIT_ARG), shm)
    return 0


def wait_arg(task, ring, offset):
    """The registered wait argument at `offset` (io_get_ext_arg_reg):
    (ts or None, min_wait_usec, sigmask, sigmask_sz); EFAULT for a misaligned
    or out-of-region offset, EINVAL for unknown flags."""
    region = ring.param_region
    size = region.size if region is not None and region.wait_arg else 0
    if offset % 8 or offset + REG_WAIT.size > size:
        raise OSError(errno.EFAULT, "bad wait argument offset")
    # 6.18 bounds the offset with array_index_nospec(offset, size - sizeof),
    # which maps the last slot (offset == size - sizeof) to 0: the host reads
    # the first slot there, so the Sentry does too.
    if offset == size - REG_WAIT.size:
        offset = 0
    sec, nsec, min_wait, flags, sigmask, sigsz, *_pad = REG_WAIT.unpack(
        region.read(task, offset, REG_WAIT.size))
    if flags & ~REG_WAIT_TS:
        raise OSError(errno.EINVAL, "unknown wait flags")
    return ((sec, nsec) if flags & REG_WAIT_TS else None), min_wait, sigmask, sigsz
