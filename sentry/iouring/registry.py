"""All io_uring instances of one sandbox, found by their fd's eventfd-id.

The program's ring fd is an eventfd shared with the Sentry (ready.py).  A
child fd that was not created by io_uring_setup itself (dup(2), fork(2),
SCM_RIGHTS) still refers to that eventfd; the Sentry recognises it by the
eventfd-id its fdinfo shows when it first meets the fd.
"""
from pysentry.sentry.iouring import dataplane, submit, taskwork, tctx, timeout, waitid
from pysentry.sentry.iouring.file import IoUringFileDescription
from pysentry.sentry.iouring.ready import eventfd_id
from pysentry.sentry.iouring.ring import Ring


class IoUringRegistry:
    def __init__(self, kernel, trace=None):
        self.kernel = kernel
        self.trace = trace
        self.by_id = {}         # eventfd-id of the ring fd -> Ring
        self.defer_rings = 0    # live IORING_SETUP_DEFER_TASKRUN rings
        self.futexes = None     # futex.FutexQueue, made by the first futex SQE
        self.waitids = []       # WAITID requests waiting for a child event (waitid.py)
        self.child_events = 0   # traced task exits seen, for waitid.py

    def create(self, sq, cq, flags, compat, creator):
        ring = Ring(sq, cq, flags, compat)
        ring.tracer = self.kernel.tracer
        ring.kernel = self.kernel
        ring.trace = self.trace
        ring.submitter_tid = creator.tid
        ring.creator_tgid = creator.tgid     # the process it is accounted to (ctx->mm_account)
        ring.on_notify = lambda: timeout.flush_counted(self.kernel, ring)
        self.by_id[ring.ready.id] = ring
        if ring.defer_taskrun:
            self.defer_rings += 1
        if self.trace is not None:
            self.trace.setup(ring, creator)
        dataplane.sync(ring)
        return ring

    def file_for(self, ring):
        return IoUringFileDescription(self.kernel, ring)

    def find(self, fdinfo_path):
        """The ring whose fd the fdinfo file describes, or None.  OSError
        (FileNotFoundError: no such fd) when it cannot be read."""
        if not self.by_id:
            return None
        return self.by_id.get(eventfd_id(fdinfo_path))

    def refresh_readiness(self):
        """Bring every ring fd's readiness up to date (syscalls/waits.py)."""
        for ring in self.by_id.values():
            ring.ready.refresh()

    def destroy(self, ring):
        if ring.closed:
            return
        submit.cancel_all(self.kernel, ring)
        self.by_id.pop(ring.ready.id, None)
        if ring.defer_taskrun:
            self.defer_rings -= 1
        ring.release()
        if self.trace is not None:
            self.trace.closed(ring)

    def task_exec(self, task):
        # execve cancels every request the process still has in flight
        # (begin_new_exec -> io_uring_task_cancel, cancel_all), timeouts and
        # polls included -- unlike exit, which spares those (task_exit).
        for ring in list(self.by_id.values()):
            submit.cancel_process(self.kernel, ring, task.tgid)
        taskwork.rehome(self.kernel, task, None)
        tctx.drop(task)        # execve leaves the thread no registered rings

    def fdtable_changed(self, task):
        """task has a new fd table (execve unshares it): an SQ thread that
        submits as task now uses that one."""
        for ring in self.by_id.values():
            if ring.sq_task is task:
                ring.sq_task = task

    def _heir(self, task):
        """A live thread of task's process that is not exiting, or None."""
        return next((t for t in self.kernel.tracer.tasks.values()
                     if t.tgid == task.tgid and t is not task and t.alive and not t.exiting),
                    None)

    def task_exiting(self, task):
        """task has begun to exit (its mm and files still there).  With a
        sibling to take over, its requests, SQ thread and task work move now,
        so nothing is charged to a thread whose exit the Sentry has not yet
        reaped; the last thread keeps them until task_exit, which cancels."""
        heir = self._heir(task)
        if heir is None:
            return
        for ring in list(self.by_id.values()):
            if ring.sq_task is task:
                ring.sq_task = heir
            submit.rehome_or_cancel(self.kernel, ring, task, heir)
        taskwork.rehome(self.kernel, task, heir)

    def task_exit(self, task):
        # A thread's requests outlive it (Linux cancels them only when the
        # process goes): they move to another live thread of the same process,
        # whose address space is the same.  The SQ thread likewise.
        heir = self._heir(task)
        for ring in list(self.by_id.values()):
            if ring.sq_task is task:
                ring.sq_task = heir
            ring.waiters[:] = [w for w in ring.waiters if w.task is not task]
            submit.rehome_or_cancel(self.kernel, ring, task, heir)
        taskwork.rehome(self.kernel, task, heir)
        tctx.drop(task)
        waitid.child_event(self.kernel)      # its parent may reap it now
