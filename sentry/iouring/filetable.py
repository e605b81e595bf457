"""Registered ("fixed") files: IORING_REGISTER_FILES and friends.

Mirrors io_uring/filetable.c and rsrc.c: a table of file descriptions the ring
holds its own references to, addressed by index with IOSQE_FIXED_FILE.  An
empty slot (registered as -1, or sparse) makes a request fail with -EBADF.
A slot registered or updated with a tag (FILES2, FILES_UPDATE2) has an
RsrcNode (rsrc_node.py): its tag CQE comes once the file has left the slot
and no request uses it any more.
"""
import errno
import struct

from pysentry.sentry.iouring.file import IoUringFileDescription
from pysentry.sentry.iouring import dataplane
from pysentry.sentry.iouring.rsrc_node import RsrcNode, read_tags

# Linux caps the table at the task's RLIMIT_NOFILE and at 1 << 20
# (IORING_MAX_FIXED_FILES).
MAX_FIXED_FILES = 1 << 20
FILES_SKIP = -2
RSRC_REGISTER_SPARSE = 1 << 0
RSRC_REGISTER = struct.Struct("<IIQQQ")        # nr, flags, resv2, data, tags
RSRC_UPDATE2 = struct.Struct("<IIQQII")        # offset, resv, data, tags, nr, resv2
FILES_UPDATE = struct.Struct("<IIQ")           # offset, resv, fds


FILE_INDEX_ALLOC = 0xFFFFFFFF       # sqe->file_index: "pick a free slot"
FILE_INDEX_RANGE = struct.Struct("<IIQ")    # off, len, resv


class FileTable:
    def __init__(self, ring, size):
        self.ring = ring
        self.slots = [None] * size
        self.nodes = [None] * size      # RsrcNode of a tagged slot
        # Slot allocation for direct descriptors (io_file_bitmap_get): search
        # [alloc_start, alloc_end) from a hint that follows the last slot set
        # (or the last one cleared), wrapping once.
        self.alloc_start = 0
        self.alloc_end = size
        self.alloc_hint = 0
        self.cring = None     # the ring's C block, once the data plane reads the table

    def __len__(self):
        return len(self.slots)

    def get(self, index, req=None):
        """The description at index with a reference taken; EBADF if none.
        A request taking it also holds the slot's tag node until it ends."""
        if index < 0 or index >= len(self.slots) or self.slots[index] is None:
            raise OSError(errno.EBADF, "no such fixed file")
        node = self.nodes[index]
        if node is not None and req is not None:
            req.hold(node)
        return self.slots[index].get()

    def set(self, index, desc, tag=0):
        old = self.slots[index]
        self.slots[index] = desc
        node = self.nodes[index]
        self.nodes[index] = RsrcNode(self.ring, tag) if tag and desc is not None else None
        if self.cring is not None:
            # The data plane's copy changes before the old file is put.  A
            # tagged slot is not exported: a request using it must hold its
            # node (rsrc_node.py), which only the Python path does.
            dataplane.file_slot_set(self.cring, index,
                                    desc if self.nodes[index] is None else None)
        if node is not None:
            node.remove()
        if desc is not None:
            self.alloc_hint = index + 1
        elif old is not None:
            self.alloc_hint = index
        if old is not None:
            old.put()

    def alloc(self):
        """A free slot for IORING_FILE_INDEX_ALLOC; ENFILE if the range is full."""
        end, hint = self.alloc_end, self.alloc_hint
        while True:
            for i in range(max(hint, self.alloc_start), end):
                if self.slots[i] is None:
                    return i
            if hint <= self.alloc_start:
                raise OSError(errno.ENFILE, "no free fixed file slot")
            end, hint = min(hint, self.alloc_end), self.alloc_start
            self.alloc_hint = hint

    def install(self, desc, file_index):
        """Put desc in the slot sqe->file_index names (1-based, or ALLOC).

        io_fixed_fd_install(): returns 0, or the slot picked for ALLOC; the
        caller's reference to desc passes to the table, or is dropped on error.
        """
        try:
            if isinstance(desc, IoUringFileDescription):
                raise OSError(errno.EBADF, "an io_uring cannot be a fixed file")
            if file_index == FILE_INDEX_ALLOC:
                index = self.alloc()
            else:
                index = file_index - 1
                if index >= len(self.slots):
                    raise OSError(errno.EINVAL, "slot past the table")
        except OSError:
            desc.put()
            raise
        self.set(index, desc)
        return index if file_index == FILE_INDEX_ALLOC else 0

    def remove(self, index):
        """io_fixed_fd_remove(): empty a slot (IORING_OP_CLOSE of a direct fd)."""
        if index >= len(self.slots):
            raise OSError(errno.EINVAL, "slot past the table")
        if self.slots[index] is None:
            raise OSError(errno.EBADF, "slot is empty")
        self.set(index, None)

    def release(self):
        """Unregister: every file leaves its slot (tagged ones post their tag)."""
        for i in range(len(self.slots)):
            self.set(i, None)

    def discard(self):
        """A registration that failed half-way: drop what it took, post nothing."""
        self.nodes = [None] * len(self.slots)
        self.release()


def _read_fds(task, addr, count):
    raw = task.mem.read(addr, 4 * count)
    return struct.unpack("<%di" % count, raw)


def _file_for(kernel, task, fd):
    desc = kernel.lookup_file(task, fd)
    if isinstance(desc, IoUringFileDescription):
        desc.put()
        raise OSError(errno.EBADF, "an io_uring cannot be a fixed file")
    return desc


def _fill(kernel, task, table, start, fds, tags=None):
    """Install fds at start..; -1 clears a slot, FILES_SKIP leaves it.  A
    tag on either of those is EINVAL (io_sqe_files_register/update)."""
    kernel.require_held(task, [fd for fd in fds if fd != FILES_SKIP])
    done = 0
    for i, fd in enumerate(fds):
        tag = tags[i] if tags else 0
        if tag and fd in (-1, FILES_SKIP):
            raise OSError(errno.EINVAL, "a tag on an empty or skipped slot")
        if fd == FILES_SKIP:
            done += 1
            continue
        table.set(start + i, None if fd == -1 else _file_for(kernel, task, fd), tag)
        done += 1
    return done


def register(kernel, task, ring, fds_addr, nr, sparse=False, tags=0):
    if ring.file_table is not None:
        raise OSError(errno.EBUSY, "files already registered")
    if nr == 0:
        raise OSError(errno.EINVAL, "no files")
    if nr > MAX_FIXED_FILES:
        raise OSError(errno.EMFILE, "too many files")
    tag_list = read_tags(task, tags, nr)
    table = FileTable(ring, nr)
    if sparse:
        if any(tag_list):
            raise OSError(errno.EINVAL, "a tag on an empty slot")
    else:
        try:
            _fill(kernel, task, table, 0, _read_fds(task, fds_addr, nr), tag_list)
        except OSError:
            table.discard()
            raise
    ring.file_table = table
    return 0


def register_files(kernel, task, ring, arg, nr_args):
    return register(kernel, task, ring, arg, nr_args)


def register_files2(kernel, task, ring, arg, nr_args):
    if nr_args != RSRC_REGISTER.size:
        raise OSError(errno.EINVAL, "bad struct size")
    nr, flags, resv2, data, tags = RSRC_REGISTER.unpack(task.mem.read(arg, RSRC_REGISTER.size))
    if resv2 or flags & ~RSRC_REGISTER_SPARSE:
        raise OSError(errno.EINVAL, "reserved fields")
    sparse = bool(flags & RSRC_REGISTER_SPARSE)
    if sparse and data:
        raise OSError(errno.EINVAL, "sparse with data")
    return register(kernel, task, ring, data, nr, sparse=sparse, tags=tags)


def unregister_files(kernel, task, ring, arg, nr_args):
    if arg or nr_args:
        raise OSError(errno.EINVAL, "unregister takes no argument")
    if ring.file_table is None:
        raise OSError(errno.ENXIO, "no files registered")
    ring.file_table.release()
    ring.file_table = None
    return 0


def update(kernel, task, ring, offset, fds_addr, nr, tags=0):
    if ring.file_table is None:
        raise OSError(errno.ENXIO, "no files registered")
    if offset + nr > len(ring.file_table):
        raise OSError(errno.EINVAL, "update past the table")
    fds = _read_fds(task, fds_addr, nr)
    tag_list = read_tags(task, tags, nr)
    done = 0
    for i, fd in enumerate(fds):
        try:
            done += _fill(kernel, task, ring.file_table, offset + i, [fd], [tag_list[i]])
        except OSError:
            if done == 0:
                raise
            break
    return done


def files_update(kernel, task, ring, arg, nr_args):
    offset, resv, fds = FILES_UPDATE.unpack(task.mem.read(arg, FILES_UPDATE.size))
    if resv:
        raise OSError(errno.EINVAL, "reserved field")
    return update(kernel, task, ring, offset, fds, nr_args)


def files_update2(kernel, task, ring, arg, nr_args):
    if nr_args != RSRC_UPDATE2.size:
        raise OSError(errno.EINVAL, "bad struct size")
    offset, resv, data, tags, nr, resv2 = RSRC_UPDATE2.unpack(
        task.mem.read(arg, RSRC_UPDATE2.size))
    if resv or resv2:
        raise OSError(errno.EINVAL, "reserved fields")
    return update(kernel, task, ring, offset, data, nr, tags)


def install_direct(ring, desc, file_index):
    """A file an op created goes straight into the ring's table (a "direct
    descriptor"): ENXIO if no table is registered."""
    if ring.file_table is None:
        desc.put()
        raise OSError(errno.ENXIO, "no files registered")
    return ring.file_table.install(desc, file_index)


def register_file_alloc_range(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_FILE_ALLOC_RANGE: where IORING_FILE_INDEX_ALLOC picks slots."""
    off, length, resv = FILE_INDEX_RANGE.unpack(task.mem.read(arg, FILE_INDEX_RANGE.size))
    end = off + length
    if end > 0xFFFFFFFF:
        raise OSError(errno.EOVERFLOW, "range overflows")
    # Without a table its size is 0 (io_register_file_alloc_range): only
    # the empty range at 0 is accepted, and there is nothing to set.
    table = ring.file_table
    if resv or end > (len(table) if table is not None else 0):
        raise OSError(errno.EINVAL, "reserved field or range past the table")
    if table is None:
        return 0
    table.alloc_start, table.alloc_end, table.alloc_hint = off, end, off
    return 0


# --- IORING_OP_FILES_UPDATE: the register-time update, as an SQE -------------------------
def prep_files_update(req):
    if req.op_flags or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fields")
    if req.flags & 0x1:           # IOSQE_FIXED_FILE
        raise OSError(errno.EBADF, "files update takes no fixed file")
    if not req.len:
        raise OSError(errno.EINVAL, "no fds")


def issue_files_update(req, kernel):
    ring, task = req.ring, req.task
    if req.off & 0xFFFFFFFF != FILE_INDEX_ALLOC:
        return update(kernel, task, ring, req.off & 0xFFFFFFFF, req.addr, req.len)
    # Allocate a slot for each fd and write the slot back over the fd in
    # the child's array (io_files_update_with_index_alloc).
    if ring.file_table is None:
        return -errno.ENXIO
    fds = _read_fds(task, req.addr, req.len)
    done = 0
    for i, fd in enumerate(fds):
        try:
            slot = ring.file_table.install(_file_for(kernel, task, fd), FILE_INDEX_ALLOC)
        except OSError as e:
            if done == 0:
                return -e.errno
            break
        try:
            task.mem.write(req.addr + 4 * i, struct.pack("<i", slot))
        except OSError:
            ring.file_table.remove(slot)
            if done == 0:
                return -errno.EFAULT
            break
        done += 1
    return done
