"""A thread's own io_uring state: its registered ring fds (Linux's struct
io_uring_task, current->io_uring, and io_uring/register.c's ring fd
registration).

IORING_REGISTER_RING_FDS puts rings in up to 16 slots that belong to the
calling thread; io_uring_enter(IORING_ENTER_REGISTERED_RING) and
io_uring_register(op | IORING_REGISTER_USE_REGISTERED_RING) then take a slot
number instead of an fd.  A slot holds the ring like an open fd does, so the
ring outlives the program closing its fd.

Linux gives a thread this state when it creates a ring, submits SQEs through
io_uring_enter or registers a ring fd; until then a slot number is -EINVAL,
afterwards an empty slot is -EBADF.  A new thread or forked child starts
without it and execve drops it (both checked against the host by
tests/c/ring_fds.c).
"""
import errno
import struct
import weakref

from pysentry.sentry.iouring import iowq
from pysentry.sentry.syscalls import numbers

RINGFD_REG_MAX = 16          # IO_RINGFD_REG_MAX
_UPDATE = struct.Struct("<IIQ")    # struct io_uring_rsrc_update: offset, resv, data


class TaskContext:
    __slots__ = ("rings", "iowq", "nodes")

    def __init__(self, ring, tgid):
        self.rings = [None] * RINGFD_REG_MAX     # IoUringFileDescription or None
        # The thread's io-wq settings, sized by the ring that created the
        # state, as io_uring_alloc_task_context() does (iowq.py).
        self.iowq = iowq.IoWq(ring.sq_entries, tgid)
        self.nodes = weakref.WeakSet()           # rings used (io_tctx_node)

    def release(self):
        for i, desc in enumerate(self.rings):
            if desc is not None:
                self.rings[i] = None
                desc.release()


def add_node(task, ring):
    """The thread now has io_uring state (__io_uring_add_tctx_node) and
    uses `ring`; io-wq limits the ring was given apply to a thread joining it."""
    tctx = task.uring_tctx
    if tctx is None:
        tctx = task.uring_tctx = TaskContext(ring, task.tgid)
    if ring not in tctx.nodes:
        tctx.nodes.add(ring)
        # The C trap step serves this thread's io_uring_enter on the ring
        # only once this is a no-op (trap.c trap_enter).
        t, c = getattr(task, "ctrap", None), ring._c
        if t is not None and c is not None and t.nrings < len(t.rings):
            t.rings[t.nrings] = c.id
            t.nrings += 1
        if ring.iowq_limits is not None:
            iowq.apply(tctx.iowq, ring.iowq_limits, task.tgid)
    return tctx


def drop(task):
    """Thread exit or execve: the slots let go of their rings."""
    tctx, task.uring_tctx = task.uring_tctx, None
    t = getattr(task, "ctrap", None)
    if t is not None:
        t.nrings = 0
    if tctx is not None:
        tctx.release()


def registered_ring(task, index):
    """The ring in the thread's slot `index` (io_uring_register_get_file)."""
    tctx = task.uring_tctx
    if tctx is None or index >= RINGFD_REG_MAX:
        raise OSError(errno.EINVAL, "no such ring slot")
    desc = tctx.rings[index]
    if desc is None:
        raise OSError(errno.EBADF, "empty ring slot")
    return desc.ring


def register_ring_fds(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_RING_FDS: an array of io_uring_rsrc_update, each an
    fd (data) and a slot (offset, or -1 for the first free one, written
    back).  Returns how many were registered, or the first entry's error."""
    if not nr_args or nr_args > RINGFD_REG_MAX:
        raise OSError(errno.EINVAL, "bad count")
    try:
        raw = task.mem.read(arg, nr_args * _UPDATE.size)
    except OSError:
        pass            # the entry that cannot be read fails below
    else:
        # Without pidfd_getfd the fds are taken over by injection, which
        # serves the call again: take them before any slot changes.
        kernel.require_held(task, [numbers.signed_fd(d) for _, _, d in _UPDATE.iter_unpack(raw)])
    tctx = add_node(task, ring)
    done = 0
    err = None
    for i in range(nr_args):
        addr = arg + i * _UPDATE.size
        try:
            offset, resv, data = _UPDATE.unpack(task.mem.read(addr, _UPDATE.size))
            if resv:
                raise OSError(errno.EINVAL, "reserved field")
            if offset == 0xFFFFFFFF:
                slots = range(RINGFD_REG_MAX)
            elif offset >= RINGFD_REG_MAX:
                raise OSError(errno.EINVAL, "slot out of range")
            else:
                slots = (offset,)
            target = kernel.ring_of(task, numbers.signed_fd(data))     # an int fd
            if target is None:
                raise OSError(errno.EOPNOTSUPP, "not an io_uring fd")
            slot = next((s for s in slots if tctx.rings[s] is None), None)
            if slot is None:
                raise OSError(errno.EBUSY, "slot in use")
            tctx.rings[slot] = kernel.io_uring.file_for(target)
            try:
                task.mem.write(addr, struct.pack("<I", slot))
            except OSError:
                desc, tctx.rings[slot] = tctx.rings[slot], None
                desc.release()
                raise
        except OSError as e:
            err = e
            break
        done += 1
    if done or err is None:
        return done
    raise err


def unregister_ring_fds(kernel, task, ring, arg, nr_args):
    """IORING_UNREGISTER_RING_FDS: empties the slots named (offset; resv and
    data must be 0).  An empty slot is no error."""
    if not nr_args or nr_args > RINGFD_REG_MAX:
        raise OSError(errno.EINVAL, "bad count")
    tctx = task.uring_tctx
    if tctx is None:
        return 0
    done = 0
    err = None
    for i in range(nr_args):
        try:
            offset, resv, data = _UPDATE.unpack(task.mem.read(arg + i * _UPDATE.size,
                                                              _UPDATE.size))
            if resv or data or offset >= RINGFD_REG_MAX:
                raise OSError(errno.EINVAL, "bad entry")
        except OSError as e:
            err = e
            break
        desc, tctx.rings[offset] = tctx.rings[offset], None
        if desc is not None:
            desc.release()
        done += 1
    if done or err is None:
        return done
    raise err
