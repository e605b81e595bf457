"""Submission and completion of requests: links, drain, CQE skipping, retries.

Mirrors the request life cycle of Linux's io_uring/io_uring.c:
  * each SQE is copied and initialised (opcode, flags, prep); an SQE that fails
    initialisation completes with its error and, unless IORING_SETUP_SUBMIT_ALL,
    ends the batch;
  * IOSQE_IO_LINK / IOSQE_IO_HARDLINK chain requests: each starts when the
    previous one completes; a failure (an error or a short transfer) cancels the
    rest of a soft link with -ECANCELED;
  * IOSQE_IO_DRAIN holds a request until everything submitted before it has
    completed, and holds later requests until it has completed itself;
  * IOSQE_CQE_SKIP_SUCCESS suppresses the CQE of a request that succeeded;
  * a request that would block (returns None from issue) waits for its file's
    readiness and is issued again (the internal poll of io_uring/poll.c).
"""
import errno

from pysentry.sentry.iouring import abi, timeout
from pysentry.sentry.iouring.cancel import detach, waiting
from pysentry.sentry.iouring.opdef import OPS
from pysentry.sentry.iouring.request import INFLIGHT, Request


def submit(kernel, ring, task, to_submit):
    """Consume up to to_submit SQEs; return how many were consumed."""
    count = min(to_submit, ring.sq_entries, ring.sq_ready())
    submitted = 0
    chain = None
    for _ in range(count):
        sqe = ring.pop_sqe()
        if sqe is None:
            continue
        submitted += 1
        req = Request(ring, task, sqe)
        if ring.trace is not None:
            ring.trace.sqe(ring, req)
        req.init_error = _init(req)
        if req.opcode == abi.OP_LINK_TIMEOUT and not req.init_error and (
                chain is None or chain[-1].opcode == abi.OP_LINK_TIMEOUT):
            req.init_error = -errno.EINVAL    # it must follow the request it guards
        if chain is None:
            chain = [req]
        else:
            chain.append(req)
        if not req.links_next:
            failed = _queue_chain(kernel, ring, chain)
            chain = None
            if failed and not ring.flags & abi.SETUP_SUBMIT_ALL:
                break
    if chain is not None:
        # A link left open at the end of the batch is submitted as it is.
        _queue_chain(kernel, ring, chain)
    ring.notify()
    return submitted


def _init(req):
    opdef = OPS.get(req.opcode)
    if opdef is None or req.flags & ~abi.IOSQE_ALL:
        return -errno.EINVAL
    if req.flags & abi.IOSQE_BUFFER_SELECT and not opdef.buffer_select:
        return -errno.EINVAL
    if req.personality:
        return -errno.EINVAL        # no personality is registered
    r = req.ring.restrictions
    if r is not None and not r.sqe_allowed(req):
        return -errno.EACCES
    req.opdef = opdef
    try:
        opdef.prep(req)
    except OSError as e:
        return -e.errno
    return 0


def _queue_chain(kernel, ring, chain):
    """Start (or defer) a chain; return True if it failed initialisation."""
    for i, req in enumerate(chain):
        req.chain = chain
        req.pos = i
    if any(r.init_error for r in chain):
        for r in chain:
            _post(ring, r, r.init_error or -errno.ECANCELED, failed=True)
        return True
    if chain[0].flags & abi.IOSQE_IO_DRAIN or ring.deferred or ring.drain_active is not None:
        ring.deferred.append(chain)
        _run_deferred(kernel, ring)
    else:
        _start(kernel, ring, chain)
    return False


def _start(kernel, ring, chain):
    ring.inflight += len(chain)
    if chain[0].flags & abi.IOSQE_IO_DRAIN:
        ring.drain_active = chain
    issue(kernel, chain[0])


def _run_deferred(kernel, ring):
    while ring.deferred and ring.drain_active is None:
        chain = ring.deferred[0]
        if chain[0].flags & abi.IOSQE_IO_DRAIN and ring.inflight:
            return
        ring.deferred.popleft()
        _start(kernel, ring, chain)


def issue(kernel, req):
    """Issue (or re-issue after readiness) one request."""
    ring = req.ring
    if ring.closed:
        req.release()
        return
    nxt = req.pos + 1
    if nxt < len(req.chain) and req.chain[nxt].opcode == abi.OP_LINK_TIMEOUT:
        lt = req.chain[nxt]
        if lt.tm_timer is None and not lt.tm_fired:
            timeout.arm_link(kernel, lt, req)
    try:
        if req.opdef.needs_file and req.file is None:
            if req.flags & abi.IOSQE_FIXED_FILE:
                if ring.file_table is None:
                    raise OSError(errno.EBADF, "no registered files")
                req.file = ring.file_table.get(req.fd)
            else:
                req.file = kernel.lookup_file(req.task, req.fd)
        res = req.opdef.issue(req, kernel)
    except OSError as e:
        res = -e.errno
    if res is INFLIGHT:
        return                  # completes itself later (multishot poll, timeout)
    if res is None:
        ring.pending[req] = kernel.poller.wait(req.file.poll_fd(), req.poll_events,
                                               lambda: _retry(kernel, req))
        return
    complete(kernel, req, res)


def _retry(kernel, req):
    req.ring.pending.pop(req, None)
    issue(kernel, req)
    req.ring.notify()


def _post(ring, req, res, failed):
    if failed or not req.flags & abi.IOSQE_CQE_SKIP_SUCCESS:
        ring.post(req.user_data, res, counts=req.opcode != abi.OP_TIMEOUT)
    req.release()


def complete(kernel, req, res):
    ring = req.ring
    failed = ((res < 0 and not timeout.etime_is_success(req, res))
              or (req.opdef.short_fails_link and req.expected is not None
                  and res != req.expected))
    _post(ring, req, res, failed)
    ring.inflight -= 1
    chain = req.chain
    nxt = req.pos + 1
    if nxt < len(chain) and chain[nxt].opcode == abi.OP_LINK_TIMEOUT:
        lt = chain[nxt]
        _post(ring, lt, timeout.settle_link(ring, lt), failed=True)
        ring.inflight -= 1
        nxt += 1
    if nxt < len(chain):
        if failed and not req.flags & abi.IOSQE_IO_HARDLINK:
            for r in chain[nxt:]:
                _post(ring, r, -errno.ECANCELED, failed=True)
                ring.inflight -= 1
            nxt = len(chain)
        else:
            issue(kernel, chain[nxt])
            return
    if ring.drain_active is chain:
        ring.drain_active = None
    _run_deferred(kernel, ring)


def cancel_task(kernel, ring, task):
    """The submitting task is gone: its waiting requests end with -ECANCELED."""
    for req in [r for r in waiting(ring) if r.task is task]:
        detach(kernel, req)
        complete(kernel, req, -errno.ECANCELED)
    ring.notify()


def cancel_all(kernel, ring):
    """The ring is going away: requests still waiting are dropped (no one can reap them)."""
    for req in waiting(ring):
        detach(kernel, req)
        req.release()
    for lt in list(ring.link_timeouts):
        timeout.settle_link(ring, lt)
