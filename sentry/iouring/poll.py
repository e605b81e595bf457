"""POLL_ADD and POLL_REMOVE (io_uring/poll.c).

A one-shot poll completes with the ready events as its result.  A multishot
poll (IORING_POLL_ADD_MULTI) posts a CQE flagged IORING_CQE_F_MORE for every
new readiness report -- edge-triggered unless IORING_POLL_ADD_LEVEL -- and,
as in Linux, ends with a final CQE without F_MORE when the CQ ring has no room
(multishot CQEs may not overflow) or when it is removed.  Files that cannot be
waited on (regular files, directories, devices without ->poll such as
/dev/null) are always ready, like vfs_poll's DEFAULT_POLLMASK, and a poll on
them that would have to wait is EINVAL.
"""
import errno
import select
import time

from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.request import INFLIGHT
from pysentry.sentry.iouring.abi import CQE_F_MORE

POLL_ADD_MULTI = 1 << 0
POLL_UPDATE_EVENTS = 1 << 1
POLL_UPDATE_USER_DATA = 1 << 2
POLL_ADD_LEVEL = 1 << 3

# Always reported, whatever was asked for (IO_POLL_UNMASK).
_UNMASK = select.POLLERR | select.POLLHUP | select.POLLNVAL | select.POLLRDHUP
_CONTROL = select.EPOLLONESHOT | select.EPOLLET | select.EPOLLEXCLUSIVE
DEFAULT_POLLMASK = select.POLLIN | select.POLLOUT | select.POLLRDNORM | select.POLLWRNORM


class PollCmd:
    """A POLL_ADD's own state (Linux's struct io_poll, reached from the
    request as req.cmd): the events asked for, multishot, level-triggered."""

    __slots__ = ("mask", "multi", "level", "waited")

    def __init__(self, events, flags):
        # EPOLLONESHOT among the events makes even a multishot poll one-shot:
        # io_poll_parse_events keeps the program's control bits, and the
        # poll ends at its first event (io_poll_check_events).
        self.multi = bool(flags & POLL_ADD_MULTI) and not events & select.EPOLLONESHOT
        self.level = bool(flags & POLL_ADD_LEVEL)
        self.mask = (events & ~_CONTROL & 0xFFFFFFFF) | _UNMASK
        self.waited = None       # armed, not ready at once: the ring's posted count then


def _parse(req, flags):
    req.cmd = PollCmd(req.op_flags, flags)


def prep_add(req):
    if req.buf_index or req.off or req.addr:
        raise OSError(errno.EINVAL, "reserved poll fields")
    flags = req.len
    if flags & ~POLL_ADD_MULTI:
        # io_poll_add_prep takes no other flag: IORING_POLL_ADD_LEVEL is
        # refused here too, though io_poll_parse_events knows it.
        raise OSError(errno.EINVAL, "unknown poll flags")
    if flags & POLL_ADD_MULTI and req.flags & abi.IOSQE_CQE_SKIP_SUCCESS:
        raise OSError(errno.EINVAL, "multishot poll cannot skip its CQEs")
    _parse(req, flags)


def _revents(req):
    f = req.file
    if f.kind in ("reg", "dir", "blk"):
        return DEFAULT_POLLMASK & req.cmd.mask
    if f.kind == "signalfd":
        try:
            return (select.POLLIN | select.POLLRDNORM) & req.cmd.mask \
                if f.signalfd_pending(req.task.tid) else 0
        except OSError:
            return 0
    if f.kind == "io_uring":
        # Only a later notify() of that ring can change the answer: forget
        # older kicks, then look.
        f.ring.drain_kick()
        return f.ring.poll_revents() & req.cmd.mask
    p = select.poll()
    p.register(f.poll_fd(), req.cmd.mask & 0xFFFF)
    ready = p.poll(0)
    return ready[0][1] & req.cmd.mask if ready else 0


def _ring_woken(req):
    """A poll on a ring fd that had to wait is woken by a batch of CQEs:
    Linux's io_uring wakes its pollers with the key EPOLLIN |
    EPOLL_URING_WAKE (io_poll_wq_wake), and io_poll_wake() takes the key as
    the result without polling again (__io_poll_execute stashes it) -- and
    ignores the wake-up if the poll asked for none of it: POLLIN, or
    nothing (a POLLOUT-only poll then waits on)."""
    return select.POLLIN & req.cmd.mask


def _no_wait_queue(f):
    """A file with no wait queue to sleep on: Linux's vfs_poll gives its
    DEFAULT_POLLMASK and __io_arm_poll_handler finds no entry added.  Regular
    files, directories and block devices; and a file whose driver has no
    ->poll, such as /dev/null or /dev/zero -- the host's epoll refuses those
    with EPERM."""
    if f.kind in ("reg", "dir", "blk"):
        return True
    if f.kind in ("io_uring", "signalfd", "fifo", "sock"):
        return False
    # Whether a driver has ->poll never changes for an open file, so the
    # host is asked once per description (three syscalls), not per request.
    known = getattr(f, "_no_wait_queue", None)
    if known is None:
        known = f._no_wait_queue = _host_refuses_epoll(f.poll_fd())
    return known


def _host_refuses_epoll(fd):
    if fd is None or fd < 0:
        return False
    ep = select.epoll()
    try:
        ep.register(fd, select.EPOLLIN)
    except PermissionError:
        return True
    except OSError:
        return False
    finally:
        ep.close()
    return False


def issue_add(req, kernel):
    if req.file.kind == "io_uring" and req.cmd.waited is not None:
        f = req.file.ring
        f.drain_kick()
        # Only a batch of CQEs wakes it (io_commit_cqring_flush): a kick
        # with none posted since it began to wait is no wake-up.
        mask = _ring_woken(req) if f.posted != req.cmd.waited else 0
        if not mask:
            req.poll_events = select.POLLIN
            return None
        return mask
    mask = _revents(req)
    if (req.file.kind in ("reg", "dir", "blk")
            or ((not mask or req.cmd.multi) and _no_wait_queue(req.file))):
        # Such a file has no wait queue (__io_arm_poll_handler): an
        # edge-triggered poll completes with what is ready now; nothing
        # ready, or level-triggered, is EINVAL since it could never wake.
        if not mask or req.cmd.level:
            return -errno.EINVAL
        return mask
    if req.cmd.multi and req.file.kind == "signalfd":
        return -errno.EOPNOTSUPP      # cannot be watched persistently from here
    if not req.cmd.multi:
        if mask:
            return mask
        # Wait for readiness, then issue again (a ring's kick fd is POLLIN).
        req.poll_events = select.POLLIN if req.file.kind == "io_uring" else req.cmd.mask
        if req.file.kind == "io_uring":
            req.cmd.waited = req.file.ring.posted_committed()
        return None
    ring = req.ring
    if req.file.kind == "io_uring":
        # What is ready at once is posted at once (edge-triggered, as
        # __io_arm_poll_handler executes a ready EPOLLET poll); the kick
        # eventfd then says a batch of CQEs came, Linux's wake-up with the
        # key EPOLLIN | EPOLL_URING_WAKE -- which turns a multishot poll
        # into a one-shot one (io_poll_wake: its own CQE would wake it
        # again), so that wake-up ends it with POLLIN.
        # (Counted before this poll's own first CQE: on its own ring, that
        # CQE is the wake-up that ends it.)
        seen = [req.file.ring.posted_committed()]
        if mask and not ring.post_more(req.user_data, mask, CQE_F_MORE):
            return mask

        def on_event(_ev):
            posted = req.file.ring.posted
            woken = _ring_woken(req) if posted != seen[0] else 0
            seen[0] = posted
            if woken and req in ring.multishot:
                from pysentry.sentry.iouring import submit
                ring.multishot.pop(req).close()
                submit.complete(kernel, req, woken)
                ring.notify()
        events = select.POLLIN
    else:
        def on_event(ev):
            multishot_event(kernel, req, ev)
        events = req.cmd.mask
        if mask and not req.cmd.level:
            # __io_arm_poll_handler() executes a ready edge-triggered poll at
            # once, by task work: its first CQE follows the batch's, with
            # the CQ as the batch left it (full: the poll ends, seed 76668),
            # not whenever the Sentry's loop would see the fd's report.
            ring.multishot[req] = kernel.poller.watch(req.file.poll_fd(), events, on_event,
                                                      ready_now=True)
            _first_event(kernel, req, mask)
            return INFLIGHT
    ring.multishot[req] = kernel.poller.watch(req.file.poll_fd(), events, on_event,
                                              edge=not req.cmd.level)
    return INFLIGHT


def _first_event(kernel, req, mask):
    """A multishot poll ready as it is armed: its first event runs as task
    work, after the batch (submit.MultishotEvent), or soon when it was armed
    outside one."""
    from pysentry.sentry.iouring import submit
    ring = req.ring
    if ring.submitting:
        ring.batch_work.append((req, submit.MultishotEvent(mask)))
    else:
        kernel.poller.tracer.call_at(time.monotonic(),
                                     lambda: multishot_event(kernel, req, mask))


def multishot_event(kernel, req, events):
    from pysentry.sentry.iouring import submit
    ring = req.ring
    mask = events & req.cmd.mask
    if not mask or req not in ring.multishot:
        return
    if not ring.post_more(req.user_data, mask, CQE_F_MORE):
        # No room: a multishot CQE may not overflow, so the poll ends here.
        ring.multishot.pop(req).close()
        submit.complete(kernel, req, mask)
    ring.notify()


def prep_remove(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved poll fields")
    flags = req.len
    if flags & ~(POLL_UPDATE_EVENTS | POLL_UPDATE_USER_DATA | POLL_ADD_MULTI):
        raise OSError(errno.EINVAL, "unknown poll remove flags")
    if flags == POLL_ADD_MULTI:
        raise OSError(errno.EINVAL, "MULTI means nothing without an update")
    if not flags & POLL_UPDATE_USER_DATA and req.off:
        raise OSError(errno.EINVAL, "new user_data without UPDATE_USER_DATA")
    if not flags & POLL_UPDATE_EVENTS and req.op_flags:
        raise OSError(errno.EINVAL, "events without UPDATE_EVENTS")


def find_poll(ring, user_data):
    for table in (ring.multishot, ring.pending):
        for req in table.with_user_data(user_data):
            if req.opcode == abi.OP_POLL_ADD:
                return req
    return None


def issue_remove(req, kernel):
    from pysentry.sentry.iouring import cancel, submit
    target = find_poll(req.ring, req.addr)
    if target is None:
        return -errno.ENOENT
    cancel.detach(kernel, target)
    flags = req.len
    if not flags & (POLL_UPDATE_EVENTS | POLL_UPDATE_USER_DATA):
        submit.complete(kernel, target, -errno.ECANCELED)
        return 0
    if flags & POLL_UPDATE_EVENTS:
        # Only the event mask changes: a multishot poll stays multishot (and
        # a one-shot one-shot) whatever the update's own MULTI bit says --
        # Linux replaces the low 16 bits of the armed poll's events only.
        target.op_flags = req.op_flags
        _parse(target, (POLL_ADD_MULTI if target.cmd.multi else 0)
               | (POLL_ADD_LEVEL if target.cmd.level else 0))
    if flags & POLL_UPDATE_USER_DATA:
        target.user_data = req.off
    submit.issue(kernel, target)          # re-arm with the new settings
    return 0
