"""Ring memory the program supplies: IORING_SETUP_NO_MMAP and
IORING_SETUP_REGISTERED_FD_ONLY (Linux's io_uring/memmap.c io_create_region
with IORING_MEM_REGION_TYPE_USER, io_uring.c io_allocate_scq_urings and
io_uring_create).

With NO_MMAP the program passes the memory of the rings (struct io_rings,
the CQEs and the SQ array) in cq_off.user_addr and of the SQE array in
sq_off.user_addr; Linux pins those pages and they *are* the ring from then
on: the program never mmaps the ring fd (which answers ENOMEM there).

The Sentry cannot use the program's anonymous pages directly: its data
plane and SQ thread need the ring in its own address space.  So the ring
stays a /dev/shm file the Sentry maps (mm/shm.py, ring.py), and the
program's ranges are made into that file: the Sentry copies what the
program had there into the file, then injects
mmap(addr, len, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, file) over each
range.  The program's pointers keep working and it sees its own bytes
(Linux leaves everything but the masks and entry counts as the program had
it).  What differs from pinned anonymous pages -- fork shares the ring
with the child, madvise(MADV_DONTNEED) keeps the contents, /proc/pid/maps
names a /dev/shm file, the old ranges after a resize stay shared mappings
-- is listed in docs/io_uring.md.

REGISTERED_FD_ONLY (which needs NO_MMAP: nothing could be mapped without an
fd) gives the ring no fd at all: setup returns the index of a slot of the
thread's registered rings (tctx.py) holding it.
"""
import errno

from pysentry.mm.registered_buffers import _covered, _writable_ranges
from pysentry.platform.task import ABI_I386
from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry import fdchannel
from pysentry.sentry.iouring import abi, tctx
from pysentry.sentry.syscalls import numbers

_PAGE = 4096
_PROT_RW = 0x1 | 0x2                 # PROT_READ | PROT_WRITE
_MAP_SHARED_FIXED = 0x01 | 0x10      # MAP_SHARED | MAP_FIXED


def check_region(task, addr, size):
    """io_create_region()'s checks of a region of the program's memory, in
    Linux's order: no address EFAULT, misaligned EINVAL, wrapping past the
    end of the address space EOVERFLOW, then what pinning it writable
    (io_pin_pages) finds: a page not mapped writable is EFAULT."""
    if not addr:
        raise OSError(errno.EFAULT, "no user_addr")
    if (addr | size) & (_PAGE - 1):
        raise OSError(errno.EINVAL, "not page-aligned")
    if addr + size >= 1 << 64:
        raise OSError(errno.EOVERFLOW, "region wraps")
    if not _covered(_writable_ranges(task.tid), addr, addr + size):
        raise OSError(errno.EFAULT, "not mapped writable")


def check_ranges(task, rings_addr, rings_size, sqes_addr, sqes_size):
    """Both regions of a NO_MMAP ring, the rings first (io_allocate_scq_urings)."""
    check_region(task, rings_addr, rings_size)
    check_region(task, sqes_addr, sqes_size)


def load(task, ring, rings_addr, sqes_addr):
    """Make the ring's memory hold what the program has at its two ranges
    (Linux uses those very pages), with the masks and entry counts written
    over them; EFAULT if the program's memory cannot be read.  The ranges
    are kept for share() and for resizing."""
    rings = task.mem.read(rings_addr, ring.rings_size)
    sqes = task.mem.read(sqes_addr, ring.sqes_size)
    ring.mem[0:ring.rings_size] = rings
    ring.mem[ring.sqes_off:ring.sqes_off + ring.sqes_size] = sqes
    ring.write_sizes()
    ring.user_mem = (rings_addr, sqes_addr)


def share(kernel, task, region, rings_addr, rings_size, sqes_off, sqes_addr, sqes_size,
          scratch=None):
    """Generator: map `region` (the ring's /dev/shm file) over the program's
    two ranges, MAP_SHARED|MAP_FIXED, so that its pages are the Sentry's.
    Returns 0 or -errno (an mmap the host refuses: a range inside a hugetlb
    mapping that cannot be split at it, say -- Linux would have pinned it).
    scratch: child memory fdchannel.install may use (see there)."""
    abi_ = task.stop_abi
    tmp = yield from fdchannel.install(kernel, task, region.fd, True, scratch=scratch)
    if tmp < 0:
        return tmp
    res = 0
    for addr, size, off in ((rings_addr, rings_size, 0), (sqes_addr, sqes_size, sqes_off)):
        if abi_ == ABI_I386:
            got = yield InjectSyscall(numbers.I386_MMAP2, addr, size, _PROT_RW,
                                      _MAP_SHARED_FIXED, tmp, off // _PAGE)
        else:
            got = yield InjectSyscall(numbers.MMAP, addr, size, _PROT_RW,
                                      _MAP_SHARED_FIXED, tmp, off)
        if got < 0 and -got < 4096:
            res = got
            break
    yield InjectSyscall(numbers.close(abi_), tmp)
    task.fdtable.drop(tmp)
    return res


def share_ring(kernel, task, ring, scratch=None):
    """Generator: share() for a ring set up with NO_MMAP."""
    rings_addr, sqes_addr = ring.user_mem
    return (yield from share(kernel, task, ring.region, rings_addr, ring.rings_size,
                             ring.sqes_off, sqes_addr, ring.sqes_size, scratch))


def install_registered(kernel, task, ring):
    """REGISTERED_FD_ONLY: put the ring in the first free slot of the
    thread's registered rings (io_ring_add_registered_file from slot 0) and
    return its index; EBUSY when all 16 are taken."""
    ctx = tctx.add_node(task, ring)
    for slot in range(tctx.RINGFD_REG_MAX):
        if ctx.rings[slot] is None:
            ctx.rings[slot] = kernel.io_uring.file_for(ring)
            return slot
    raise OSError(errno.EBUSY, "no free ring slot")


def sanitise(flags):
    """io_uring_sanitise_params(): there is no way to map rings without a
    real fd, so REGISTERED_FD_ONLY needs NO_MMAP."""
    if flags & abi.SETUP_REGISTERED_FD_ONLY and not flags & abi.SETUP_NO_MMAP:
        raise OSError(errno.EINVAL, "REGISTERED_FD_ONLY needs NO_MMAP")
