"""IORING_SETUP_R_DISABLED, IORING_REGISTER_RESTRICTIONS and ENABLE_RINGS.

A ring created disabled accepts io_uring_register but not io_uring_enter
(-EBADFD) until IORING_REGISTER_ENABLE_RINGS.  Restrictions, registered once
while disabled, then limit which register opcodes (-EACCES), SQE opcodes and
SQE flags (the request completes with -EACCES) the ring accepts
(io_uring/register.c).
"""
import errno
import struct

from pysentry.sentry.iouring import abi, dataplane

RESTRICTION_REGISTER_OP = 0
RESTRICTION_SQE_OP = 1
RESTRICTION_SQE_FLAGS_ALLOWED = 2
RESTRICTION_SQE_FLAGS_REQUIRED = 3
_RESTRICTION = struct.Struct("<HBB3I")          # opcode, op/flags, resv, resv2[3]
MAX_RESTRICTIONS = 4 + abi.REGISTER_LAST + abi.OP_LAST


class Restrictions:
    def __init__(self):
        self.register_ops = set()
        self.sqe_ops = set()
        self.sqe_flags_allowed = 0
        self.sqe_flags_required = 0

    def sqe_allowed(self, req):
        if req.opcode not in self.sqe_ops:
            return False
        if req.flags & ~(self.sqe_flags_allowed | self.sqe_flags_required):
            return False
        return (req.flags & self.sqe_flags_required) == self.sqe_flags_required


def register_restrictions(kernel, task, ring, arg, nr_args):
    if not ring.flags & abi.SETUP_R_DISABLED or ring.enabled:
        raise OSError(errno.EBADFD, "restrictions only on a disabled ring")
    if ring.restrictions is not None:
        raise OSError(errno.EBUSY, "restrictions already registered")
    if not arg or nr_args > MAX_RESTRICTIONS:
        raise OSError(errno.EINVAL, "bad restriction count")
    raw = task.mem.read(arg, _RESTRICTION.size * nr_args)
    res = Restrictions()
    # Linux ignores the reserved fields (liburing's own test leaves them as
    # stack garbage) and registers nothing if any entry is bad.
    for opcode, value, _resv, *_resv2 in _RESTRICTION.iter_unpack(raw):
        if opcode == RESTRICTION_REGISTER_OP:
            if value >= abi.REGISTER_LAST:
                raise OSError(errno.EINVAL, "bad register op")
            res.register_ops.add(value)
        elif opcode == RESTRICTION_SQE_OP:
            if value >= abi.OP_LAST:
                raise OSError(errno.EINVAL, "bad sqe op")
            res.sqe_ops.add(value)
        elif opcode == RESTRICTION_SQE_FLAGS_ALLOWED:
            res.sqe_flags_allowed = value
        elif opcode == RESTRICTION_SQE_FLAGS_REQUIRED:
            res.sqe_flags_required = value
        else:
            raise OSError(errno.EINVAL, "bad restriction")
    ring.restrictions = res
    dataplane.sync(ring)          # the C data plane does not check restrictions
    return 0


def enable_rings(kernel, task, ring, arg, nr_args):
    if arg or nr_args:
        raise OSError(errno.EINVAL, "enable takes no argument")
    if not ring.flags & abi.SETUP_R_DISABLED or ring.enabled:
        raise OSError(errno.EBADFD, "ring is not disabled")
    ring.enabled = True
    if ring.flags & abi.SETUP_SINGLE_ISSUER:
        ring.submitter_tid = task.tid      # the enabling task becomes the submitter
    if ring.start_sqpoll is not None:
        ring.start_sqpoll()
        ring.start_sqpoll = None
    return 0


def register_allowed(ring, opcode):
    """With restrictions in force only the listed register opcodes are allowed."""
    r = ring.restrictions
    return r is None or not ring.enabled or opcode in r.register_ops
