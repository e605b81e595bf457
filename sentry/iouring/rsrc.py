"""Registered buffers on a ring (io_uring/rsrc.c): register, update, unregister.

The table itself lives in mm/registered_buffers.py.  IORING_REGISTER_BUFFERS2
and IORING_REGISTER_BUFFERS_UPDATE take a tag per slot; a tagged buffer that
leaves its slot posts its tag CQE once no request uses it (rsrc_node.py).
"""
import errno
import struct

from pysentry.mm import registered_buffers
from pysentry.sentry.iouring.filetable import RSRC_REGISTER, RSRC_REGISTER_SPARSE, RSRC_UPDATE2
from pysentry.sentry.iouring.rsrc_node import RsrcNode, read_tags


def register_buffers(kernel, task, ring, arg, nr_args):
    return _register(task, ring, arg, nr_args, 0)


def register_buffers2(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_BUFFERS2: struct io_uring_rsrc_register (with tags,
    or SPARSE for empty slots to be filled by updates)."""
    if nr_args != RSRC_REGISTER.size:
        raise OSError(errno.EINVAL, "bad struct size")
    nr, flags, resv2, data, tags = RSRC_REGISTER.unpack(task.mem.read(arg, RSRC_REGISTER.size))
    if resv2 or flags & ~RSRC_REGISTER_SPARSE:
        raise OSError(errno.EINVAL, "reserved fields")
    if flags & RSRC_REGISTER_SPARSE:
        if data:
            raise OSError(errno.EINVAL, "sparse with data")
        if ring.buffer_table is not None:
            raise OSError(errno.EBUSY, "buffers already registered")
        if nr == 0 or nr > registered_buffers.MAX_REG_BUFFERS:
            raise OSError(errno.EINVAL, "bad buffer count")
        if any(read_tags(task, tags, nr)):
            raise OSError(errno.EINVAL, "a tag on an empty slot")
        ring.buffer_table = registered_buffers.BufferTable([(0, 0)] * nr)
        return 0
    return _register(task, ring, data, nr, tags)


def _register(task, ring, iovs, nr, tags):
    if ring.buffer_table is not None:
        raise OSError(errno.EBUSY, "buffers already registered")
    tag_list = read_tags(task, tags, nr) if nr <= registered_buffers.MAX_REG_BUFFERS else None
    ring.buffer_table = registered_buffers.register(task.mem, task.tid, iovs, nr, tag_list,
                                                    lambda tag: RsrcNode(ring, tag))
    return 0


def buffers_update(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_BUFFERS_UPDATE: struct io_uring_rsrc_update2; the
    buffers and tags replace slots offset.., returning how many were."""
    if nr_args != RSRC_UPDATE2.size:
        raise OSError(errno.EINVAL, "bad struct size")
    offset, resv, data, tags, nr, resv2 = RSRC_UPDATE2.unpack(
        task.mem.read(arg, RSRC_UPDATE2.size))
    if resv or resv2:
        raise OSError(errno.EINVAL, "reserved fields")
    table = ring.buffer_table
    if table is None:
        raise OSError(errno.ENXIO, "no buffers registered")
    if offset + nr > len(table):
        raise OSError(errno.EINVAL, "update past the table")
    tag_list = read_tags(task, tags, nr)
    done = 0
    for i in range(nr):
        try:
            (buf,) = registered_buffers.check_iovecs(task.mem, task.tid,
                                                     data + i * struct.calcsize("<QQ"), 1,
                                                     [tag_list[i]])
        except OSError:
            if done == 0:
                raise
            break
        table.replace(offset + i, buf, RsrcNode(ring, tag_list[i]) if tag_list[i] else None)
        done += 1
    if done:
        ring.buffer_table = table      # the data plane's copy follows (ring.py)
    return done


def unregister_buffers(kernel, task, ring, arg, nr_args):
    if arg or nr_args:
        raise OSError(errno.EINVAL, "unregister takes no argument")
    if ring.buffer_table is None:
        raise OSError(errno.ENXIO, "no buffers registered")
    table, ring.buffer_table = ring.buffer_table, None
    table.release()
    return 0
