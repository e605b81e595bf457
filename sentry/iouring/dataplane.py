"""The io_uring data plane, seen from the control plane.

Hot SQEs -- NOP, READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED and
FSYNC on a regular file or block device, without links, drain, buffer
selection, a personality or read/write attributes (FEAT_RW_ATTR) -- run in C (native/dataplane.c), outside the
GIL: SQE fetch and checks, preadv2/pwritev2 on the Sentry's host fd,
process_vm_readv/writev to the program, the CQE.  Everything else, and any
SQE the C path cannot finish exactly as the Python path would, stays here:
C stops at it, unconsumed, and submit.py carries on from that SQE, so
requests keep SQ order.  Two callers:

  * io_uring_enter (submit._submit_batch): a batch of hot SQEs in one call
    before (and between) the requests Python submits;
  * the SQ thread (native/sqpoll.c) of an IORING_SETUP_SQPOLL ring, which
    runs hot SQEs itself and hands the SQ to the Sentry's loop only at an
    SQE it does not take (sqpoll.py);
  * the C trap step (platform/native/trap.c), which serves a whole
    io_uring_enter without Python (native/dataplane.c ps_dp_enter) on a
    ring whose C block says it may (enter_sync below), and hands the call
    over part-way -- with the submit's answer, which submit.py continues
    from -- at an SQE the data plane leaves or a wait.

Python stays authoritative and tells C what it may do:

  * per ring (sync): whether the data plane may run at all (not on IOPOLL
    rings, rings traced with --trace-uring -- --stats alone counts C's
    requests apart, see stats() --, rings with restrictions, nor while
    failures are being injected: PYSENTRY_FAULT or --inject rules), whether drained or deferred chains are pending (new
    requests must queue behind them: Linux's io_drain_req), and whether a
    completion must reach Python (a task waiting in io_uring_enter, a poll
    on the ring fd, a timeout counting CQEs);
  * the tables it reads: the submitter's fd table as program fd -> host fd
    (FDTable.cmap, regular files and block devices only), registered files
    as host fds, registered buffers as (base, len), the registered eventfd,
    the ring fd's eventfd (ready.py), and for SQPOLL the task whose memory
    and fds the SQ thread uses.  A tagged file or buffer slot
    (rsrc_node.py) is never exported: a request using it must hold the
    slot's node until it completes, so its tag CQE comes after, and only
    the Python path does that.
    Each is updated under the C ring's mutex (or the fd map's rwlock)
    before Python drops the host fd it names.

PYSENTRY_DATAPLANE=0 turns the data plane off (every SQE goes through
Python, as before it existed; the tests run both ways).
"""
import itertools
import os

from pysentry import native
from pysentry.sentry.iouring import abi, failsafe
from pysentry.sentry.syscalls import file_io

ENABLED = native.lib is not None and os.environ.get("PYSENTRY_DATAPLANE", "1") != "0"

# Requests the data plane completed (pysentry run --stats): in io_uring_enter,
# and in SQ threads that have stopped (live ones are asked: sqpoll.py).
STATS = {"enter": 0, "sqpoll": 0}
# io_uring_enter calls the C trap step served whole (platform/native/trap.c).
ENTER_STATS = {"calls": 0}
_ring_ids = itertools.count(1)

if native.lib is not None:
    _lib, _ffi = native.lib, native.ffi
    # The Sentry thread's own bounce buffer (the SQ threads have theirs):
    # page-aligned for O_DIRECT files, CHUNK bytes as vfs/file.py stages.
    import mmap as _mmap
    _STAGING = _mmap.mmap(-1, 1 << 20)
    _BOUNCE = _ffi.from_buffer(_STAGING)
    _SUBMITTED = _ffi.new("unsigned *")


def eligible(ring):
    """May the data plane run this ring's SQEs at all?  Not while SQEs are
    traced one by one (a stats-only trace, --stats, is fine), nor while
    faults are injected (PYSENTRY_FAULT, or the kernel's --inject rules)."""
    trace = ring.trace
    return (ENABLED and not ring.closed and (trace is None or trace.out is None)
            and ring.restrictions is None and not ring.flags & abi.SETUP_IOPOLL
            and not failsafe.FAULTS and getattr(ring.kernel, "injector", None) is None)


def sync(ring):
    """Tell the C block what Python's state allows (cheap when unchanged)."""
    c = ring._c
    if c is None:
        return
    state = (eligible(ring),
             bool(ring.deferred) or ring.drain_active,
             ring.sqpoll is not None
             and (bool(ring.waiters) or ring._kick >= 0 or bool(ring.timeouts)))
    if state != ring.dp_state:
        ring.dp_state = state
        _lib.ps_ring_set_flags(c, *state)


def submit(ring, task, count):
    """io_uring_enter: run up to `count` hot SQEs in one C call, as `task`
    submits them.  Returns (SQ entries consumed, requests submitted)."""
    if ring.defer_taskrun and not ring.local_open:
        return 0, 0         # completions of a DEFER_TASKRUN ring wait in Python
    state = ring.dp_state
    if state is None or not state[0] or state[1]:
        return 0, 0
    consumed = _lib.ps_dp_submit(ring._c, _lib.PS_OWNER_PY, task.tid, fdmap(task.fdtable),
                                 count, _BOUNCE, _SUBMITTED)
    done = _SUBMITTED[0]
    STATS["enter"] += done
    return consumed, done


def stats(kernel):
    """(requests completed by the data plane in io_uring_enter, in SQ
    threads, io_uring_enter calls the C trap step served whole)."""
    live = sum(r.sqpoll.completed_in_c() for r in kernel.io_uring.by_id.values()
               if r.sqpoll is not None)
    return STATS["enter"], STATS["sqpoll"] + live, ENTER_STATS["calls"]


# -- the tables C reads ----------------------------------------------------------------
def fdmap(fdtable):
    """The C copy of an fd table, made on first use from its entries."""
    m = fdtable.cmap
    if m is None:
        m = _ffi.gc(_lib.ps_fdmap_new(), _lib.ps_fdmap_unref)
        for fd, desc in fdtable.entries.items():
            fdmap_set(m, fd, desc)
        fdtable.cmap = m
    return m


def fdmap_set(m, fd, desc):
    """fd now names desc (None: nothing); called before any old file is put."""
    if desc is None:
        _lib.ps_fdmap_set(m, fd, -1, 0)
        return
    ring = getattr(desc, "ring", None) if desc.kind == "io_uring" else None
    if ring is not None and ring._c is not None:
        # The trap step's io_uring_enter finds the ring's C block by the fd
        # (the block lives as long as this file, which holds the ring).
        _lib.ps_fdmap_set_ring(m, fd, ring._c)
    else:
        _lib.ps_fdmap_set(m, fd, desc.data_plane_fd(), trap_kind(desc))


# -- io_uring_enter in the C trap step -------------------------------------------------
def new_ring_id():
    """A ring's id in its C block: threads record the rings they used by it."""
    return next(_ring_ids)


def enter_sync(ring):
    """After Python served an io_uring_enter on ring: may the trap step serve
    the next ones in C (dataplane.c ps_dp_enter)?  Only while everything
    enter.py and submit.py would do beyond the data plane's submit is what
    ps_dp_enter does too -- so not with SQPOLL, DEFER_TASKRUN work deferred
    (ring.post clears the flag when it defers a CQE; the submitter's
    enters are otherwise plain ones: the call's local_open only makes
    Python's own posts direct, and C's are), nor with a disabled
    ring, the data plane off for it (eligible(), drained or deferred
    chains), overflowed CQEs, batch work, a task waiting in io_uring_enter
    (it must be woken), TIMEOUT requests counting CQEs (notify() checks
    them), an EVENTFD_ASYNC eventfd, fault injection, a syscall-level
    --trace-uring, or without pidfd_getfd (fds taken over by injection
    first).  Python clears it (enter_off) on what could change that
    between two enters: a wait, any io_uring_register on the ring; C
    checks the rest of the per-call conditions itself."""
    c = ring._c
    if c is None:
        return
    sync(ring)
    state = ring.dp_state
    kernel = ring.kernel
    ev = ring.eventfd
    # SINGLE_ISSUER: only the submitter may submit (EEXIST); DEFER_TASKRUN
    # (which Linux allows only with SINGLE_ISSUER) has every other thread's
    # enter answered apart (enter.py): C serves the submitter only.
    single = ring.flags & abi.SETUP_SINGLE_ISSUER or ring.defer_taskrun
    trace = getattr(getattr(kernel, "io_uring", None), "trace", None)
    ok = (state is not None and state[0] and not state[1] and ring.sqpoll is None
          and ring.enabled and not ring.closed
          and not ring.overflow and not ring.batch_work and not ring.waiters
          and not ring.timeouts and not ring.drain_next and not ring.local_cqes
          and ring._kick < 0 and (ev is None or not ev.async_only)
          and getattr(kernel, "can_getfd", False) and getattr(kernel, "injector", None) is None
          and (trace is None or trace.out is None)
          and not (single and ring.submitter_tid is None))
    c.single_tid = (ring.submitter_tid or 0) if ok and single else 0
    c.enter_fast = int(ok)


def enter_off(ring):
    """Something that enter_sync() looks at may change: Python serves the
    ring's next io_uring_enter (which publishes the flag again)."""
    c = ring._c
    if c is not None:
        c.enter_fast = 0


def trap_kind(desc):
    """What the C trap step (platform/native/trap.c) may do with read,
    write, pread64 and pwrite64 on this file -- exactly what
    sentry/syscalls/file_io.py does for a held fd: on any file but a ring,
    regular files included, the four calls run on the host unchanged
    (PS_TK_PASS: the program's fd is the Sentry's open file description,
    see file_io.py).  A ring fd's errors are Python's (0).  With
    PYSENTRY_SERVE_FILES=1 (file_io.SERVE_FILES) a regular file's
    pread64/pwrite64 are served instead, by C's copy of file_io's short
    path (PS_TK_SERVE; read/write at the file position then stay with
    Python), and a regular file without a host fd is Python's."""
    kind = desc.kind
    if kind == "reg" and file_io.SERVE_FILES:
        return _lib.PS_TK_SERVE if getattr(desc, "fd", -1) >= 0 else 0
    if kind == "io_uring":
        return 0
    return _lib.PS_TK_PASS


def export_files(ring):
    table = ring.file_table
    if table is None:
        _lib.ps_ring_set_files(ring._c, _ffi.NULL, 0)
        return
    fds = [d.data_plane_fd() if d is not None and node is None else -1
           for d, node in zip(table.slots, table.nodes)]
    _lib.ps_ring_set_files(ring._c, _ffi.new("int[]", fds), len(fds))
    table.cring = ring._c


def file_slot_set(cring, index, desc):
    _lib.ps_ring_set_file(cring, index, desc.data_plane_fd() if desc is not None else -1)


def export_buffers(ring):
    table = ring.buffer_table
    if table is None:
        _lib.ps_ring_set_bufs(ring._c, _ffi.NULL, 0)
        return
    flat = []
    for pair, node in zip(table.buffers, table.nodes):
        flat += pair if node is None else (0, 0)       # tagged: Python's
    _lib.ps_ring_set_bufs(ring._c, _ffi.new("uint64_t[]", flat), len(table.buffers))


def export_eventfd(ring):
    """The SQ thread signals the registered eventfd itself (not an
    EVENTFD_ASYNC one, which the Sentry never signals: eventfd.py)."""
    ev = ring.eventfd
    fd = ev.desc.fd if ev is not None and not ev.async_only else -1
    _lib.ps_ring_set_eventfd(ring._c, fd)


def export_sq_task(ring):
    task = ring.sq_task
    if task is None:
        _lib.ps_ring_set_sq_task(ring._c, 0, _ffi.NULL)
    else:
        _lib.ps_ring_set_sq_task(ring._c, task.tid, fdmap(task.fdtable))
