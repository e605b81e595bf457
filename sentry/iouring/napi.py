"""IORING_REGISTER_NAPI / IORING_UNREGISTER_NAPI: NAPI busy-poll settings.

Busy polling only changes how fast a waiter notices network completions,
never what it sees; the Sentry's waits do not busy-poll, so these calls keep
and report the settings as Linux's io_uring/napi.c does (the previous ones
copied back, the timeout capped at 10 ms, the tracking mode) without polling.
Static tracking keeps its set of NAPI ids as Linux does: an id below
MIN_NAPI_ID (NR_CPUS + 1) is EINVAL, adding one twice EEXIST, deleting one
not added ENOENT; 6.18 does not check that the id names a live NAPI instance.
"""
import errno
import struct

# struct io_uring_napi: busy_poll_to, prefer_busy_poll, opcode, pad[2],
# op_param, resv
_NAPI = struct.Struct("<IBB2sII")
REGISTER_OP = 0
STATIC_ADD_ID = 1
STATIC_DEL_ID = 2
TRACKING_DYNAMIC = 0
TRACKING_STATIC = 1
TRACKING_INACTIVE = 255
_MAX_BUSY_POLL_US = 10000
SETUP_IOPOLL = 1 << 0


class Napi:
    __slots__ = ("busy_poll_us", "prefer", "mode", "ids")

    def __init__(self):
        self.busy_poll_us, self.prefer, self.mode = 0, 0, TRACKING_INACTIVE
        self.ids = set()          # statically tracked NAPI ids

    def packed(self, mode=True):
        # io_register_napi() reports the tracking mode in op_param;
        # io_unregister_napi() leaves it 0.
        return _NAPI.pack(self.busy_poll_us, self.prefer, 0, b"\0\0", self.mode if mode else 0, 0)


def _min_napi_id():
    """MIN_NAPI_ID: ids up to NR_CPUS are sender CPUs, not NAPI instances."""
    try:
        with open("/sys/devices/system/cpu/kernel_max") as f:
            return int(f.read()) + 2          # kernel_max is NR_CPUS - 1
    except (OSError, ValueError):
        return 8193


def _state(ring):
    if ring.napi is None:
        ring.napi = Napi()
    return ring.napi


def register_napi(kernel, task, ring, arg, nr_args):
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "bad arguments")
    if ring.flags & SETUP_IOPOLL:
        raise OSError(errno.EINVAL, "no NAPI on IOPOLL rings")
    busy, prefer, opcode, pad, op_param, resv = _NAPI.unpack(task.mem.read(arg, _NAPI.size))
    if any(pad) or resv:
        raise OSError(errno.EINVAL, "reserved fields")
    state = _state(ring)
    task.mem.write(arg, state.packed())       # the settings before this call
    if opcode == REGISTER_OP:
        if op_param not in (TRACKING_DYNAMIC, TRACKING_STATIC):
            raise OSError(errno.EINVAL, "unknown tracking mode")
        state.busy_poll_us = min(busy, _MAX_BUSY_POLL_US)
        state.prefer = 1 if prefer else 0
        state.mode = op_param
        state.ids.clear()         # new settings start an empty list (io_napi_free)
        return 0
    if opcode in (STATIC_ADD_ID, STATIC_DEL_ID):
        if state.mode != TRACKING_STATIC:
            raise OSError(errno.EINVAL, "not static tracking")
        if op_param < _min_napi_id():
            raise OSError(errno.EINVAL, "not a NAPI id")
        if opcode == STATIC_ADD_ID:
            if op_param in state.ids:
                raise OSError(errno.EEXIST, "already tracked")
            state.ids.add(op_param)
            return 0
        if op_param not in state.ids:
            raise OSError(errno.ENOENT, "id not tracked")
        state.ids.discard(op_param)
        return 0
    raise OSError(errno.EINVAL, "unknown NAPI opcode")


def unregister_napi(kernel, task, ring, arg, nr_args):
    if nr_args != 1:
        raise OSError(errno.EINVAL, "bad arguments")
    state = _state(ring)
    if arg:
        task.mem.write(arg, state.packed(mode=False))
    ring.napi = Napi()
    return 0
