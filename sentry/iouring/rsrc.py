"""Registered buffers on a ring (io_uring/rsrc.c): register and unregister.

The table itself lives in mm/registered_buffers.py.
"""
import errno

from pysentry.mm import registered_buffers


def register_buffers(kernel, task, ring, arg, nr_args):
    if ring.buffer_table is not None:
        raise OSError(errno.EBUSY, "buffers already registered")
    ring.buffer_table = registered_buffers.register(task.mem, task.tid, arg, nr_args)
    return 0


def unregister_buffers(kernel, task, ring, arg, nr_args):
    if arg or nr_args:
        raise OSError(errno.EINVAL, "unregister takes no argument")
    if ring.buffer_table is None:
        raise OSError(errno.ENXIO, "no buffers registered")
    ring.buffer_table = None
    return 0
