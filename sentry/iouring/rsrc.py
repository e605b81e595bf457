"""Registered buffers on a ring (io_uring/rsrc.c): register, update, unregister.

The table itself lives in mm/registered_buffers.py.  IORING_REGISTER_BUFFERS2
and IORING_REGISTER_BUFFERS_UPDATE take a tag per slot; a tagged buffer that
leaves its slot posts its tag CQE once no request uses it (rsrc_node.py).
"""
import errno
import struct

from pysentry.mm import registered_buffers
from pysentry.sentry.iouring import abi, tctx
from pysentry.sentry.iouring.enter import lookup_ring
from pysentry.sentry.iouring.filetable import RSRC_REGISTER, RSRC_REGISTER_SPARSE, RSRC_UPDATE2
from pysentry.sentry.iouring.rsrc_node import RsrcNode, read_tags
from pysentry.sentry.syscalls import numbers


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


_CLONE = struct.Struct("<5I3I")     # struct io_uring_clone_buffers
CLONE_SRC_REGISTERED = 1 << 0
CLONE_DST_REPLACE = 1 << 1
_U32_MAX = (1 << 32) - 1


def clone_buffers(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_CLONE_BUFFERS: the source ring's registered buffers
    src_off.. (nr of them, 0: all) appear in this ring's slots dst_off..
    (io_register_clone_buffers, io_clone_buffers).  With DST_REPLACE the
    slots outside that range keep their buffers; a replaced tagged buffer
    posts its tag when unused; the clones carry no tag.  A buffer is its
    range in the program's memory, so a clone outlives the source's
    unregistration as Linux's shared pinned pages do."""
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "bad arguments")
    src_fd, flags, src_off, dst_off, nr, *pad = _CLONE.unpack(task.mem.read(arg, _CLONE.size))
    if flags & ~(CLONE_SRC_REGISTERED | CLONE_DST_REPLACE):
        raise OSError(errno.EINVAL, "unknown flags")
    old = ring.buffer_table
    if not flags & CLONE_DST_REPLACE and old is not None:
        raise OSError(errno.EBUSY, "buffers already registered")
    if any(pad):
        raise OSError(errno.EINVAL, "reserved fields")
    if flags & CLONE_SRC_REGISTERED:
        src = tctx.registered_ring(task, src_fd)
    else:
        src = lookup_ring(kernel, task, numbers.signed_fd(src_fd))
    if src is not ring and src.submitter_tid is not None and src.flags & abi.SETUP_SINGLE_ISSUER \
            and src.submitter_tid != task.tid:
        raise OSError(errno.EEXIST, "source ring has another submitter")
    # Buffer accounting is shared, so Linux requires both rings accounted to
    # the same process (mm) and user.
    if src.creator_tgid != ring.creator_tgid:
        raise OSError(errno.EINVAL, "rings of different processes")
    if not nr and (dst_off or src_off):
        raise OSError(errno.EINVAL, "offsets need a count")
    table = src.buffer_table
    nbufs = len(table) if table is not None else 0
    if nr > nbufs or nr > registered_buffers.MAX_REG_BUFFERS:
        raise OSError(errno.EINVAL, "count beyond the source")
    count = nr or nbufs
    if count + dst_off > _U32_MAX:
        raise OSError(errno.EOVERFLOW, "dst_off + nr overflows")
    if count + dst_off > registered_buffers.MAX_REG_BUFFERS:
        raise OSError(errno.EINVAL, "too many buffers")
    if not nbufs:
        raise OSError(errno.ENXIO, "no buffers in the source")
    if count + src_off > _U32_MAX or count + src_off > nbufs:
        raise OSError(errno.EOVERFLOW, "src_off + nr beyond the source")
    old_len = len(old) if old is not None else 0
    size = max(count + dst_off, old_len)
    buffers = [(0, 0)] * size
    nodes = [None] * size
    keep = [i for i in range(old_len) if not dst_off <= i < dst_off + count]
    for i in keep:
        buffers[i], nodes[i] = old.buffers[i], old.nodes[i]
    for k in range(count):
        buffers[dst_off + k] = table.buffers[src_off + k]
    if old is not None:
        # The old table's nodes that were not kept leave their slots.
        for i in range(old_len):
            if dst_off <= i < dst_off + count and old.nodes[i] is not None:
                old.nodes[i].remove()
    ring.buffer_table = registered_buffers.BufferTable(buffers, nodes)
    return 0
