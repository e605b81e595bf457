"""Entry sizes of one ring: what IORING_SETUP_SQE128, CQE32 and CQE_MIXED
change, in one place (ring.py builds the shared memory from it, the C data
plane gets its strides, setup.py its checks).

* SQE128: every SQE is 128 bytes; the SQ array still holds indexes, now of
  128-byte slots.  The first 64 bytes are the usual SQE, the rest is the
  big command area (URING_CMD's cmd[] grows from 16 to 80 bytes).
* CQE32: every CQE is 32 bytes, the last 16 two u64s (big_cqe[]) that an
  op may fill and that are zero otherwise; tail and head count entries.
* CQE_MIXED: CQEs are 16 bytes, but one may take two slots: it then has
  IORING_CQE_F_32 in its flags.  A 32-byte CQE never wraps: with one slot
  left before the end of the array a padding CQE (IORING_CQE_F_SKIP, all
  else zero) fills it first (Linux's io_fill_nop_cqe).  Tail and head count
  16-byte slots.
"""
import errno

from pysentry.mm.shm import page_align
from pysentry.sentry.iouring import abi

# The CQE array's offset: the size of Linux 6.18's struct io_rings header
# (ring.py uses its field offsets, so that memory a program sizes for Linux,
# IORING_SETUP_NO_MMAP, holds the Sentry's ring too).
CQES = 64

CQE_F_SKIP = abi.CQE_F_SKIP
CQE_F_32 = abi.CQE_F_32
ENTRY_FLAGS = abi.SETUP_SQE128 | abi.SETUP_CQE32 | abi.SETUP_CQE_MIXED


def check(flags, cq_entries):
    """io_uring_sanitise_params()/rings_size() checks on the entry sizes:
    CQE32 with CQE_MIXED is EINVAL (a CQE32 ring cannot post 16-byte
    CQEs); a mixed CQ of one slot could never hold a 32-byte CQE, and
    rings_size() fails it (EOVERFLOW from the ring allocation)."""
    if flags & abi.SETUP_CQE32 and flags & abi.SETUP_CQE_MIXED:
        raise OSError(errno.EINVAL, "CQE32 with CQE_MIXED")
    if flags & abi.SETUP_CQE_MIXED and cq_entries < 2:
        raise OSError(errno.EOVERFLOW, "mixed CQ of one slot")


class Layout:
    """Sizes and offsets of a ring's shared memory.

      offset 0          header, CQE array, SQ index array (OFF_SQ_RING and
                        OFF_CQ_RING: IORING_FEAT_SINGLE_MMAP)
      page-aligned      the SQE array (OFF_SQES)
    """
    __slots__ = ("sqe_size", "cqe_size", "cqe32", "mixed", "sq_array", "rings_size",
                 "sqes_off", "sqes_size")

    def __init__(self, flags, sq_entries, cq_entries):
        self.sqe_size = 128 if flags & abi.SETUP_SQE128 else abi.SQE_SIZE
        self.cqe32 = bool(flags & abi.SETUP_CQE32)
        self.mixed = bool(flags & abi.SETUP_CQE_MIXED)
        # Bytes per CQ entry (a mixed ring's entry is a 16-byte slot).
        self.cqe_size = 32 if self.cqe32 else abi.CQE_SIZE
        cq_end = CQES + cq_entries * self.cqe_size
        if self.cqe32:
            # rings_size() doubles the whole struct io_rings, header
            # included, for 32-byte CQEs: the SQ array then lies 64 bytes
            # further from the CQEs than their size (programs may size
            # their mmap from it).
            cq_end += 64
        if flags & abi.SETUP_NO_SQARRAY:
            self.sq_array = 0
            end = cq_end
        else:
            # As rings_size(): the array starts on a cache line after the CQEs.
            self.sq_array = (cq_end + 63) & ~63
            end = self.sq_array + 4 * sq_entries
        self.rings_size = page_align(end)
        self.sqes_off = self.rings_size
        self.sqes_size = page_align(sq_entries * self.sqe_size)

    def cqe_bytes(self, cflags):
        """The size of a CQE with these flags on this ring."""
        if self.cqe32 or (self.mixed and cflags & CQE_F_32):
            return 32
        return abi.CQE_SIZE

    def big_cflags(self, cflags, big):
        """The flags of a CQE an op posts with big_cqe[] (`big` not None):
        a mixed ring marks it IORING_CQE_F_32 (ctx_cqe32_flags())."""
        if big is not None and self.mixed:
            return cflags | CQE_F_32
        return cflags

    def c_mode(self):
        """The CQ mode the C block is given: 0 16-byte, 1 CQE32, 2 mixed."""
        return 1 if self.cqe32 else 2 if self.mixed else 0
