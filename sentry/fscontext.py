"""Borrowing a thread's root and cwd for one host call: AF_UNIX path names.

Linux resolves the path in a sockaddr_un (bind, connect, sendto) in the
caller's own root and cwd (io_uring does it in the submitter's fs_struct
since the CVE-2020-29373 fix), and bind() keeps the program's bytes as the
socket's name: getsockname() and the peer's recvmsg() report exactly what
was bound.  So the Sentry cannot rewrite such a name into a path of its own;
it makes the one host call from the thread's own root and cwd instead:

    fchdir(<thread's root>); chroot("."); fchdir(<thread's cwd>)
    ... the call, with the program's own address ...
    fchdir(<Sentry's root>); chroot("."); fchdir(<Sentry's cwd>)

(chroot only when the thread's root is not the Sentry's.)  The host then
walks the name exactly as it would for the program: inside its root, from
its cwd, once, with the credentials the caller set (creds.acting_as()), so
neither a race nor '..' can lead it elsewhere.  Only the Sentry's Python
thread resolves paths; its SQ-polling thread never does, so borrowing the
process-wide root and cwd for the length of one call is safe.  Known
difference (docs/io_uring.md): /proc/self in such a name is the Sentry.
"""
import os

from pysentry.sentry.uapi import O_PATH_CLOEXEC

_O_PATH_DIR = O_PATH_CLOEXEC | os.O_DIRECTORY


def _same_dir(a, b):
    return a.st_ino == b.st_ino and a.st_dev == b.st_dev


class borrowed_fs:
    """Context manager: the Sentry's root and cwd are task's inside it."""

    def __init__(self, task, acting=None):
        self.task = task
        self.paused = acting.paused if acting is not None else None
        self.saved_root = self.saved_cwd = -1

    def __enter__(self):
        # All of it as the Sentry: the program's own /proc entries, and
        # chroot(2), which needs CAP_SYS_CHROOT whatever the program holds.
        with (self.paused() if self.paused else _nothing()):
            self._enter()
        return self

    def _enter(self):
        tid = self.task.tid
        root = os.open("/proc/%d/root" % tid, _O_PATH_DIR)
        try:
            cwd = os.open("/proc/%d/cwd" % tid, _O_PATH_DIR)
        except BaseException:
            os.close(root)
            raise
        try:
            self.saved_cwd = os.open(".", _O_PATH_DIR)
            if not _same_dir(os.fstat(root), os.stat("/")):
                self.saved_root = os.open("/", _O_PATH_DIR)
                os.fchdir(root)
                os.chroot(".")
            os.fchdir(cwd)
        except BaseException:
            self._restore()
            raise
        finally:
            os.close(root)
            os.close(cwd)

    def _restore(self):
        if self.saved_root >= 0:
            os.fchdir(self.saved_root)
            os.chroot(".")
            os.close(self.saved_root)
            self.saved_root = -1
        if self.saved_cwd >= 0:
            os.fchdir(self.saved_cwd)
            os.close(self.saved_cwd)
            self.saved_cwd = -1

    def __exit__(self, *exc):
        with (self.paused() if self.paused else _nothing()):
            self._restore()
        return False


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
