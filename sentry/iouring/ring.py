"""The shared rings of one io_uring instance: layout, SQ consumption, CQ posting.

Layout of the shared file (the child learns it from sq_off/cq_off; the
header is Linux's struct io_rings, so that memory a program sizes for Linux
holds it: IORING_SETUP_NO_MMAP, ringmem.py):
  offset 0            ring header + CQE array + SQ index array  (OFF_SQ_RING and
                      OFF_CQ_RING both map here: IORING_FEAT_SINGLE_MMAP)
  page-aligned after  the SQE array                              (OFF_SQES)
Entry sizes (SQE128, CQE32, CQE_MIXED) are ringlayout.py's.
IORING_REGISTER_RESIZE_RINGS (resize.py) moves the ring to a new file
(swap_memory).
Indices the child owns (sq tail, cq head) are read once per use and masked;
indices the Sentry owns (sq head, cq tail) are kept privately and only
published to the shared page, so garbage written there by the child cannot
confuse the Sentry (Linux keeps cached_sq_head / cached_cq_tail the same way).
Completions that do not fit go to an overflow backlog and are flushed in order
(IORING_FEAT_NODROP): none is ever dropped.

With the C extension the Sentry-owned indices and the posting counters live
in the ring's C control block (native/dataplane.c), and every SQE pop and
CQE post goes through it: the data plane -- in io_uring_enter, and in the SQ
thread concurrently with the Sentry's loop -- posts into the same CQ, so the
CQ tail has one writer at a time (the block's mutex).  Without it the same
logic runs here in Python.
"""
import collections
import errno
import os
import time

from pysentry import native
from pysentry.mm.shm import SharedRegion, page_align
from pysentry.sentry.iouring import abi, dataplane, ringlayout
from pysentry.sentry.iouring.ready import RingReadiness

_U32 = 0xFFFFFFFF

# Field offsets in bytes: those of Linux 6.18's struct io_rings.  The layout
# is ours to choose when the Sentry allocates the rings, but a program that
# supplies the memory itself (IORING_SETUP_NO_MMAP, ringmem.py) sizes it by
# Linux's layout, so the Sentry's must fit in the same bytes.
SQ_HEAD, SQ_TAIL, CQ_HEAD, CQ_TAIL = 0, 4, 8, 12
SQ_MASK, CQ_MASK, SQ_ENTRIES, CQ_ENTRIES = 16, 20, 24, 28
SQ_DROPPED, SQ_FLAGS, CQ_FLAGS, CQ_OVERFLOW = 32, 36, 40, 44
CQ_EVENTFD_DISABLED = 1 << 0
CQES = ringlayout.CQES


def layout(sq_entries, cq_entries, flags):
    """(SQ array offset or 0, rings bytes, SQE array bytes) of a ring with
    these sizes and flags, both page-aligned: Linux's rings_size() and SQE
    array (ringlayout.Layout, for resize.py and setup.py's NO_MMAP checks)."""
    lay = ringlayout.Layout(flags, sq_entries, cq_entries)
    return lay.sq_array, lay.rings_size, lay.sqes_size


class WaitTable(dict):
    """request -> value, also indexed by the request's user_data (as Linux
    hashes its cancelable requests), so POLL_REMOVE/UPDATE and ASYNC_CANCEL by
    user_data find their target without scanning every waiting request."""
    __slots__ = ("_by_ud",)

    def __init__(self):
        super().__init__()
        self._by_ud = {}       # user_data -> {request: None}, in arrival order

    def __setitem__(self, req, value):
        if req not in self:
            self._by_ud.setdefault(req.user_data, {})[req] = None
        dict.__setitem__(self, req, value)

    def _unindex(self, req):
        reqs = self._by_ud.get(req.user_data)
        if reqs is not None:
            reqs.pop(req, None)
            if not reqs:
                del self._by_ud[req.user_data]

    def __delitem__(self, req):
        dict.__delitem__(self, req)
        self._unindex(req)

    def pop(self, req, *default):
        if req in self:
            self._unindex(req)
        return dict.pop(self, req, *default)

    def clear(self):
        dict.clear(self)
        self._by_ud.clear()

    def with_user_data(self, user_data):
        """The waiting requests with this user_data, oldest first (a copy)."""
        reqs = self._by_ud.get(user_data)
        return list(reqs) if reqs else []


class Ring:
    def __init__(self, sq_entries, cq_entries, flags, compat):
        self.sq_entries = sq_entries
        self.cq_entries = cq_entries
        self.flags = flags
        self.compat = compat
        self.sq_mask = sq_entries - 1
        self.cq_mask = cq_entries - 1
        self.no_sqarray = bool(flags & abi.SETUP_NO_SQARRAY)
        lay = self._set_layout(flags, sq_entries, cq_entries)
        self.region = SharedRegion(self.rings_size + self.sqes_size)
        self.mem = self.region.map
        self.u32 = memoryview(self.mem).cast("I")
        self.write_sizes()
        self.user_mem = None        # IORING_SETUP_NO_MMAP: the program's ranges (ringmem.py)
        self._sq_head = 0           # (without the C extension)
        self._cq_tail = 0
        self._cq_cached = 0     # CQ slots handed out without reading the head
        self._posted = 0
        self._cq_count = 0
        self._signalled = 0
        self._drain_disabled = False
        self._c = None              # the C control block (native/dataplane.c)
        self._flags_ptr = None
        if native.lib is not None:
            base = native.ffi.from_buffer(self.mem)
            self._flags_ptr = base + SQ_FLAGS
            c = native.lib.ps_ring_new(base, self._c_offsets(), sq_entries, cq_entries,
                                       int(compat), native.lib.PS_OWNER_PY,
                                       lay.sqe_size, lay.c_mode())
            if c == native.ffi.NULL:
                raise MemoryError("ring control block")
            self._c = native.ffi.gc(c, native.lib.ps_ring_free)
            c.id = dataplane.new_ring_id()
            self._sqe_buf = native.ffi.new("char[]", lay.sqe_size)
            self._sqe_view = native.ffi.buffer(self._sqe_buf)
        self.dp_state = None        # what dataplane.sync() last told the C block
        self.sqpoll = None          # SqPoll thread (IORING_SETUP_SQPOLL)
        self.start_sqpoll = None    # deferred start of it for R_DISABLED rings
        self.enabled = not flags & abi.SETUP_R_DISABLED
        self.restrictions = None    # restrictions.py
        self.iowq_limits = None     # IORING_REGISTER_IOWQ_MAX_WORKERS (iowq.py)
        self.clockid = time.CLOCK_MONOTONIC   # IORING_REGISTER_CLOCK
        self.napi = None            # IORING_REGISTER_NAPI settings (napi.py)
        self.param_region = None    # IORING_REGISTER_MEM_REGION (memregion.py)
        self.sq_creds = None        # SQPOLL: the creator's Creds (Linux's ctx->sq_creds)
        self.overflow = collections.deque()
        self.waiters = []
        self.refs = 0
        self.closed = False
        # Submission-side state used by submit.py
        # IOSQE_IO_DRAIN as Linux 6.18 does it (submit.py): the requests
        # allocated and not yet freed -- a zero-copy send's notification
        # counts as one more (ctx->nr_req_allocated); the chains held on the
        # defer list and how many requests they hold (ctx->defer_list,
        # ctx->nr_drained); ctx->drain_active and ctx->drain_next.
        self.live = 0
        # Of those, the ones completed during a submission batch or a
        # task-work pass after it: Linux frees them (io_free_batch_list)
        # only when the batch's completions are flushed, so until then they
        # still count in ctx->nr_req_allocated (submit._flush).
        self.unflushed = 0
        self.deferred = collections.deque()
        self.nr_drained = 0
        self.drain_active = False
        self.drain_next = False
        self.running_deferred = False
        self.rerun_deferred = False
        self.pending = WaitTable()     # request waiting for readiness -> poller token
        # What a submission batch leaves to run when it ends, in order, as
        # Linux runs it by task work after flushing the batch's CQEs
        # (submit._run_task_work): a request cancelled or a futex wait woken
        # completes, after the cancel's own CQE; the next request of a link,
        # or a chain the defer list let go, is issued; a failed link's rest
        # ends.  [(request, result | submit._Issue | submit._FailRest)].
        self.submitting = False
        self.batch_sq_head = 0      # the SQ head when the batch began
        # The CQ tail and the overflowed CQEs when the batch (or a task-work
        # pass after it) began: Linux posts a batch's CQEs when it flushes
        # them at its end (io_submit_state_end), so io_uring_poll() within
        # the batch sees only those (poll_revents).
        self.batch_cq_tail = 0
        self.batch_overflow = 0
        self.batch_posted = 0
        self.batch_work = []
        self.multishot = WaitTable()   # multishot poll request -> its poller watch
        self.timeouts = WaitTable()    # TIMEOUT requests waiting (timeout.py)
        self.link_timeouts = {}  # armed LINK_TIMEOUT -> the request it guards
        # TIMEOUT requests that fired or reached their count (Linux's
        # cq_timeouts): any change ends an io_uring_enter wait early.
        self.cq_timeouts = 0
        self.on_notify = None   # set by the registry: count-based timeouts
        self._kick = -1
        # The program's ring fd is an eventfd the Sentry keeps readable exactly
        # while CQEs are waiting (ready.py: poll, epoll and select then see
        # what io_uring_poll() reports); its eventfd-id names the ring.  The
        # SQ thread's C data plane makes it readable too (ps_ring_set_ready_fd).
        self.ready = RingReadiness(self)
        if self._c is not None:
            native.lib.ps_ring_set_ready_fd(self._c, self.ready.fd)
        self._eventfd = None        # IORING_REGISTER_EVENTFD (eventfd.py)
        self._file_table = None     # registered files (filetable.py)
        self._buffer_table = None   # registered buffers (mm/registered_buffers.py)
        self._sq_task = None        # whose memory SQ-thread submissions use
        self.personalities = {}     # id -> Creds (personality.py)
        self.pers_next = 1          # the next personality id to try
        # IORING_SETUP_DEFER_TASKRUN: completions that arrive while the
        # submitter is outside io_uring_enter wait here until it enters with
        # GETEVENTS (Linux queues them as the ring's local task work).
        self.defer_taskrun = bool(flags & abi.SETUP_DEFER_TASKRUN)
        self.local_open = 0         # >0 while the submitter is inside io_uring_enter
        self.local_cqes = collections.deque()
        self.local_signalled = 0    # deferred CQEs the eventfd has been told of
        self.tracer = None      # set by the kernel: how to wake parked tasks
        self.trace = None       # io_uring traffic trace sink, if asked for
        self.kernel = None      # set by the registry (dataplane.eligible reads it)
        self.trace_id = None    # the ring's number in the trace

    def _set_layout(self, flags, sq_entries, cq_entries):
        """Take the layout for these sizes (at setup and after a resize, which
        keeps the entry sizes); its offsets are copied to attributes because
        the SQ and CQ paths read them per entry."""
        self.layout = lay = ringlayout.Layout(flags, sq_entries, cq_entries)
        self.sq_array, self.rings_size = lay.sq_array, lay.rings_size
        self.sqes_off, self.sqes_size = lay.sqes_off, lay.sqes_size
        self.sqe_size = lay.sqe_size
        return lay

    def _c_offsets(self):
        return native.ffi.new("unsigned[10]", [
            SQ_HEAD, SQ_TAIL, SQ_FLAGS, SQ_DROPPED, CQ_HEAD, CQ_TAIL, CQ_FLAGS, CQES,
            self.sq_array, self.sqes_off])

    def swap_memory(self, region, sq_entries, cq_entries):
        """IORING_REGISTER_RESIZE_RINGS (resize.py): from now on the rings
        are `region`, laid out for the new sizes and already filled.  The
        C block is re-pointed under its lock; the old region is returned
        for the caller to close."""
        old = self.region
        self.sq_entries, self.cq_entries = sq_entries, cq_entries
        self.sq_mask, self.cq_mask = sq_entries - 1, cq_entries - 1
        # Entry sizes stay (the resize keeps SQE128/CQE32/CQE_MIXED).
        self._set_layout(self.flags, sq_entries, cq_entries)
        self.region = region
        self.mem = region.map
        try:
            self.u32.release()
        except BufferError:
            pass
        self.u32 = memoryview(self.mem).cast("I")
        self._cq_cached = 0
        if self._c is not None:
            base = native.ffi.from_buffer(self.mem)
            native.lib.ps_ring_remap(self._c, base, self._c_offsets(), sq_entries, cq_entries)
            self._flags_ptr = base + SQ_FLAGS
        return old

    def write_sizes(self):
        """The masks and entry counts in the shared memory (read-only to
        the program in Linux's sense: it may scribble, the Sentry never
        reads them back)."""
        for off, value in ((SQ_MASK, self.sq_mask), (SQ_ENTRIES, self.sq_entries),
                           (CQ_MASK, self.cq_mask), (CQ_ENTRIES, self.cq_entries)):
            self.u32[off // 4] = value

    # -- offsets reported to the child ---------------------------------------
    def sq_offsets(self):
        return (SQ_HEAD, SQ_TAIL, SQ_MASK, SQ_ENTRIES, SQ_FLAGS, SQ_DROPPED,
                self.sq_array, 0, 0)

    def cq_offsets(self):
        return (CQ_HEAD, CQ_TAIL, CQ_MASK, CQ_ENTRIES, CQ_OVERFLOW, CQES, CQ_FLAGS, 0, 0)

    def mmap_target(self, offset, length):
        """(fd, file offset) that an mmap of the ring fd at `offset` maps, or
        None (EINVAL): the rings and SQEs, or a kernel-allocated parameter
        region (IORING_MAP_OFF_PARAM_REGION, memregion.py)."""
        if offset == abi.MAP_OFF_PARAM_REGION:
            shm = self.param_region.shm if self.param_region is not None else None
            if shm is None or not 0 < length <= shm.size:
                return None
            return shm.fd, 0
        if offset & abi.OFF_MMAP_MASK == abi.OFF_PBUF_RING:
            # A kernel-allocated buffer ring (kbuf.py); a group without one
            # is ENOMEM, as io_uring_mmap answers.  A longer mapping is
            # allowed as Linux does; past the ring it has no pages.
            from pysentry.sentry.iouring import kbuf
            shm = kbuf.mmap_region(self, (offset - abi.OFF_PBUF_RING) >> abi.OFF_PBUF_SHIFT)
            if shm is None:
                return -errno.ENOMEM
            return (shm.fd, 0) if length > 0 else None
        if self.user_mem is not None and offset in (abi.OFF_SQ_RING, abi.OFF_CQ_RING,
                                                    abi.OFF_SQES):
            # The rings are the program's own pages (IORING_SETUP_NO_MMAP):
            # Linux has no pages of its own to map there and answers ENOMEM.
            return -errno.ENOMEM
        target = self.mmap_file_offset(offset, length)
        return None if target is None else (self.region.fd, target)

    def mmap_file_offset(self, offset, length):
        """Map an IORING_OFF_* mmap offset to our file offset, or None (EINVAL)."""
        if offset in (abi.OFF_SQ_RING, abi.OFF_CQ_RING):
            return 0 if 0 < length <= self.rings_size else None
        if offset == abi.OFF_SQES:
            return self.sqes_off if 0 < length <= self.sqes_size else None
        return None

    # -- state the C block holds when there is one ------------------------------
    @property
    def sq_head(self):
        """The next SQ entry the Sentry consumes (Linux's cached_sq_head)."""
        c = self._c
        return c.sq_head if c is not None else self._sq_head

    @property
    def cq_tail(self):
        """The next CQ slot the Sentry fills (Linux's cached_cq_tail)."""
        c = self._c
        return c.cq_tail if c is not None else self._cq_tail

    def posted_committed(self):
        """`posted` as the ring's pollers know it: within a batch, what was
        posted before it -- the batch's own CQEs wake them at its end, when
        Linux commits them (io_commit_cqring_flush)."""
        return self.batch_posted if self.submitting else self.posted

    @property
    def posted(self):
        """CQEs posted (overflowed included): the eventfd compares with it."""
        c = self._c
        return c.posted if c is not None else self._posted

    @property
    def cq_count(self):
        """CQEs posted that count for TIMEOUT's `off` (timeouts' own do not)."""
        c = self._c
        return c.cq_count if c is not None else self._cq_count

    @property
    def drain_disabled(self):
        """CQE_SKIP_SUCCESS was used on this ring: IO_DRAIN now fails
        (Linux's ctx->drain_disabled; the data plane sets it too)."""
        c = self._c
        return bool(c.drain_disabled) if c is not None else self._drain_disabled

    @drain_disabled.setter
    def drain_disabled(self, value):
        if self._c is not None:
            self._c.drain_disabled = int(value)
        else:
            self._drain_disabled = value

    # Tables the data plane reads: every change is exported (dataplane.py).
    @property
    def file_table(self):
        return self._file_table

    @file_table.setter
    def file_table(self, table):
        self._file_table = table
        if self._c is not None:
            dataplane.export_files(self)

    @property
    def buffer_table(self):
        return self._buffer_table

    @buffer_table.setter
    def buffer_table(self, table):
        self._buffer_table = table
        if self._c is not None:
            dataplane.export_buffers(self)

    @property
    def eventfd(self):
        return self._eventfd

    @eventfd.setter
    def eventfd(self, ev):
        self._eventfd = ev
        if self._c is not None:
            dataplane.export_eventfd(self)

    @property
    def sq_task(self):
        """SQPOLL: the task whose memory and fds SQ-thread submissions use."""
        return self._sq_task

    @sq_task.setter
    def sq_task(self, task):
        self._sq_task = task
        if self._c is not None:
            dataplane.export_sq_task(self)

    # -- submission queue ------------------------------------------------------
    def sq_ready(self):
        return (self.u32[SQ_TAIL // 4] - self.sq_head) & _U32

    def peek_sqes(self, count):
        """The next `count` SQ entries as pop_sqe() would return them, not
        consumed (bad indexes skipped)."""
        out = []
        for head in range(self.sq_head, self.sq_head + count):
            head &= _U32
            if self.no_sqarray:
                idx = head & self.sq_mask
            else:
                idx = self.u32[self.sq_array // 4 + (head & self.sq_mask)]
                if idx >= self.sq_entries:
                    continue
            out.append(abi.SQE.unpack_from(self.mem, self.sqes_off + idx * self.sqe_size))
        return out

    def pop_sqe(self):
        """Consume one SQ entry: a tuple of SQE fields, or None if its index was bad."""
        c = self._c
        if c is not None:
            if not native.lib.ps_ring_pop_sqe(c, self._sqe_buf):
                return None
            return abi.SQE.unpack_from(self._sqe_view)
        head = self._sq_head
        self._sq_head = (head + 1) & _U32
        self.u32[SQ_HEAD // 4] = self._sq_head
        if self.no_sqarray:
            idx = head & self.sq_mask
        else:
            idx = self.u32[self.sq_array // 4 + (head & self.sq_mask)]
            if idx >= self.sq_entries:
                # Linux counts an out-of-range index in sq_dropped and skips it.
                self.u32[SQ_DROPPED // 4] = (self.u32[SQ_DROPPED // 4] + 1) & _U32
                return None
        # An SQE128 slot's second half (URING_CMD's big cmd[]) is read by
        # no op the Sentry serves: socket commands use the first 64 bytes.
        return abi.SQE.unpack_from(self.mem, self.sqes_off + idx * self.sqe_size)

    # -- completion queue --------------------------------------------------------
    def cq_ready(self):
        queued = (self.cq_tail - self.u32[CQ_HEAD // 4]) & _U32
        return min(queued, self.cq_entries)

    def _cq_free(self):
        queued = (self.cq_tail - self.u32[CQ_HEAD // 4]) & _U32
        return self.cq_entries - queued if queued <= self.cq_entries else 0

    def post(self, user_data, res, cflags=0, counts=True, force_overflow=False, big=None):
        """Post one completion; queue it in the overflow backlog if the CQ is full.

        counts=False keeps it out of the sequence TIMEOUT counts (timeouts'
        own completions, as Linux's cq_timeouts does); force_overflow queues
        it in the backlog even with room (an --inject overflow rule).  big:
        (extra1, extra2) of an op that posts a 32-byte CQE (a NOP with
        IORING_NOP_CQE32); on a CQE32 ring every CQE is 32 bytes and an op
        that sets nothing there posts zeros (io_fill_cqe_req)."""
        if self.defer_taskrun and not self.local_open:
            self.local_cqes.append((user_data, res, cflags, counts, big))
            if self._c is not None:
                # The next io_uring_enter must run this deferred work:
                # Python's (dataplane.enter_sync).
                self._c.enter_fast = 0
            return
        if big is None:
            extra1 = extra2 = 0
        else:
            cflags = self.layout.big_cflags(cflags, big)
            extra1, extra2 = big
        if self.trace is not None:
            self.trace.cqe(self, user_data, res, cflags, big)
        c = self._c
        if c is not None:
            # Counted, and written or refused under the block's mutex; a
            # refusal has set IORING_SQ_CQ_OVERFLOW already.
            if native.lib.ps_ring_post(c, user_data, res, cflags, extra1, extra2, counts,
                                       force_overflow) == 1:
                self.overflow.append((user_data, res, cflags, extra1, extra2))
            return
        self._posted += 1
        if counts:
            self._cq_count += 1
        if (self.overflow or force_overflow
                or not self._write_cqe(user_data, res, cflags, extra1, extra2)):
            self.overflow.append((user_data, res, cflags, extra1, extra2))
            self._set_sq_flag(abi.SQ_CQ_OVERFLOW)

    def post_more(self, user_data, res, cflags):
        """Post a multishot CQE (IORING_CQE_F_MORE) if the CQ has room for
        it; False, with nothing posted, if not: a multishot CQE may not
        overflow, the request ends instead (Linux's io_req_post_cqe()).
        Room is what io_get_cqe() finds: a slot of the cached run, else a
        refill -- a program that moved its CQ head back still gets the run."""
        c = self._c
        if c is None or self.defer_taskrun:
            if self.cq_full():
                return False
            self.post(user_data, res, cflags)
            return True
        # One locked step: the SQ thread may post meanwhile.
        if native.lib.ps_ring_post_if_room(c, user_data, res, cflags):
            return False
        if self.trace is not None:
            self.trace.cqe(self, user_data, res, cflags)
        return True

    def _cq_take(self, need):
        """Take `need` CQ slots for one CQE, or False (native/dataplane.c
        cq_take is the reference: the cache, a padding CQE before a 32-byte
        CQE that would wrap)."""
        if self._cq_cached >= need:
            self._cq_cached -= need
            return True
        off = self._cq_tail & self.cq_mask
        if need == 2 and self.cq_entries - off == 1:
            if not self._cq_free():
                return False
            abi.CQE.pack_into(self.mem, CQES + off * abi.CQE_SIZE, 0, 0, ringlayout.CQE_F_SKIP)
            self._cq_tail = (self._cq_tail + 1) & _U32
            self.u32[CQ_TAIL // 4] = self._cq_tail
            off = 0
        length = min(self._cq_free(), self.cq_entries - off)
        if length < need:
            self._cq_cached = 0
            return False
        self._cq_cached = length - need
        return True

    def _write_cqe(self, user_data, res, cflags, extra1=0, extra2=0):
        """Write one CQE if it has room (without the C extension)."""
        lay = self.layout
        size = lay.cqe_bytes(cflags)
        slots = 2 if lay.mixed and size == 32 else 1
        if not self._cq_take(slots):
            return False
        off = CQES + (self._cq_tail & self.cq_mask) * lay.cqe_size
        abi.CQE.pack_into(self.mem, off, user_data, res, cflags)
        if size == 32:
            abi.CQE32_EXTRA.pack_into(self.mem, off + abi.CQE_SIZE, extra1, extra2)
        self._cq_tail = (self._cq_tail + slots) & _U32
        self.u32[CQ_TAIL // 4] = self._cq_tail
        return True

    def flush_overflow(self):
        if not self.overflow:
            return
        c = self._c
        if c is not None:
            backlog = self.overflow
            while backlog and not native.lib.ps_ring_write_cqe(c, *backlog[0]):
                backlog.popleft()
            if not backlog:
                native.lib.ps_ring_overflow_flushed(c)     # clears IORING_SQ_CQ_OVERFLOW
            return
        while self.overflow and self._write_cqe(*self.overflow[0]):
            self.overflow.popleft()
        if not self.overflow:
            self._clear_sq_flag(abi.SQ_CQ_OVERFLOW)

    def cq_full(self):
        """No room for one more CQE without overflowing, counting those a
        DEFER_TASKRUN ring holds back: a multishot request ends here rather
        than overflow (Linux's io_req_post_cqe() failing).  The room is
        io_get_cqe()'s: the rest of the run of slots cached at the last
        refill, else the free slots the head leaves (io_cqe_cache_refill)
        -- not the head alone, which the program may have moved back."""
        if self.overflow:
            return True
        c = self._c
        cached = c.cq_cached if c is not None else self._cq_cached
        return max(cached, self._cq_free()) <= len(self.local_cqes)

    def run_local_work(self):
        """The submitter entered with GETEVENTS: post what was deferred
        (io_run_local_work), in order, and clear IORING_SQ_TASKRUN."""
        self.local_signalled = 0
        if self.flags & abi.SETUP_TASKRUN_FLAG:
            self._clear_sq_flag(abi.SQ_TASKRUN)
        self.local_open += 1
        try:
            while self.local_cqes:
                user_data, res, cflags, counts, big = self.local_cqes.popleft()
                self.post(user_data, res, cflags, counts, big=big)
        finally:
            self.local_open -= 1

    def events_available(self):
        """CQEs the child can get now, counting the backlog (io_cqring_events)."""
        return self.cq_ready() + len(self.overflow)

    # The SQ flags word is shared with the SQ thread (NEED_WAKEUP): update
    # single bits atomically.
    def _set_sq_flag(self, bit):
        if native.lib is not None:
            native.lib.ps_atomic_or32(self._flags_ptr, bit)
        else:
            self.u32[SQ_FLAGS // 4] |= bit

    def _clear_sq_flag(self, bit):
        if native.lib is not None:
            native.lib.ps_atomic_and32(self._flags_ptr, ~bit & _U32)
        else:
            self.u32[SQ_FLAGS // 4] &= ~bit

    # -- waiters -------------------------------------------------------------------
    def kick_fd(self):
        """An eventfd made readable by every notify(): lets a poll request on
        this ring's fd wait in the Sentry's loop like on any other file."""
        if self._kick < 0:
            self._kick = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            dataplane.sync(self)      # the SQ thread's completions must notify()
        return self._kick

    def drain_kick(self):
        if self._kick >= 0:
            try:
                os.eventfd_read(self._kick)
            except BlockingIOError:
                pass

    def poll_revents(self):
        """What poll(2) on an io_uring fd reports (io_uring_poll)."""
        mask = 0
        # POLLOUT unless io_sqring_full(): the SQ tail minus the SQ head the
        # program sees is exactly sq_entries -- an SQ the program filled past
        # that is not "full" -- and within a submission batch that head is
        # the batch's start (Linux publishes the new one when the batch ends,
        # io_commit_sqring).
        head = self.batch_sq_head if self.submitting else self.sq_head
        if (self.u32[SQ_TAIL // 4] - head) & _U32 != self.sq_entries:
            mask |= 0x004 | 0x100          # POLLOUT | POLLWRNORM
        if self.submitting:
            queued = (self.batch_cq_tail - self.u32[CQ_HEAD // 4]) & _U32
            available = min(queued, self.cq_entries) + self.batch_overflow
        else:
            available = self.events_available()
        if available:
            mask |= 0x001 | 0x040          # POLLIN | POLLRDNORM
        return mask

    def notify(self):
        """A batch of completions is done: signal the eventfd, wake waiters."""
        if self.timeouts and self.on_notify is not None:
            self.on_notify()
        self.ready.completed()
        if self._kick >= 0:
            os.eventfd_write(self._kick, 1)
        if self._eventfd is not None and self._take_signal():
            self._eventfd.signal(self)
        if len(self.local_cqes) > self.local_signalled:
            # Deferred work was added: Linux signals the eventfd and raises
            # IORING_SQ_TASKRUN so the program knows to enter.
            self.local_signalled = len(self.local_cqes)
            if self.flags & abi.SETUP_TASKRUN_FLAG:
                self._set_sq_flag(abi.SQ_TASKRUN)
            if self.eventfd is not None:
                self.eventfd.signal(self)
        if self.dp_state is not None:
            dataplane.sync(self)
        if not self.waiters:
            return
        self.flush_overflow()
        ready = self.cq_ready()
        for w in self.waiters:
            if not w.woken and (ready >= w.min_complete or self.cq_timeouts != w.timeouts):
                w.woken = True
                self.tracer.wake(w.task)

    def _take_signal(self):
        """Has the eventfd not been told of every CQE posted?  Marks it told."""
        c = self._c
        if c is not None:
            return bool(native.lib.ps_ring_take_signal(c))
        if self._posted == self._signalled:
            return False
        self._signalled = self._posted
        return True

    # -- lifetime ----------------------------------------------------------------------
    def release(self):
        self.closed = True
        if self.sqpoll is not None:
            self.sqpoll.stop()
            self.sqpoll = None
        if self._c is not None:
            native.lib.ps_ring_detach(self._c)    # nothing in C touches the memory now
        self._flags_ptr = None
        if self.file_table is not None:
            self.file_table.release()
            self.file_table = None
        if self.eventfd is not None:
            ev, self.eventfd = self.eventfd, None
            ev.release()
        if self._kick >= 0:
            os.close(self._kick)
            self._kick = -1
        self.ready.release()
        try:
            self.u32.release()
        except BufferError:
            pass
        self.region.close()
        if self.param_region is not None and self.param_region.shm is not None:
            self.param_region.shm.close()
        for blist in getattr(self, "kbuf_lists", {}).values():
            if blist.is_ring:
                blist.release()

