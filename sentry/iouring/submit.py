"""Submission and completion of requests: links, drain, CQE skipping, retries.

Mirrors the request life cycle of Linux's io_uring/io_uring.c:
  * each SQE is copied and initialised (opcode, flags, prep); an SQE that fails
    initialisation completes with its error and, unless IORING_SETUP_SUBMIT_ALL
    or it links to the next SQE, ends the batch;
  * IOSQE_IO_LINK / IOSQE_IO_HARDLINK chain requests: each starts when the
    previous one completes; a failure (an error or a short transfer) cancels the
    rest of a soft link with -ECANCELED;
  * IOSQE_IO_DRAIN holds a request until everything submitted before it has
    completed, and holds later requests until it has completed itself --
    by Linux 6.18's rule, with its consequences (_drain_req);
  * IOSQE_CQE_SKIP_SUCCESS suppresses the CQE of a request that succeeded;
  * a request that would block (returns None from issue) waits for its file's
    readiness and is issued again (the internal poll of io_uring/poll.c).

Runs of hot SQEs between (and before) the requests submitted here go to
the C data plane (dataplane.py) in one call each; it stops at the first SQE
it does not take, and this loop continues from exactly there.
"""
import errno

from pysentry.sentry.fdchannel import FdNotHeld
from pysentry.sentry.iouring import abi, dataplane, failsafe, inject, poll, taskwork, timeout
from pysentry.sentry.iouring.cancel import detach, waiting
from pysentry.sentry.iouring.opdef import OPS
from pysentry.sentry.iouring.request import INFLIGHT, IOWQ_FORCE, IOWQ_PUNT, Request, Unfailed
from pysentry.sentry.iouring.splice import SPLICE_F_FD_IN_FIXED


def submit(kernel, ring, task, to_submit, pre=None):
    """Consume up to to_submit SQEs; return how many were consumed.
    pre: (count, consumed, requests, cq_slots, posted) when the C trap step
    already made the batch's first data-plane call (dataplane.c
    ps_dp_enter): the batch goes on from there, as if this had made it;
    cq_slots and posted are the CQ slots and CQEs that call took, which
    belong to this batch (not yet committed for the ring's pollers)."""
    if pre is None:
        count = min(to_submit, ring.sq_entries, ring.sq_ready())
        ring.batch_sq_head = ring.sq_head
        _batch_cq(ring)
    else:
        count = pre[0]
        ring.batch_sq_head = (ring.sq_head - pre[1]) & 0xFFFFFFFF
        _batch_cq(ring, pre[3], pre[4])
    ring.submitting = True
    try:
        submitted = _submit_batch(kernel, ring, task, count, pre)
        # io_submit_state_end() flushes the batch's completions: the
        # requests they free stop counting for the drain, and the flush
        # looks at the defer list again.
        _flush(kernel, ring)
    finally:
        ring.submitting = False
        ring.live -= ring.unflushed
        ring.unflushed = 0
    _run_task_work(kernel, ring)
    if ring.deferred:
        _run_deferred(kernel, ring)
    ring.notify()
    return submitted


def _batch_cq(ring, slots=0, posted=0):
    """The CQEs a batch, or a task-work pass, starts with: the only ones
    io_uring_poll() sees until the flush at its end (Ring.poll_revents).
    slots/posted: CQ slots and CQEs the batch has already taken (in C)."""
    ring.batch_cq_tail = (ring.cq_tail - slots) & 0xFFFFFFFF
    ring.batch_overflow = len(ring.overflow)
    ring.batch_posted = ring.posted - posted


def _flush(kernel, ring):
    """__io_submit_flush_completions() at the end of a batch or of a
    task-work pass: the requests completed meanwhile are freed (until now
    they counted in ctx->nr_req_allocated, Request.release), then, while
    the ring drains, io_queue_deferred() looks at the defer list.  So a
    request queued behind a drain in the same batch as a request that
    completed, or failed initialisation, waits for the flush; and since
    only io_drain_req() clears ctx->drain_active, the ring keeps draining
    after the chain leaves the list here (seed 10582: every later request
    waits for a poll still in flight)."""
    ring.live -= ring.unflushed
    ring.unflushed = 0
    if ring.deferred:
        _run_deferred(kernel, ring)


class _Issue:
    """In ring.batch_work: issue the request (the next one of its link)."""


class _FailRest:
    """In ring.batch_work: end the request and the rest of its link with
    -ECANCELED (silently: the failed one had CQE_SKIP_SUCCESS)."""

    __slots__ = ("silent",)

    def __init__(self, silent):
        self.silent = silent


class Notif:
    """In ring.batch_work: post a zero-copy send's notification CQE
    (net.cleanup_zc).  Linux posts it by task work (io_notif_flush ->
    io_tx_ubuf_complete), so within a batch it follows the batch's flushed
    CQEs.  `late`: flushed when the request is freed (io_send_zc_cleanup,
    for a send that failed before sending), which io_free_batch_list does
    after io_queue_next: after the task work of its link."""

    __slots__ = ("res", "late")

    def __init__(self, res, late):
        self.res = res
        self.late = late


class MultishotEvent:
    """In ring.batch_work: a multishot poll's first event, found ready as it
    was armed (poll.py): post it, or end the poll if the CQ is full."""

    __slots__ = ("mask",)

    def __init__(self, mask):
        self.mask = mask


def _run_task_work(kernel, ring):
    """What a batch left to task work, in the order it was queued, as
    Linux runs it once io_submit_sqes() has flushed the batch's CQEs: a
    request cancelled or woken, the next request of a link whose previous
    one completed (io_queue_next -> io_req_task_queue), the rest of a
    failed link (io_fail_links -> io_req_task_cancel).  What those queue
    in turn runs in the next pass (each pass flushes its completions,
    which queues the next links): a chain advances one request per pass,
    as every chain of the batch does."""
    ring.batch_sq_head = ring.sq_head      # the batch's SQ head is published
    ring.submitting = True
    try:
        while ring.batch_work:
            work, ring.batch_work = ring.batch_work, []     # no O(n) pop(0) per request
            _batch_cq(ring)         # the previous pass (or the batch) was flushed
            for req, res in work:
                if isinstance(res, _FailRest):
                    _fail_rest(ring, req.chain, req.pos, res.silent)
                    if ring.deferred:
                        _run_deferred(kernel, ring)
                elif res is _Issue:
                    issue(kernel, req)
                elif isinstance(res, Notif):
                    if not ring.closed:
                        ring.post(req.user_data, res.res, abi.CQE_F_NOTIF)
                elif isinstance(res, MultishotEvent):
                    poll.multishot_event(kernel, req, res.mask)
                else:
                    complete(kernel, req, res)
            # ctx_flush_and_put(): each pass ends with a flush; a chain the
            # defer list lets go there runs in the next pass.
            _flush(kernel, ring)
    finally:
        ring.submitting = False
        ring.live -= ring.unflushed
        ring.unflushed = 0


def fds_named(ring, count):
    """The program's fds the next `count` SQEs name as their files (sqe->fd
    of an op that needs a file, unless IOSQE_FIXED_FILE; a splice's
    splice_fd_in): where the Sentry must take fds over by injection, it does
    so for these before submitting (enter.py), so no request of the batch
    waits for one half-issued."""
    fds = []
    for sqe in ring.peek_sqes(min(count, ring.sq_entries, ring.sq_ready())):
        opcode, flags, fd = sqe[0], sqe[1], sqe[3]
        opdef = OPS.get(opcode)
        if opdef is None:
            continue
        if opdef.needs_file and not flags & abi.IOSQE_FIXED_FILE:
            fds.append(fd)
        if opcode in (abi.OP_SPLICE, abi.OP_TEE) and not sqe[7] & SPLICE_F_FD_IN_FIXED:
            fds.append(sqe[11])
    return fds


def _submit_batch(kernel, ring, task, count, pre=None):
    if kernel.injector is not None:
        # (never with pre: the trap step leaves injecting rings alone)
        return inject.reordered(ring, lambda: _submit_batch_in_order(kernel, ring, task, count))
    return _submit_batch_in_order(kernel, ring, task, count, pre)


def _submit_batch_in_order(kernel, ring, task, count, pre=None):
    submitted = 0
    chain = None
    left = count
    hot = ring.dp_state is not None and ring.dp_state[0]
    while left > 0:
        if pre is not None:
            # The data-plane call the trap step made for this batch (C
            # makes it only where the branch below would have).
            consumed, done = pre[1], pre[2]
            pre = None
            left -= consumed
            submitted += done
            if not left or consumed != done:
                break
        elif hot and chain is None and not ring.drain_next:
            # Hot SQEs complete in C (never part of a link: C stops at a
            # linked SQE, so a chain is always Python's from its head).
            consumed, done = dataplane.submit(ring, task, left)
            left -= consumed
            submitted += done
            if not left or consumed != done:
                break       # done, or C met a bad SQ index (it ends the batch)
        sqe = ring.pop_sqe()
        left -= 1
        if sqe is None:
            # An out-of-range SQ index is counted in sq_dropped and ends the
            # batch (io_submit_sqes() breaks when io_get_sqe() fails).
            break
        submitted += 1
        req = Request(ring, task, sqe)
        if ring.trace is not None:
            ring.trace.sqe(ring, req)
        req.init_error = _init(req, chain)
        if kernel.injector is not None and not req.init_error:
            req.fault = kernel.injector.fault_for(req)
        if req.opcode == abi.OP_LINK_TIMEOUT and not req.init_error and (
                chain is None or chain[-1].opcode == abi.OP_LINK_TIMEOUT):
            req.init_error = -errno.EINVAL    # it must follow the request it guards
        if chain is None:
            chain = [req]
        else:
            chain.append(req)
        if not req.links_next:
            _queue_chain(kernel, ring, chain)
            _sync_dataplane(ring)
            chain = None
            # Only an SQE that fails initialisation itself, and ends its
            # chain, ends the batch (io_submit_fail_init returns its error);
            # a linked one that fails only marks the chain failed, and
            # submission goes on past it.
            if req.init_error and not ring.flags & abi.SETUP_SUBMIT_ALL:
                break
    if chain is not None:
        # A link left open at the end of the batch is submitted as it is,
        # to an io-wq worker in Linux (io_submit_state_end ->
        # io_queue_sqe_fallback -> io_queue_iowq, unless the ring drains),
        # which runs its links after it there too (io_wq_free_work), each
        # issued blocking unless it was forced async.
        if not ring.drain_active:
            for r in chain:
                r.iowq = r.iowq or IOWQ_PUNT
        _queue_chain(kernel, ring, chain)
        _sync_dataplane(ring)
    return submitted


def _init(req, link):
    """io_init_req() and the op's prep: 0, or the error the request fails
    with.  `link` is the open link chain it joins, or None."""
    opdef = OPS.get(req.opcode)
    if opdef is None or req.flags & ~abi.IOSQE_ALL:
        return -errno.EINVAL
    if req.flags & abi.IOSQE_BUFFER_SELECT and not opdef.buffer_select:
        return -errno.EOPNOTSUPP     # io_init_req: the op cannot select a buffer
    if req.flags & abi.IOSQE_CQE_SKIP_SUCCESS:
        # A skipped CQE breaks drain's sequence counting: once a ring has seen
        # CQE_SKIP_SUCCESS, IO_DRAIN fails on it for good (ctx->drain_disabled).
        req.ring.drain_disabled = True
    ring = req.ring
    if req.flags & abi.IOSQE_IO_DRAIN:
        if ring.drain_disabled:
            return -errno.EOPNOTSUPP
        # io_init_drain(): the ring drains from here on, even if this
        # request then fails initialisation.  A drain inside a link drains
        # the link's head, which io_init_drain() also forces async (seed
        # 63844: a multishot READ at the head then waits in io-wq's poll),
        # and the request after the link.
        ring.drain_active = True
        if link is not None:
            link[0].flags |= abi.IOSQE_IO_DRAIN
            link[0].iowq = IOWQ_FORCE
            ring.drain_next = True
    r = ring.restrictions
    if r is not None and not r.sqe_allowed(req):
        return -errno.EACCES
    if ring.drain_next and link is None:
        ring.drain_next = False
        ring.drain_active = True
        req.flags |= abi.IOSQE_IO_DRAIN
    if req.flags & abi.IOSQE_ASYNC or ring.drain_active:
        # io_init_req: REQ_F_FORCE_ASYNC -- IOSQE_ASYNC, or the drain's slow
        # path, taken by every request while ctx->drain_active is set.
        req.iowq = IOWQ_FORCE
    if req.ioprio and not opdef.ioprio:
        return -errno.EINVAL        # io_init_req: this op takes no priority
    if ring.flags & abi.SETUP_IOPOLL and not opdef.iopoll:
        return -errno.EINVAL        # io_init_req: not a pollable op
    if req.personality:
        req.creds = req.ring.personalities.get(req.personality)
        if req.creds is None:
            return -errno.EINVAL    # io_init_req: no such personality
    req.opdef = opdef
    try:
        if failsafe.FAULTS:
            failsafe.maybe_fail("prep", req)
        opdef.prep(req)
    except OSError as e:
        return -e.errno
    except Exception as e:
        return failsafe.report("prep", req, e)
    if _forced_async(req):
        req.iowq = IOWQ_FORCE
    return 0


# Ops whose prep sets REQ_F_FORCE_ASYNC in Linux 6.18: io-wq always runs
# them, so their CQE follows those the batch completes inline
# (_queue_chain).  FSYNC is one too, but the C data plane serves it in SQ
# order (an fsync's cost is the disk's: left as it is for now).
_FORCE_ASYNC_OPS = frozenset((
    abi.OP_SYNC_FILE_RANGE, abi.OP_FALLOCATE, abi.OP_STATX, abi.OP_MADVISE, abi.OP_SPLICE,
    abi.OP_TEE, abi.OP_RENAMEAT, abi.OP_UNLINKAT, abi.OP_MKDIRAT, abi.OP_SYMLINKAT,
    abi.OP_LINKAT, abi.OP_FSETXATTR, abi.OP_SETXATTR, abi.OP_FGETXATTR, abi.OP_GETXATTR,
    abi.OP_FTRUNCATE))
_O_CREAT_TRUNC_TMPFILE = 0o100 | 0o1000 | 0o20000000


def _forced_async(req):
    op = req.opcode
    if op in _FORCE_ASYNC_OPS:
        return True
    if op == abi.OP_FADVISE:
        # io_fadvise_force_async: all but POSIX_FADV_NORMAL/RANDOM/SEQUENTIAL
        return req.op_flags not in (0, 1, 2)
    if op in (abi.OP_OPENAT, abi.OP_OPENAT2):
        # io_openat_force_async: O_CREAT, O_TRUNC or __O_TMPFILE
        return bool(req.cmd.how[0] & _O_CREAT_TRUNC_TMPFILE)
    return False


def _queue_chain(kernel, ring, chain):
    """Start (or defer) a chain; return True if it failed initialisation."""
    for i, req in enumerate(chain):
        req.chain = chain
        req.pos = i
    if any(r.init_error for r in chain):
        # The head fails (its own error, or -ECANCELED) and then its links,
        # each with its own error or -ECANCELED -- silently if the head had
        # CQE_SKIP_SUCCESS (req_set_fail turns it into REQ_F_SKIP_LINK_CQES).
        # The links' CQEs come by task work, after the batch's (see
        # _complete_one).
        head = chain[0]
        _post(ring, head, head.init_error or -errno.ECANCELED, failed=True)
        silent = bool(head.flags & abi.IOSQE_CQE_SKIP_SUCCESS)
        if len(chain) > 1:
            ring.batch_work.append((chain[1], _FailRest(silent)))
        return True
    if ring.drain_active:
        _drain_req(kernel, ring, chain)
    elif chain[0].iowq == IOWQ_FORCE and ring.submitting:
        # IOSQE_ASYNC: Linux hands the chain to an io-wq worker
        # (io_queue_iowq), which runs it once woken -- after the batch's
        # inline completions are flushed, as the CQ's order shows (and
        # which of them a full CQ overflows).  The Sentry has no worker:
        # it issues the chain when the batch ends, in the order queued.
        ring.batch_work.append((chain[0], _Issue))
    else:
        issue(kernel, chain[0])
    return False


def _drain_req(kernel, ring, chain):
    """io_drain_req(): while the ring drains, every chain goes on the defer
    list and leaves it by io_queue_deferred()'s rule (_run_deferred).  The
    ring stops draining once a chain without IO_DRAIN leaves the list at
    once.

    What follows from Linux 6.18's rule, and is so here: a request after a
    drain waits for every request in flight, not only the drained one; an
    IO_DRAIN request that fails initialisation still makes the next one
    wait so; and a zero-copy send (SEND_ZC, SENDMSG_ZC) put on the defer
    list never leaves it, nor does anything queued behind it, because its
    notification is allocated and not on the list (observed on Linux 6.18:
    no CQE until the ring is closed)."""
    ring.deferred.append(chain)
    ring.nr_drained += len(chain)
    _run_deferred(kernel, ring)
    if not chain[0].flags & abi.IOSQE_IO_DRAIN and not ring.deferred:
        ring.drain_active = False


def _run_deferred(kernel, ring):
    """io_queue_deferred(): start chains from the head of the defer list.
    The first, and any from the first IO_DRAIN one on, may start only when
    every live request of the ring is on the list (ctx->nr_req_allocated ==
    ctx->nr_drained); those between start with the one before them."""
    # Re-entry (a deferred chain completing while we start the next) only
    # asks the outer call to look again: no recursion however long the queue.
    if ring.running_deferred:
        ring.rerun_deferred = True
        return
    ring.running_deferred = True
    try:
        ring.rerun_deferred = True
        while ring.rerun_deferred:
            ring.rerun_deferred = False
            first, drain_seen = True, False
            while ring.deferred:
                chain = ring.deferred[0]
                drain_seen = drain_seen or bool(chain[0].flags & abi.IOSQE_IO_DRAIN)
                if (first or drain_seen) and ring.live != ring.nr_drained:
                    break
                ring.deferred.popleft()
                ring.nr_drained -= len(chain)
                first = False
                if ring.submitting:
                    # io_queue_deferred() hands the chain to task work
                    # (io_req_task_queue): during a submission it runs after
                    # the batch (or in the next task-work pass).  Differs
                    # from Linux in one order: an IOSQE_ASYNC chain later in
                    # the same batch reaches io-wq at once there, before
                    # this one (which gets there only by that task work);
                    # here both wait in batch_work in SQ order (fuzz seed
                    # 28821, docs/reliability.md "Open divergences").
                    ring.batch_work.append((chain[0], _Issue))
                else:
                    issue(kernel, chain[0])
    finally:
        ring.running_deferred = False
    _sync_dataplane(ring)


def _sync_dataplane(ring):
    """While the ring drains, new SQEs queue behind the defer list in
    Python (io_drain_req): the data plane must not overtake them."""
    st = ring.dp_state
    if st is not None and st[1] != (bool(ring.deferred) or ring.drain_active):
        dataplane.sync(ring)


def issue(kernel, req):
    """Issue a request (or re-issue it after readiness) and run its link chain
    onwards iteratively, so chains of any length use no recursion."""
    while req is not None:
        res = _issue_one(kernel, req)
        if res is None:
            return
        req = _complete_one(kernel, req, res)


def _issue_one(kernel, req):
    """Run one request; its result, or None if it is waiting or in flight."""
    ring = req.ring
    if ring.closed:
        req.release()
        return None
    nxt = req.pos + 1
    armed = None
    if req.fault is not None:
        res = inject.before_issue(kernel, req, issue)
        if res is not None:
            return res if res is not INFLIGHT else None
    try:
        if req.opdef.needs_file and req.file is None:
            if req.flags & abi.IOSQE_FIXED_FILE:
                if ring.file_table is None:
                    raise OSError(errno.EBADF, "no registered files")
                req.file = ring.file_table.get(req.fd, req)
            else:
                req.file = kernel.lookup_file(req.task, req.fd)
        # The linked timeout starts with the request's issue, once its file
        # is known (a request that goes to task work to have its fd taken
        # over has not been issued yet).
        if nxt < len(req.chain) and req.chain[nxt].opcode == abi.OP_LINK_TIMEOUT:
            if timeout.arm_link(kernel, req.chain[nxt], req):
                armed = req.chain[nxt]
        if failsafe.FAULTS:
            failsafe.maybe_fail("issue", req)
        res = req.opdef.issue(req, kernel)
    except OSError as e:
        res = -e.errno
    except FdNotHeld as e:
        if armed is not None:
            timeout.disarm_link(ring, armed)
        need = e.fds
        res = taskwork.queue(kernel, req, lambda k, t, r: _take_then_issue(k, t, r, need))
    except Exception as e:
        res = failsafe.report("issue", req, e)
    if res is INFLIGHT:
        return None             # completes itself later (multishot poll, timeout)
    if res is None:
        # Wait on req.poll_fd(): the request's file, or req.poll_file when the
        # op blocked on another one (a splice or tee on its input pipe).
        ring.pending[req] = kernel.poller.wait(req.poll_fd(),
                                               req.poll_events or req.opdef.poll,
                                               lambda: retry(kernel, req))
        return None
    return res


def _take_then_issue(kernel, task, req, fds):
    """Task work: take over the fds req's issue needed (no pidfd_getfd on
    this host), then issue it again; it completes itself from there."""
    res = yield from kernel.take_fds(task, fds)
    if res < 0:
        return res
    issue(kernel, req)
    return None


def retry(kernel, req):
    """A waiting request's file is ready: issue it again."""
    req.ring.pending.pop(req, None)
    issue(kernel, req)
    req.ring.notify()


def _post(ring, req, res, failed):
    if failed or not req.flags & abi.IOSQE_CQE_SKIP_SUCCESS:
        if req.fault is not None and inject.post_held(ring, req, res):
            pass
        else:
            ring.post(req.user_data, res, req.cflags, counts=req.opcode != abi.OP_TIMEOUT,
                      big=req.big_cqe)
    req.release()


def complete(kernel, req, res):
    """Complete a request that was waiting, and run the rest of its chain."""
    nxt = _complete_one(kernel, req, res)
    if nxt is not None:
        issue(kernel, nxt)


def _ran_in_worker(req):
    """Did Linux complete req inside an io-wq worker?  A request handed to
    one as it was (a link left open at a batch's end) or forced async with
    nothing to poll (the fs ops; a file without ->poll); a forced request
    that can poll is tried non-blocking and may end by poll task work
    instead, so it is not counted."""
    if req.iowq == IOWQ_PUNT:
        return True
    if req.iowq != IOWQ_FORCE:
        return False
    return not req.opdef.poll or req.file is None or not req.file.has_poll()


def _complete_one(kernel, req, res):
    """Post req's completion; return the next request of its chain to issue."""
    ring = req.ring
    failed = ((res < 0 and not isinstance(res, Unfailed) and not timeout.etime_is_success(req, res))
              or (req.opdef.short_fails_link and req.expected is not None
                  and res != req.expected))
    # before _post releases its file:
    in_worker = req.pos + 1 < len(req.chain) and _ran_in_worker(req)
    _post(ring, req, res, failed)
    chain = req.chain
    nxt = req.pos + 1
    if nxt < len(chain) and chain[nxt].opcode == abi.OP_LINK_TIMEOUT:
        lt = chain[nxt]
        # Both endings of a link timeout -- firing (-ETIME) or being disarmed
        # because its request finished (-ECANCELED) -- are normal for it:
        # Linux never marks it failed, so CQE_SKIP_SUCCESS hides either.
        _post(ring, lt, timeout.settle_link(ring, lt), failed=False)
        nxt += 1
    if nxt < len(chain):
        # A failed request with CQE_SKIP_SUCCESS posts its own CQE and
        # suppresses those of the requests it cancels (REQ_F_SKIP_LINK_CQES).
        silent = bool(req.flags & abi.IOSQE_CQE_SKIP_SUCCESS)
        go_on = not failed or req.flags & abi.IOSQE_IO_HARDLINK
        if go_on and in_worker:
            # io_wq_free_work() hands the worker the next request of the
            # link, which it issues blocking unless forced async itself
            # (seed 56042: an RWF_NOWAIT write after an FGETXATTR).
            chain[nxt].iowq = chain[nxt].iowq or IOWQ_PUNT
        if ring.submitting:
            # Within a batch (or a task-work pass after it) the link goes
            # on by task work, after the batch: Linux issues the next
            # request, or fails the rest, when the completions are flushed
            # (io_free_batch_list -> io_queue_next), so a later SQE of the
            # same batch is issued first.
            work = (chain[nxt], _Issue if go_on else _FailRest(silent))
            last = ring.batch_work[-1] if ring.batch_work else None
            if last is not None and last[0] is req and isinstance(last[1], Notif) and last[1].late:
                # its notification, queued as it was released just now,
                # comes after the link's task work (see Notif)
                ring.batch_work.insert(len(ring.batch_work) - 1, work)
            else:
                ring.batch_work.append(work)
            return None
        if go_on:
            return chain[nxt]
        _fail_rest(ring, chain, nxt, silent)
    if ring.deferred:
        _run_deferred(kernel, ring)
    return None


def _fail_rest(ring, chain, nxt, silent):
    """End chain[nxt:]: each with its own initialisation error, if it had
    one (a chain that never started), else -ECANCELED."""
    for r in chain[nxt:]:
        r.cflags = 0               # io_fail_links: io_req_set_res(link, res, 0)
        if silent:
            r.release()
        else:
            _post(ring, r, r.init_error or -errno.ECANCELED, failed=True)


def rehome_or_cancel(kernel, ring, task, heir):
    """task is gone: its waiting requests continue for `heir` (another thread
    of its process) or, when the whole process is gone, end with -ECANCELED."""
    for req in [r for r in waiting(ring) if r.task is task]:
        if heir is not None:
            req.task = heir
            continue
        if _survives_exit(req):
            continue
        detach(kernel, req)
        complete(kernel, req, -errno.ECANCELED)
    ring.notify()


def cancel_process(kernel, ring, tgid):
    """Every waiting request of process tgid ends with -ECANCELED (exec)."""
    doomed = [r for r in waiting(ring) if r.task.tgid == tgid]
    for req in doomed:
        if detach(kernel, req):
            complete(kernel, req, -errno.ECANCELED)
    if doomed:
        ring.notify()


def _survives_exit(req):
    """Linux cancels an exiting task's requests only if their link chain
    holds a request on an io_uring file (REQ_F_INFLIGHT, io_match_task());
    the others run on.  Here that is kept to ops that wait without touching
    the dead task's memory (OpDef.waits: polls, timeouts); anything else is
    cancelled."""
    from pysentry.sentry.iouring.file import IoUringFileDescription
    for r in req.chain[req.pos:]:
        f = r.file
        if f is None and not r.flags & abi.IOSQE_FIXED_FILE:
            f = r.task.fdtable.entries.get(r.fd)     # a link not issued yet
        if isinstance(f, IoUringFileDescription):
            return False
    return req.opdef.waits


def cancel_all(kernel, ring):
    """The ring is going away: requests still waiting are dropped (no one can reap them)."""
    for req in waiting(ring):
        detach(kernel, req)
        req.release()
    for lt in list(ring.link_timeouts):
        timeout.settle_link(ring, lt)
