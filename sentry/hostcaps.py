"""What the host lets the Sentry do, probed once at start-up, and which path
the Sentry takes for each mechanism.

pysentry's reason to exist is to run where the host refuses io_uring, and the
commonest such place is a container whose default seccomp profile and
capability set also refuse some of the calls the Sentry itself would like to
make.  Docker's, containerd's and podman's defaults deny pidfd_getfd(2) and
kcmp(2) without CAP_SYS_PTRACE, for instance.  Each mechanism therefore has a
path that needs nothing beyond a default container:

  take a child's fd     pidfd_getfd(2), or SCM_RIGHTS from the child
                        (sentry/fdchannel.py: the child sendmsg()s it; the
                        first use of each fd then costs one injected exchange)
  shared fd tables      kcmp(KCMP_FILES), or else a process is assumed to have
                        a table of its own unless it is a thread
  AF_UNIX names in a    chroot(2) around the call (CAP_SYS_CHROOT, which Docker
  chroot                and podman grant), else -EPERM for that call
  io_uring_* stops      SECCOMP_RET_TRACE; or, when the Sentry itself runs
                        under a seccomp filter (a container's, which the
                        child inherits beneath pysentry's), SECCOMP_RET_TRAP:
                        that filter's ERRNO for io_uring would outrank TRACE,
                        while TRAP outranks ERRNO (platform/seccomp.py)

`pysentry run --check` prints what was found and chosen.  PYSENTRY_HOST_DENY
(a comma-separated list of probe names) makes a probe report "refused" for
tests, so the fallback paths run on any host.

When a host call the Sentry makes for the program is refused anyway, the
program gets the errno and pysentry says on stderr, once per call, what was
refused (refused()).
"""
import errno
import os
import sys

from pysentry.platform import libc

CAP_SYS_CHROOT = 18
CAP_SYS_PTRACE = 19

_DENIED = frozenset(filter(None, os.environ.get("PYSENTRY_HOST_DENY", "").split(",")))
# "trace" or "sigsys" forces how io_uring_* stop (tests); else decided by the host.
_TRAP = os.environ.get("PYSENTRY_IO_URING_TRAP", "")


def _try(name, call):
    """(available, why) for one probe."""
    if name in _DENIED:
        return False, "refused (PYSENTRY_HOST_DENY)"
    try:
        call()
    except OSError as e:
        return False, "refused: %s" % (errno.errorcode.get(e.errno, e.errno),)
    return True, "available"


def _pidfd_getfd():
    pidfd = libc.pidfd_open_flags(os.getpid(), 0)
    try:
        os.close(libc.pidfd_getfd(pidfd, pidfd))
    finally:
        os.close(pidfd)


def _kcmp():
    libc.kcmp_files(os.getpid(), os.getpid())


def _process_vm():
    buf = libc.ffi.new("char[]", b"probe")
    local = libc.ffi.new("struct iovec *", (libc.ffi.new("char[5]"), 5))
    remote = libc.ffi.new("struct iovec *", (buf, 5))
    if libc.lib.process_vm_readv(os.getpid(), local, 1, remote, 1, 0) != 5:
        err = libc.ffi.errno
        raise OSError(err, os.strerror(err))


def _openat2():
    try:
        libc.openat2(-1, b"", libc.open_how(0, 0, 0))
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise


def _chroot_cap():
    eff = libc.capget_thread()[0]
    if not eff >> CAP_SYS_CHROOT & 1:
        raise OSError(errno.EPERM, "no CAP_SYS_CHROOT")


def _seccomp_mode():
    """The Seccomp: field of /proc/self/status (2: under a filter)."""
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"Seccomp:"):
                return int(line.split()[1])
    return 0


class HostCaps:
    """The probes' results: name -> (available, why); sigsys: whether
    io_uring_* must stop by SIGSYS."""

    PROBES = (("pidfd_getfd", _pidfd_getfd), ("kcmp", _kcmp),
              ("process_vm_readv", _process_vm), ("openat2", _openat2),
              ("CAP_SYS_CHROOT", _chroot_cap))

    def __init__(self):
        self.results = {name: _try(name, call) for name, call in self.PROBES}
        filtered = _seccomp_mode() == 2
        self.sigsys = _TRAP == "sigsys" or (filtered and _TRAP != "trace")
        self.results["seccomp filter"] = (filtered, "the Sentry runs under one" if filtered
                                          else "none on the Sentry")

    def has(self, name):
        return self.results[name][0]

    def lines(self):
        """What --check prints: each probe, then the path chosen."""
        has = self.has
        chosen = [
            ("take a child's fd", "pidfd_getfd" if has("pidfd_getfd")
             else "SCM_RIGHTS from the child (one injected exchange per new fd)"),
            ("give the child a fd", "SCM_RIGHTS to the child"),
            ("shared fd tables", "kcmp" if has("kcmp")
             else "threads share; other processes are assumed to have their own"),
            ("path lookups", "fd-based walk; openat2 for RESOLVE_CACHED and open_how checks"
             if has("openat2") else "fd-based walk; OPENAT2 opens the Sentry makes "
             "fail with the host's errno"),
            ("AF_UNIX in chroot", "chroot around the call" if has("CAP_SYS_CHROOT")
             else "refused (EPERM) for a chrooted program"),
            ("io_uring_* stops", "SIGSYS (SECCOMP_RET_TRAP: outranks the outer filter's "
             "ERRNO)" if self.sigsys else "SECCOMP_RET_TRACE"),
        ]
        return (["host mechanisms:"]
                + ["  %-20s %s" % (name, why) for name, (_, why) in self.results.items()]
                + ["paths chosen:"] + ["  %-20s %s" % row for row in chosen])


_reported = set()


def refused(what, err):
    """Say once on stderr that the host refused the Sentry `what` (errno err)."""
    if what in _reported:
        return
    _reported.add(what)
    sys.stderr.write("pysentry: the host refused the Sentry %s (%s); the program gets %s "
                     "for it\n" % (what, os.strerror(err), errno.errorcode.get(err, err)))
