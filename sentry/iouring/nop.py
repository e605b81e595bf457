"""IORING_OP_NOP: completes at once; flags can inject a result or check a file."""
import errno

from pysentry.sentry.iouring import abi

_KNOWN = (abi.NOP_INJECT_RESULT | abi.NOP_FILE | abi.NOP_FIXED_FILE | abi.NOP_FIXED_BUFFER
          | abi.NOP_TW | abi.NOP_CQE32)


def prep(req):
    if req.op_flags & ~_KNOWN:
        raise OSError(errno.EINVAL, "unknown nop flags")
    if req.op_flags & abi.NOP_CQE32:
        # io_nop_prep(): a 32-byte CQE needs a ring that can post one; its
        # big_cqe[] are the SQE's off and addr (with IORING_CQE_F_32 on a
        # CQE_MIXED ring: ringlayout.py).
        if not req.ring.flags & (abi.SETUP_CQE32 | abi.SETUP_CQE_MIXED):
            raise OSError(errno.EINVAL, "NOP_CQE32 without 32-byte CQEs")
        req.big_cqe = (req.off, req.addr)


def issue(req, kernel):
    flags = req.op_flags
    if flags & abi.NOP_FILE:
        # Linux 6.18 takes the fixed table when either IORING_NOP_FIXED_FILE
        # or the SQE's IOSQE_FIXED_FILE asks for it (checked against the
        # host: tests/c/fuzz_fixes.c, "nopfile").
        if flags & abi.NOP_FIXED_FILE or req.flags & abi.IOSQE_FIXED_FILE:
            if req.ring.file_table is None:
                return -errno.EBADF
            req.ring.file_table.get(req.fd).put()
        else:
            kernel.lookup_file(req.task, req.fd).put()
    if flags & abi.NOP_FIXED_BUFFER:
        table = req.ring.buffer_table
        if table is None or not table.has(req.buf_index):
            return -errno.EFAULT
    if flags & abi.NOP_INJECT_RESULT:
        res = req.len
        return res - (1 << 32) if res & 0x80000000 else res
    return 0
