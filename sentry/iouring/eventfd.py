"""IORING_REGISTER_EVENTFD / EVENTFD_ASYNC / UNREGISTER_EVENTFD (io_uring/eventfd.c).

After a batch of completions the ring adds 1 to the registered eventfd,
unless the program set IORING_CQ_EVENTFD_DISABLED in the CQ ring flags; with
EVENTFD_ASYNC only completions that did not happen inline at submission count.
"""
import errno
import os
import struct

from pysentry.sentry.iouring import ring as ringmod

_ONE = struct.pack("<Q", 1)


class RingEventfd:
    def __init__(self, desc, async_only):
        self.desc = desc
        self.async_only = async_only

    def signal(self, ring):
        if self.async_only:
            # Linux signals an EVENTFD_ASYNC eventfd only for completions run
            # by io-wq worker threads; the Sentry has none (requests that wait
            # are retried on readiness, as Linux's poll-driven ones are).
            return
        if ring.u32[ringmod.CQ_FLAGS // 4] & ringmod.CQ_EVENTFD_DISABLED:
            return
        try:
            # Adding 1 blocks only when the counter is at 2**64 - 2, which a
            # program reading its eventfd never reaches; eventfd writes do not
            # support RWF_NOWAIT.
            os.write(self.desc.fd, _ONE)
        except OSError:
            pass

    def release(self):
        self.desc.put()


def _register(kernel, task, ring, arg, nr_args, async_only):
    if nr_args != 1:
        raise OSError(errno.EINVAL, "one eventfd")
    if ring.eventfd is not None:
        raise OSError(errno.EBUSY, "eventfd already registered")
    fd = struct.unpack("<i", task.mem.read(arg, 4))[0]
    desc = kernel.lookup_file(task, fd)
    if not _is_eventfd(desc):
        desc.put()
        raise OSError(errno.EINVAL, "not an eventfd")
    ring.eventfd = RingEventfd(desc, async_only)
    return 0


def _is_eventfd(desc):
    fd = getattr(desc, "fd", -1)
    if fd < 0:
        return False
    try:
        return os.readlink("/proc/self/fd/%d" % fd) == "anon_inode:[eventfd]"
    except OSError:
        return False


def register_eventfd(kernel, task, ring, arg, nr_args):
    return _register(kernel, task, ring, arg, nr_args, async_only=False)


def register_eventfd_async(kernel, task, ring, arg, nr_args):
    return _register(kernel, task, ring, arg, nr_args, async_only=True)


def unregister_eventfd(kernel, task, ring, arg, nr_args):
    if arg or nr_args:
        raise OSError(errno.EINVAL, "unregister takes no argument")
    if ring.eventfd is None:
        raise OSError(errno.ENXIO, "no eventfd registered")
    ev, ring.eventfd = ring.eventfd, None     # the SQ thread forgets it first
    ev.release()
    return 0
