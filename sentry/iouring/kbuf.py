"""Provided buffers (Linux's io_uring/kbuf.c): the kernel picks the buffer.

Two kinds of buffer group, keyed by a 16-bit group id (bgid) per ring:

  * legacy lists, filled by IORING_OP_PROVIDE_BUFFERS and emptied by
    IORING_OP_REMOVE_BUFFERS; the Sentry keeps them privately, in order;
  * buffer rings, registered with IORING_REGISTER_PBUF_RING: an array of
    struct io_uring_buf in the program's memory whose tail the program
    advances at any time.  Only the head belongs to the kernel; it is kept
    here and reported by IORING_REGISTER_PBUF_STATUS.  The ring's entries and
    tail are read from the program's memory each time a buffer is picked,
    never cached, since the program may rewrite them whenever it likes.

A request with IOSQE_BUFFER_SELECT picks its buffer when it is issued
(select()).  If it then has to wait for its file (recycle()), a ring buffer
is given back -- the head never moved -- but a legacy buffer stays with the
request until it completes, as Linux 6.18's io_read() recycles only ring
buffers (REQ_F_BUFFERS_COMMIT); a waiting request cancelled meanwhile reports
(and loses) it.  When the request completes, finish() consumes the buffer (a
ring one advances the head) and sets the CQE flags IORING_CQE_F_BUFFER |
bid << 16.  Receives (net.py) differ, as Linux's io_recv() does: one that
brings nothing gives any buffer back (give_back()), so its CQE names none.

SEND with IOSQE_BUFFER_SELECT and send/receive bundles
(IORING_RECVSEND_BUNDLE) take several buffers at once instead (peek():
Linux's io_ring_buffers_peek() into an iovec array); a send consumes them
when it picks them, a receive only those its bytes reached
(commit_pick()).
"""
import collections
import errno
import struct

from pysentry.mm.child_memory import MAX_RW_COUNT, access_ok
from pysentry.mm.registered_buffers import _covered, _writable_ranges
from pysentry.mm.shm import SharedRegion
from pysentry.sentry.iouring.abi import CQE_F_BUFFER

CQE_F_BUF_MORE = 1 << 4         # incremental ring: the buffer has room left
CQE_BUFFER_SHIFT = 16

PBUF_RING_MMAP = 1 << 0         # IOU_PBUF_RING_MMAP
PBUF_RING_INC = 1 << 1          # IOU_PBUF_RING_INC

# A CQE carries the buffer id in 16 bits, so a group never has more ids.
MAX_BIDS_PER_BGID = 1 << 16
_USHRT_MAX = 0xFFFF
_PAGE = 4096

_BUF = struct.Struct("<QIHH")          # struct io_uring_buf: addr, len, bid, resv
_ADDR_LEN = struct.Struct("<QI")       # its first two fields
_RING_TAIL = 14                        # the tail overlays bufs[0].resv
_REG = struct.Struct("<QIHH3Q")        # struct io_uring_buf_reg
_STATUS = struct.Struct("<II8I")       # struct io_uring_buf_status: bgid, head, resv[8]


class LegacyList:
    """A group filled by PROVIDE_BUFFERS: (addr, len, bid) in order."""
    is_ring = False

    def __init__(self):
        self.bufs = collections.deque()


class RingList:
    """A group registered with IORING_REGISTER_PBUF_RING."""
    is_ring = True

    def __init__(self, addr, entries, inc, shm=None):
        self.addr = addr
        self.mask = entries - 1
        self.inc = inc
        self.head = 0        # u16, owned by the kernel side (us)
        # IOU_PBUF_RING_MMAP: the ring is shared memory the Sentry allocated
        # (addr 0 is its start), which the program maps from the ring fd.
        self.shm = shm

    def entry_addr(self, index):
        return self.addr + _BUF.size * (index & self.mask)

    def mem(self, task):
        """Where the ring's entries are read and written."""
        return _ShmMem(self.shm) if self.shm is not None else task.mem

    def release(self):
        if self.shm is not None:
            self.shm.close()


class _ShmMem:
    """A kernel-allocated ring's memory, addressed from 0."""
    __slots__ = ("shm",)

    def __init__(self, shm):
        self.shm = shm

    def read(self, addr, size):
        return bytes(self.shm.map[addr:addr + size])

    def write(self, addr, data):
        self.shm.map[addr:addr + len(data)] = data


def mmap_region(ring, bgid):
    """The SharedRegion of a kernel-allocated buffer ring, or None."""
    blist = getattr(ring, "kbuf_lists", {}).get(bgid)
    return blist.shm if blist is not None and blist.is_ring else None


class Selection:
    """The buffer a request holds between select() and finish()/recycle()."""
    __slots__ = ("bgid", "blist", "bid", "addr", "full_len", "len", "committed", "more")

    def __init__(self, bgid, blist, bid, addr, full_len):
        self.bgid = bgid
        self.blist = blist
        self.bid = bid
        self.addr = addr
        self.full_len = full_len      # the buffer's own length
        self.len = full_len           # the part of it the transfer may use
        self.committed = False        # consumed already (legacy: on selection)
        self.more = False             # IOU_PBUF_RING_INC: part of it is left


def lists(ring):
    """The ring's buffer groups, bgid -> list (created on first use)."""
    groups = getattr(ring, "kbuf_lists", None)
    if groups is None:
        groups = ring.kbuf_lists = {}
    return groups


# -- IORING_OP_PROVIDE_BUFFERS / IORING_OP_REMOVE_BUFFERS ----------------------

def prep_provide(req):
    # io_provide_buffers_prep(): nbufs in sqe->fd, bgid in buf_group, the
    # first bid in sqe->off.
    if req.op_flags or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fields")
    nbufs = req.fd & 0xFFFFFFFF
    if not nbufs or nbufs > MAX_BIDS_PER_BGID:
        raise OSError(errno.E2BIG, "bad buffer count")
    if not req.len:
        raise OSError(errno.EINVAL, "zero-length buffers")
    size = req.len * nbufs
    if req.addr + size >= 1 << 64:
        raise OSError(errno.EOVERFLOW, "buffers wrap the address space")
    if not access_ok(req.addr, size):
        raise OSError(errno.EFAULT, "buffers outside user space")
    if req.off > _USHRT_MAX:
        raise OSError(errno.E2BIG, "bad first buffer id")
    if req.off + nbufs > MAX_BIDS_PER_BGID:
        raise OSError(errno.EINVAL, "buffer ids would pass 65535")


def prep_remove(req):
    # io_remove_buffers_prep(): only nbufs (sqe->fd) and buf_group are used.
    if req.op_flags or req.addr or req.len or req.off or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fields")
    nbufs = req.fd & 0xFFFFFFFF
    if not nbufs or nbufs > MAX_BIDS_PER_BGID:
        raise OSError(errno.EINVAL, "bad buffer count")


def issue_provide(req, kernel):
    groups = lists(req.ring)
    blist = groups.get(req.buf_index)
    if blist is None:
        blist = groups[req.buf_index] = LegacyList()
    if blist.is_ring:
        return -errno.EINVAL       # a ring group takes no PROVIDE_BUFFERS
    addr, bid = req.addr, req.off
    added = 0
    for _ in range(req.fd & 0xFFFFFFFF):
        # io_add_buffers(): more buffers than a 16-bit id can tell apart
        # make no sense; what was added before the limit stays.
        if len(blist.bufs) == _USHRT_MAX:
            break
        blist.bufs.append((addr, min(req.len, MAX_RW_COUNT), bid))
        addr += req.len
        bid += 1
        added += 1
    return 0 if added else -errno.EOVERFLOW


def issue_remove(req, kernel):
    blist = lists(req.ring).get(req.buf_index)
    if blist is None:
        return -errno.ENOENT
    if blist.is_ring:
        return -errno.EINVAL
    # A group that was once provided stays known, so removing from an
    # emptied one removes nothing rather than failing.
    removed = 0
    while removed < (req.fd & 0xFFFFFFFF) and blist.bufs:
        blist.bufs.popleft()
        removed += 1
    return removed


# -- io_uring_register: PBUF_RING, UNREGISTER_PBUF_RING, PBUF_STATUS -----------

def _read_reg(task, arg, nr_args):
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "one io_uring_buf_reg expected")
    return _REG.unpack(task.mem.read(arg, _REG.size))


def register_pbuf_ring(kernel, task, ring, arg, nr_args):
    ring_addr, entries, bgid, flags, *resv = _read_reg(task, arg, nr_args)
    if any(resv):
        raise OSError(errno.EINVAL, "reserved fields")
    if flags & ~(PBUF_RING_MMAP | PBUF_RING_INC):
        raise OSError(errno.EINVAL, "unknown flags")
    # Both counters are u16: with 65536 entries a full ring would look empty.
    if not entries or entries & (entries - 1) or entries >= 65536:
        raise OSError(errno.EINVAL, "entries must be a power of two below 65536")
    groups = lists(ring)
    old = groups.get(bgid)
    if old is not None and (old.is_ring or old.bufs):
        raise OSError(errno.EEXIST, "group in use")
    size = (entries * _BUF.size + _PAGE - 1) & ~(_PAGE - 1)
    if flags & PBUF_RING_MMAP:
        # The kernel allocates the ring (ring_addr is ignored); the program
        # maps it from the ring fd at IORING_OFF_PBUF_RING | bgid <<
        # IORING_OFF_PBUF_SHIFT (Ring.mmap_target).
        groups[bgid] = RingList(0, entries, bool(flags & PBUF_RING_INC), SharedRegion(size))
        return 0
    # The memory region checks of io_create_region(): a user ring needs an
    # address, page aligned; its pages are then pinned for writing.
    if not ring_addr:
        raise OSError(errno.EFAULT, "no ring address")
    if ring_addr & (_PAGE - 1):
        raise OSError(errno.EINVAL, "ring not page aligned")
    if ring_addr + size >= 1 << 64:
        raise OSError(errno.EOVERFLOW, "ring wraps")
    if not access_ok(ring_addr, size) or not _covered(_writable_ranges(task.tgid),
                                                      ring_addr, ring_addr + size):
        raise OSError(errno.EFAULT, "ring memory not mapped writable")
    # An empty legacy group of that id is replaced by the ring.
    groups[bgid] = RingList(ring_addr, entries, bool(flags & PBUF_RING_INC))
    return 0


def unregister_pbuf_ring(kernel, task, ring, arg, nr_args):
    _addr, _entries, bgid, flags, *resv = _read_reg(task, arg, nr_args)
    if any(resv) or flags:
        raise OSError(errno.EINVAL, "reserved fields")
    groups = lists(ring)
    blist = groups.get(bgid)
    if blist is None:
        raise OSError(errno.ENOENT, "no such group")
    if not blist.is_ring:
        raise OSError(errno.EINVAL, "not a buffer ring")
    del groups[bgid]
    blist.release()
    return 0


def pbuf_status(kernel, task, ring, arg, nr_args):
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "one io_uring_buf_status expected")
    bgid, _head, *resv = _STATUS.unpack(task.mem.read(arg, _STATUS.size))
    if any(resv):
        raise OSError(errno.EINVAL, "reserved fields")
    blist = lists(ring).get(bgid)
    if blist is None:
        raise OSError(errno.ENOENT, "no such group")
    if not blist.is_ring:
        raise OSError(errno.EINVAL, "not a buffer ring")
    task.mem.write(arg, _STATUS.pack(bgid, blist.head, *resv))
    return 0


# -- buffer selection ----------------------------------------------------------

def can_poll(f):
    # Linux's io_file_can_poll(): regular files, block devices, directories
    # and devices like /dev/null have no ->poll, so a read of them never
    # waits and never gives a buffer back.
    return f is not None and f.has_poll()


def select(req, want_len):
    """Pick a buffer from group req.buf_index for a transfer of want_len bytes
    (0: the whole buffer); return (addr, length) or raise ENOBUFS."""
    bgid = req.buf_index
    blist = lists(req.ring).get(bgid)
    if blist is None:
        raise OSError(errno.ENOBUFS, "no such buffer group")
    if not blist.is_ring:
        if not blist.bufs:
            raise OSError(errno.ENOBUFS, "buffer group empty")
        addr, full, bid = blist.bufs.popleft()
        sel = req.kbuf = Selection(bgid, blist, bid, addr, full)
        sel.committed = True        # it left the list: nobody else can pick it
        if want_len and want_len < full:
            sel.len = want_len
        return addr, sel.len
    mem = blist.mem(req.task)
    try:
        tail = struct.unpack("<H", mem.read(blist.addr + _RING_TAIL, 2))[0]
        if tail == blist.head:
            raise OSError(errno.ENOBUFS, "buffer ring empty")
        addr, length, bid, _resv = _BUF.unpack(mem.read(blist.entry_addr(blist.head), _BUF.size))
    except OSError as e:
        if e.errno != errno.EFAULT:
            raise
        # Linux reads its pinned pages and cannot fault here; the program
        # has unmapped its ring, so there is nothing to select from.
        raise OSError(errno.ENOBUFS, "buffer ring unmapped") from None
    sel = req.kbuf = Selection(bgid, blist, bid, addr, length)
    if want_len and want_len < length:
        sel.len = want_len
    if not can_poll(req.file):
        # io_should_commit(): a file that never waits consumes the buffer
        # now, for the length asked (the request cannot be retried).
        _commit(req, sel, sel.len)
    return addr, min(sel.len, MAX_RW_COUNT)


def _commit(req, sel, nbytes):
    """Consume a ring buffer (io_kbuf_commit): advance the head, or with
    IOU_PBUF_RING_INC only past the bytes used.  A failed transfer
    (nbytes < 0) consumes nothing."""
    sel.committed = True
    blist = sel.blist
    if nbytes < 0 or lists(req.ring).get(sel.bgid) is not blist:
        return          # failed, or the ring was unregistered meanwhile
    if not blist.inc:
        blist.head = (blist.head + 1) & _USHRT_MAX
        return
    if not nbytes:
        # Nothing transferred (end of file): the buffer stays whole and is
        # reported as having room, as Linux 6.18's io_kbuf_inc_commit() does.
        sel.more = True
        return
    mem = blist.mem(req.task)
    while nbytes:
        at = blist.entry_addr(blist.head)
        addr, length = _ADDR_LEN.unpack(mem.read(at, _ADDR_LEN.size))
        used = min(nbytes, length)
        if length - used or not used:
            # Part of the buffer is left: the program sees it shrunk and
            # moved on, and the CQE says IORING_CQE_F_BUF_MORE.
            # Only addr and len are written: bufs[0].resv is the tail,
            # which the program may be advancing right now.
            mem.write(at, _ADDR_LEN.pack(addr + used, length - used))
            sel.more = True
            return
        mem.write(at + 8, struct.pack("<I", 0))
        blist.head = (blist.head + 1) & _USHRT_MAX
        nbytes -= used


def held(req):
    """The (addr, length) of a legacy buffer the request kept while it
    waited, or None: it is used again when the request is retried."""
    sel = req.kbuf
    return None if sel is None else (sel.addr, min(sel.len, MAX_RW_COUNT))


def recycle(req):
    """The request must wait for its file.  A ring buffer not yet consumed
    goes back (io_kbuf_recycle_ring: the head simply does not move), so the
    next issue picks afresh.  A legacy buffer stays with the request (6.18's
    io_read() recycles only ring buffers); the CQE flags are set now so that
    a cancellation of the waiting request reports it, as io_req_defer_failed()
    does."""
    sel = req.kbuf
    if sel is None:
        return
    if sel.blist.is_ring and not sel.committed:
        req.kbuf = None
        return
    req.cflags |= _cflags(sel)


def give_back(req):
    """Return the request's buffer unused, whatever its kind: what Linux's
    io_recv() does when a receive brings nothing (it must wait, hit end of
    file or failed) -- io_kbuf_recycle() for legacy and ring buffers alike.
    The CQE then names no buffer."""
    sel = req.kbuf
    if sel is None:
        return
    req.kbuf = None
    if sel.blist.is_ring:
        return      # not committed yet: the head never moved
    if lists(req.ring).get(sel.bgid) is sel.blist:
        sel.blist.bufs.appendleft((sel.addr, sel.full_len, sel.bid))


def _cflags(sel):
    cflags = CQE_F_BUFFER | (sel.bid << CQE_BUFFER_SHIFT)
    if sel.more:
        cflags |= CQE_F_BUF_MORE
    return cflags


def finish(req, res):
    """The transfer ended with res (bytes, or -errno): consume the buffer and
    set the CQE flags that name it.  Linux reports the buffer even when the
    transfer failed after picking it."""
    sel = req.kbuf
    if sel is None:
        return
    req.kbuf = None
    if not sel.committed:
        _commit(req, sel, res)
    req.cflags |= _cflags(sel)


# -- several buffers at once: SEND with a provided buffer, bundles --------------
#
# Linux's io_buffers_select() (sends) and io_buffers_peek() (bundle
# receives) map up to a number of buffers into an iovec array in one go.
# A legacy group gives one buffer each time; a ring gives as many as the
# caller's array and its length allow (io_ring_buffers_peek()).

_PEEK_MAX_IMPORT = 256          # buffers one selection takes at most
_UIO_MAXIOV = 1024
_INT_MAX = 0x7FFFFFFF


class Pick:
    """The buffers one selection took: iovs [(addr, len)], the id of the
    first (the CQE names it), whether the group was left empty
    (REQ_F_BL_EMPTY: a bundle stops there) and whether the last buffer was
    cut short by the length asked (a receive then does not go on)."""
    __slots__ = ("bgid", "blist", "bid", "iovs", "empty", "partial", "nr_alloc",
                 "committed", "more", "full_len")

    def __init__(self, bgid, blist, bid, iovs, empty, partial=False, nr_alloc=0, full_len=0):
        self.bgid = bgid
        self.blist = blist
        self.bid = bid
        self.iovs = iovs
        self.empty = empty
        self.partial = partial
        self.nr_alloc = nr_alloc    # the iovec array the selection grew to, if it grew
        self.committed = not blist.is_ring      # a legacy buffer left its list
        self.more = False
        self.full_len = full_len    # a legacy buffer's own length, to give it back

    @property
    def out_len(self):
        return sum(length for _addr, length in self.iovs)

    def cflags(self):
        return _cflags(self)


def peek(req, bgid, max_len, nr_iovs, expand, legacy_len):
    """Take buffers from group bgid for a transfer of at most max_len bytes
    (0: no limit), into an array of nr_iovs entries that may grow (expand)
    when max_len is known.  A legacy buffer is cut to legacy_len (0: whole),
    which is 0 for sends: Linux's io_buffers_select() hands the legacy pick
    its out_len, still 0, so a SEND sends the whole buffer whatever its
    length.  No group: ENOENT (unlike a one-buffer selection's ENOBUFS);
    an empty one: ENOBUFS.  Ring buffers are not consumed here: see
    commit_pick()."""
    blist = lists(req.ring).get(bgid)
    if blist is None:
        raise OSError(errno.ENOENT, "no such buffer group")
    if not blist.is_ring:
        if not blist.bufs:
            raise OSError(errno.ENOBUFS, "buffer group empty")
        addr, full, bid = blist.bufs.popleft()
        length = full if not legacy_len or legacy_len > full else legacy_len
        return Pick(bgid, blist, bid, [(addr, length)], not blist.bufs, full_len=full)
    mem = blist.mem(req.task)
    try:
        tail = struct.unpack("<H", mem.read(blist.addr + _RING_TAIL, 2))[0]
        head = blist.head
        nr_avail = min((tail - head) & _USHRT_MAX, _UIO_MAXIOV)
        if not nr_avail:
            raise OSError(errno.ENOBUFS, "buffer ring empty")
        entries = []

        def entry(index):
            addr, length, bid, _resv = _BUF.unpack(mem.read(blist.entry_addr(index), _BUF.size))
            return addr, length, bid

        first = entry(head)
        if max_len:
            if not first[1]:
                raise OSError(errno.ENOBUFS, "zero-length buffer")
            needed = (max_len + first[1] - 1) // first[1]
            nr_avail = min(nr_avail, min(needed, _PEEK_MAX_IMPORT) or _PEEK_MAX_IMPORT)
        nr_alloc = 0
        if expand and nr_avail > nr_iovs and max_len:
            nr_iovs = nr_alloc = nr_avail
        elif nr_avail < nr_iovs:
            nr_iovs = nr_avail
        left = max_len or _INT_MAX
        partial = False
        buf = first
        while True:
            addr, length, bid = buf
            if length > left:
                length = left
                if not blist.inc:
                    # Only the first buffer may be cut; a later one that
                    # does not fit whole is left for next time.
                    partial = True
                    if entries:
                        break
            entries.append((addr, length))
            left -= length
            if not left:
                break
            head = (head + 1) & _USHRT_MAX
            nr_iovs -= 1
            if not nr_iovs:
                break
            buf = entry(head)
    except OSError as e:
        if e.errno != errno.EFAULT:
            raise
        raise OSError(errno.ENOBUFS, "buffer ring unmapped") from None
    return Pick(bgid, blist, first[2], entries, head == tail, partial, nr_alloc)


def commit_pick(req, pick, nbytes, nbufs):
    """Consume what a transfer used (io_kbuf_commit): nbufs whole buffers of
    a ring, or with IOU_PBUF_RING_INC nbytes of it -- a buffer used in part
    stays, moved on, and the CQE says IORING_CQE_F_BUF_MORE.  Returns the
    CQE flags naming the first buffer."""
    blist = pick.blist
    if not pick.committed:
        pick.committed = True
        if lists(req.ring).get(pick.bgid) is blist:
            if blist.inc:
                sel = Selection(pick.bgid, blist, pick.bid, 0, 0)
                if nbytes > 0:
                    _commit(req, sel, nbytes)
                pick.more = sel.more
            else:
                blist.head = (blist.head + nbufs) & _USHRT_MAX
    return _cflags(pick)


def nbufs_used(iovs, nbytes):
    """How many of the iovecs nbytes reached (io_bundle_nbufs)."""
    if nbytes <= 0:
        return 0
    n = 0
    for _addr, length in iovs:
        n += 1
        nbytes -= min(length, nbytes)
        if not nbytes:
            break
    return n


def give_back_pick(req, pick):
    """Nothing was received into the pick: a legacy buffer goes back to the
    front of its list (io_kbuf_recycle); a ring's head never moved."""
    if pick.blist.is_ring:
        return
    if lists(req.ring).get(pick.bgid) is pick.blist:
        pick.blist.bufs.appendleft((pick.iovs[0][0], pick.full_len, pick.bid))
