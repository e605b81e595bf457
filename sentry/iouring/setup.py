"""io_uring_setup(2): validate parameters, create the rings, give the child an fd.

Validation follows io_uring_create()/io_uring_fill_params(): non-zero reserved
fields and unknown (here: unimplemented) flags are EINVAL -- liburing relies on
that to retry without newer flags -- entries are rounded up to a power of two,
and IORING_SETUP_CLAMP clamps instead of failing.
"""
import errno
import os

from pysentry.platform.task import ABI_X86_64
from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry import creds, fdchannel
from pysentry.sentry.iouring import abi, dataplane, ringlayout, ringmem, sqpoll, tctx
from pysentry.sentry.iouring.ring import layout
from pysentry.sentry.syscalls import numbers, waits

# The setup flags whose semantics pysentry honours.  COOP_TASKRUN and
# TASKRUN_FLAG only concern how the kernel interrupts the task to run deferred
# completion work; the Sentry defers completions only for DEFER_TASKRUN rings
# (ring.py: local_cqes, with IORING_SQ_TASKRUN), so otherwise both hold trivially.
SUPPORTED_SETUP_FLAGS = (abi.SETUP_CQSIZE | abi.SETUP_CLAMP | abi.SETUP_SUBMIT_ALL
                         | abi.SETUP_COOP_TASKRUN | abi.SETUP_TASKRUN_FLAG
                         | abi.SETUP_SINGLE_ISSUER | abi.SETUP_NO_SQARRAY
                         | abi.SETUP_SQPOLL | abi.SETUP_SQ_AFF | abi.SETUP_ATTACH_WQ
                         | abi.SETUP_R_DISABLED | abi.SETUP_IOPOLL | abi.SETUP_DEFER_TASKRUN
                         # Hybrid polling sleeps before polling; the Sentry
                         # completes polled I/O at issue, so how it would
                         # poll changes nothing.
                         | abi.SETUP_HYBRID_IOPOLL
                         # 128-byte SQEs, 32-byte and mixed-size CQEs
                         # (ringlayout.py)
                         | ringlayout.ENTRY_FLAGS
                         # ringmem.py: the program's memory is the ring, and
                         # the ring may have no fd, only a registered index.
                         | abi.SETUP_NO_MMAP | abi.SETUP_REGISTERED_FD_ONLY)

FEATURES = (abi.FEAT_SINGLE_MMAP | abi.FEAT_NODROP | abi.FEAT_SUBMIT_STABLE
            | abi.FEAT_SQPOLL_NONFIXED
            | abi.FEAT_RW_CUR_POS | abi.FEAT_FAST_POLL | abi.FEAT_POLL_32BITS
            | abi.FEAT_EXT_ARG | abi.FEAT_CQE_SKIP | abi.FEAT_CUR_PERSONALITY
            | abi.FEAT_RSRC_TAGS | abi.FEAT_REG_REG_RING
            # enter.py: min_wait_usec, and IORING_ENTER_NO_IOWAIT accepted
            | abi.FEAT_MIN_TIMEOUT | abi.FEAT_NO_IOWAIT
            # submit.py looks a request's file up when it is issued, so a
            # linked request may name the fd or slot an earlier link member
            # opens (Linux assigns a linked request's file at issue).
            | abi.FEAT_LINKED_FILE
            # Work that Linux's io-wq would do runs on behalf of the submitter,
            # with its own fd table, credentials and limits (task work or
            # injected calls), which is what native workers guarantee; no
            # iou-wrk threads appear in /proc (docs/io_uring.md).
            | abi.FEAT_NATIVE_WORKERS
            # rw.py: PI attributes checked as Linux does, refused at issue as
            # for any file without integrity metadata.
            | abi.FEAT_RW_ATTR
            # net.py/kbuf.py: send and receive bundles, SEND from provided buffers.
            | abi.FEAT_RECVSEND_BUNDLE)


def _roundup_pow2(n):
    return 1 << (n - 1).bit_length()


def ring_sizes(entries, flags, cq_entries):
    """Return (sq_entries, cq_entries) or raise OSError(EINVAL) as Linux does."""
    if flags & ~SUPPORTED_SETUP_FLAGS:
        raise OSError(errno.EINVAL, "unsupported setup flags")
    ringmem.sanitise(flags)
    if flags & abi.SETUP_SQPOLL and not sqpoll.available():
        raise OSError(errno.EINVAL, "no SQ thread without the C extension")
    if flags & abi.SETUP_SQ_AFF and not flags & abi.SETUP_SQPOLL:
        raise OSError(errno.EINVAL, "SQ_AFF needs SQPOLL")
    if flags & abi.SETUP_TASKRUN_FLAG and not flags & (abi.SETUP_COOP_TASKRUN
                                                      | abi.SETUP_DEFER_TASKRUN):
        raise OSError(errno.EINVAL, "TASKRUN_FLAG needs COOP_TASKRUN")
    if flags & (abi.SETUP_IOPOLL | abi.SETUP_HYBRID_IOPOLL) == abi.SETUP_HYBRID_IOPOLL:
        raise OSError(errno.EINVAL, "HYBRID_IOPOLL needs IOPOLL")
    if flags & abi.SETUP_SQPOLL and flags & (abi.SETUP_COOP_TASKRUN | abi.SETUP_TASKRUN_FLAG):
        # Linux 6.18 refuses the task-run flags with SQPOLL: they are about
        # interrupting the submitting task, which an SQ thread never is.
        raise OSError(errno.EINVAL, "task-run flags with SQPOLL")
    if flags & abi.SETUP_DEFER_TASKRUN and (not flags & abi.SETUP_SINGLE_ISSUER
                                            or flags & abi.SETUP_SQPOLL):
        raise OSError(errno.EINVAL, "DEFER_TASKRUN needs SINGLE_ISSUER, without SQPOLL")
    if entries == 0:
        raise OSError(errno.EINVAL, "zero entries")
    if entries > abi.MAX_ENTRIES:
        if not flags & abi.SETUP_CLAMP:
            raise OSError(errno.EINVAL, "too many entries")
        entries = abi.MAX_ENTRIES
    sq = _roundup_pow2(entries)
    if flags & abi.SETUP_CQSIZE:
        if cq_entries == 0:
            raise OSError(errno.EINVAL, "zero cq entries")
        if cq_entries > abi.MAX_CQ_ENTRIES:
            if not flags & abi.SETUP_CLAMP:
                raise OSError(errno.EINVAL, "too many cq entries")
            cq_entries = abi.MAX_CQ_ENTRIES
        cq = _roundup_pow2(cq_entries)
        if cq < sq:
            raise OSError(errno.EINVAL, "cq smaller than sq")
    else:
        cq = 2 * sq
    ringlayout.check(flags, cq)
    return sq, cq


def sys_io_uring_setup(kernel, task, stop):
    entries = stop.args[0] & 0xFFFFFFFF
    params = stop.args[1]
    try:
        raw = task.mem.read(params, abi.PARAMS_SIZE)
    except OSError:
        return -errno.EFAULT
    head = abi.PARAMS_HEAD.unpack_from(raw, 0)
    _, cq_req, flags, sq_cpu, sq_idle, _, wq_fd = head[:7]
    if any(head[7:]):
        return -errno.EINVAL
    try:
        sq, cq = ring_sizes(entries, flags, cq_req)
    except OSError as e:
        if kernel.io_uring.trace is not None:
            kernel.io_uring.trace.setup_failed(task, entries, flags, -e.errno)
        return -e.errno
    user_addrs = None
    if flags & abi.SETUP_NO_MMAP:
        # io_allocate_scq_urings(): the rings, then the SQEs, in the
        # program's memory, checked before the SQ thread's arguments.
        sq_at, cq_at = abi.PARAMS_HEAD.size, abi.PARAMS_HEAD.size + abi.SQ_OFFSETS.size
        user_addrs = (abi.CQ_OFFSETS.unpack_from(raw, cq_at)[-1],
                      abi.SQ_OFFSETS.unpack_from(raw, sq_at)[-1])
        _, rings_size, sqes_size = layout(sq, cq, flags)
        try:
            ringmem.check_ranges(task, user_addrs[0], rings_size, user_addrs[1], sqes_size)
        except OSError as e:
            return -e.errno
    if flags & abi.SETUP_SQ_AFF and sq_cpu >= (os.cpu_count() or 1):
        return -errno.EINVAL           # Linux: the CPU must exist and be online
    if flags & abi.SETUP_ATTACH_WQ:
        # The work queue (and SQ thread) to share must belong to an io_uring;
        # the Sentry gives each ring its own, which nothing can observe.
        try:
            desc = kernel.lookup_file(task, numbers.signed_fd(wq_fd))
        except OSError:
            return -errno.ENXIO
        desc.put()
        if desc.kind != "io_uring":
            return -errno.EINVAL
    ring = kernel.io_uring.create(sq, cq, flags, compat=stop.abi != ABI_X86_64, creator=task)
    if user_addrs is not None:
        try:
            ringmem.load(task, ring, *user_addrs)
        except OSError as e:
            kernel.io_uring.destroy(ring)
            return -e.errno
    tctx.add_node(task, ring)  # the creator has io_uring state (registered ring slots)
    if flags & abi.SETUP_SQPOLL:
        ring.sq_task = task
        # io_uring_setup() keeps the creator's credentials for the SQ thread,
        # which submits every request with them (io_sq_thread's override_creds).
        ring.sq_creds = creds.of_task(task.tid)
        cpu = sq_cpu if flags & abi.SETUP_SQ_AFF else -1

        def start():
            ring.sqpoll = sqpoll.SqPoll(kernel, ring, sq_idle, cpu)
            dataplane.sync(ring)
        if flags & abi.SETUP_R_DISABLED:
            ring.start_sqpoll = start       # the SQ thread starts with ENABLE_RINGS
        else:
            try:
                start()
            except OSError as e:
                kernel.io_uring.destroy(ring)
                return -e.errno
    sq_off, cq_off = list(ring.sq_offsets()), list(ring.cq_offsets())
    if user_addrs is not None:
        cq_off[-1], sq_off[-1] = user_addrs      # io_uring_fill_params keeps them
    out = (abi.PARAMS_HEAD.pack(sq, cq, flags, sq_cpu, sq_idle, FEATURES, wq_fd, 0, 0, 0)
           + abi.SQ_OFFSETS.pack(*sq_off) + abi.CQ_OFFSETS.pack(*cq_off))
    if flags & abi.SETUP_REGISTERED_FD_ONLY:
        return _install_registered(kernel, task, ring, params, out)
    return _install_fd(kernel, task, stop, ring, params, out)


def _install_registered(kernel, task, ring, params, out):
    """IORING_SETUP_REGISTERED_FD_ONLY: the params are written, then the
    ring goes in the first free registered-ring slot of the thread instead
    of the fd table, and setup returns that index (io_uring_create: EBUSY
    with every slot taken, the params already written)."""
    yield from waits.trace_waits(kernel, task)
    # The params buffer serves as scratch, as for the fd below: its result
    # is written after.
    res = yield from ringmem.share_ring(kernel, task, ring, scratch=params)
    if res < 0:
        kernel.io_uring.destroy(ring)
        return res
    try:
        task.mem.write(params, out)
        return ringmem.install_registered(kernel, task, ring)
    except OSError as e:
        kernel.io_uring.destroy(ring)
        return -e.errno


def _install_fd(kernel, task, stop, ring, params, out):
    """Give the child its ring fd -- the eventfd whose readiness follows the
    CQ (ready.py) -- then publish the params.  The fd is passed by
    SCM_RIGHTS (sentry/fdchannel.py), staged in the caller's own params
    buffer (already proven writable, and about to be overwritten with the
    result): it is addressable from every ABI, int 0x80's 32-bit pointers
    included.  The process's fd waits start stopping (syscalls/waits.py)."""
    try:
        yield from waits.trace_waits(kernel, task)
        if ring.user_mem is not None:
            res = yield from ringmem.share_ring(kernel, task, ring, scratch=params)
            if res < 0:
                kernel.io_uring.destroy(ring)
                return res
        fd = yield from fdchannel.install(kernel, task, ring.ready.fd, True, scratch=params)
    except GeneratorExit:
        # The thread died (SIGKILL) before it had the fd: nothing else
        # refers to the ring, so it goes now, as Linux frees a ctx whose
        # setup never installed its file.
        kernel.io_uring.destroy(ring)
        raise
    if fd < 0:
        kernel.io_uring.destroy(ring)
        return fd
    kernel.install(task, fd, kernel.io_uring.file_for(ring))
    try:
        task.mem.write(params, out)
    except OSError:
        # Unreachable in practice (the params were just written or read);
        # Linux would not have installed the fd, so close it again.
        yield InjectSyscall(numbers.close(stop.abi), fd)
        task.fdtable.drop(fd)
        return -errno.EFAULT
    return fd
