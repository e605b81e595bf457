"""Task work: steps of a request that must run in the submitting thread.

Some operations only make sense in the context of the child's own thread:
they allocate or close fds in its fd table (OPENAT, CLOSE, SOCKET, ACCEPT,
FIXED_FD_INSTALL) or act on its address space (MADVISE).  Linux runs them
in the submitter's context (inline or as task_work); the Sentry has no such
context of its own, so it injects the syscalls into the child thread, which
it can only do while that thread is stopped in the Sentry:

  * at once, when the request is issued from io_uring_enter (the usual case:
    the thread is stopped in that very syscall);
  * when the thread is parked in an io_uring_enter wait: the Sentry wakes it
    (PTRACE_INTERRUPT), runs the work and resumes the wait;
  * at the thread's next trapped syscall, before that syscall is served;
  * otherwise the Sentry interrupts the thread (Tracer.kick) wherever it is
    -- blocked in a host syscall such as epoll_wait, or running -- runs the
    work at that interrupt stop, and lets the thread go on as it was (a
    blocking call is restarted).  So an SQPOLL ring's OPENAT completes even
    while its program only waits in epoll on the ring fd (libuv does).

Where the host refuses pidfd_getfd, the child's fds are taken over by
SCM_RIGHTS, which needs the thread stopped too: an issue that meets an fd
the Sentry does not hold yet becomes task work that takes it and issues the
request again (submit._issue_one).

A work function is a generator `fn(kernel, task, req)` that may yield
InjectSyscall and returns the request's result, or None when it has re-armed
the request itself (e.g. ACCEPT found no connection after all).
"""
import errno

from pysentry.sentry.fdchannel import FdNotHeld
from pysentry.sentry.iouring import failsafe
from pysentry.sentry.iouring.request import INFLIGHT


def queue(kernel, req, fn):
    """Run fn for req in req.task's context as soon as possible; returns INFLIGHT."""
    task = req.task
    task.task_work.append((req, fn))
    waiter = task.parked
    if waiter is not None:
        if not waiter.woken:
            waiter.woken = True
            kernel.tracer.wake(task)
    else:
        kernel.tracer.kick(task)
    return INFLIGHT


def run(kernel, task):
    """Generator: run the task's queued work, completing each request."""
    from pysentry.sentry.iouring import submit
    while task.task_work:
        req, fn = task.task_work.popleft()
        ring = req.ring
        if ring.closed:
            req.release()
            continue
        req.task = task
        try:
            if failsafe.FAULTS:
                failsafe.maybe_fail("taskwork", req)
            res = yield from fn(kernel, task, req)
        except OSError as e:
            res = -e.errno
        except FdNotHeld as e:
            # Without pidfd_getfd: take the fds now, then run the work again.
            res = yield from kernel.take_fds(task, e.fds)
            if res == 0:
                task.task_work.appendleft((req, fn))
                continue
        except Exception as e:
            res = failsafe.report("taskwork", req, e)
        if res is None:
            continue
        submit.complete(kernel, req, res)
        ring.notify()


def rehome(kernel, task, heir):
    """task exits: its queued work moves to heir (a thread of the same process
    with the same fd table and memory) or, without one, is cancelled."""
    from pysentry.sentry.iouring import submit
    work, task.task_work = list(task.task_work), type(task.task_work)()
    for req, fn in work:
        if heir is not None:
            req.task = heir
            queue(kernel, req, fn)
        elif req.ring.closed:
            req.release()
        else:
            submit.complete(kernel, req, -errno.ECANCELED)
            req.ring.notify()
