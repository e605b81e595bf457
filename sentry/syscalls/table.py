"""The syscall table: one declared handling for every syscall number, per ABI.

  SENTRY  the Sentry serves (or inspects) the call: the child stops in it;
  HOST    the host kernel runs it directly, with no stop;
  DENY    refused with an errno, in the seccomp filter itself.

io_uring_setup/enter/register are SENTRY on every ABI (x86-64, x32 and i386),
so the child can never reach the host's io_uring.  The x86-64 table is
complete; for the compat ABIs everything not listed runs on the host (stage 1:
their file syscalls are not yet routed through the VFS).
"""
import errno

from ptrace.syscall.linux.i386 import SYSCALL_NAMES as _I386_NAMES
from ptrace.syscall.linux.x86_64 import SYSCALL_NAMES as _X64_NAMES

from pysentry.platform.task import ABI_I386, ABI_X32, ABI_X86_64
from pysentry.sentry.iouring.enter import sys_io_uring_enter
from pysentry.sentry.iouring.register import sys_io_uring_register
from pysentry.sentry.iouring.setup import sys_io_uring_setup
from pysentry.sentry.syscalls import affinity, file_io, fs, futex, procfd, waits
from pysentry.sentry.syscalls import numbers as n

SENTRY, HOST, DENY = "sentry", "host", "deny"
WAIT = "host; traced once the process has a ring"
FUTEX = "host; wakes traced once the process has a ring"


class Entry:
    __slots__ = ("nr", "name", "disposition", "handler", "errno")

    def __init__(self, nr, name, disposition, handler=None, err=0):
        self.nr, self.name, self.disposition = nr, name, disposition
        self.handler, self.errno = handler, err


_IO_URING = {
    n.IO_URING_SETUP: sys_io_uring_setup,
    n.IO_URING_ENTER: sys_io_uring_enter,
    n.IO_URING_REGISTER: sys_io_uring_register,
}

# The program's own CPU mask while placement narrows the host's
# (sentry/syscalls/affinity.py); trapped only when a policy is on.
_AFFINITY = {
    ABI_X86_64: {n.SCHED_SETAFFINITY: affinity.sys_sched_setaffinity,
                 n.SCHED_GETAFFINITY: affinity.sys_sched_getaffinity},
    ABI_I386: {n.I386_SCHED_SETAFFINITY: affinity.sys_sched_setaffinity,
               n.I386_SCHED_GETAFFINITY: affinity.sys_sched_getaffinity},
}
_AFFINITY[ABI_X32] = _AFFINITY[ABI_X86_64]

_X64_SENTRY = dict(_IO_URING)
_X64_SENTRY.update(_AFFINITY[ABI_X86_64])
_X64_SENTRY.update({
    n.READ: file_io.sys_read, n.WRITE: file_io.sys_write,
    n.PREAD64: file_io.sys_pread64, n.PWRITE64: file_io.sys_pwrite64,
    n.READV: file_io.sys_readv, n.WRITEV: file_io.sys_writev,
    n.PREADV: file_io.sys_preadv, n.PWRITEV: file_io.sys_pwritev,
    n.PREADV2: file_io.sys_preadv2, n.PWRITEV2: file_io.sys_pwritev2,
    n.FSYNC: file_io.sys_fsync, n.FDATASYNC: file_io.sys_fdatasync,
    n.CLOSE: fs.sys_close, n.CLOSE_RANGE: fs.sys_close_range,
    n.DUP: fs.sys_dup, n.DUP2: fs.sys_dup2, n.DUP3: fs.sys_dup3,
    n.FCNTL: fs.sys_fcntl_dupfd,
    n.MMAP: fs.sys_mmap,
})

# (From 512 up the x86-64 table holds x32's own entries, some with the same names.)
_X64_NR = {name: nr for nr, name in _X64_NAMES.items() if nr < 512}
_X64_NR.update(open_tree=428, move_mount=429, fsopen=430, fsconfig=431, fsmount=432,
               fspick=433)      # newer than python-ptrace's table

# Calls that would let the child step outside the sandbox or change the host
# (ptrace: the child is already traced by the Sentry).
_X64_DENY = {_X64_NR[name]: errno.EPERM for name in (
    "ptrace", "mount", "umount2", "pivot_root", "swapon", "swapoff", "reboot",
    "init_module", "delete_module", "finit_module", "kexec_load", "kexec_file_load",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick")}

_X32_SENTRY = dict(_IO_URING)
_X32_SENTRY[n.MMAP] = fs.sys_mmap
_X32_SENTRY.update(_AFFINITY[ABI_X32])

_I386_SENTRY = dict(_IO_URING)
_I386_SENTRY[n.I386_MMAP2] = fs.sys_mmap
_I386_SENTRY[n.I386_OLD_MMAP] = fs.sys_mmap
_I386_SENTRY.update(_AFFINITY[ABI_I386])
_I386_DENY = {n.I386_PTRACE: errno.EPERM}

# mmap numbers whose file mappings (not MAP_ANONYMOUS) stop: {nr: flags arg index}
_FILE_MMAPS = {
    ABI_X86_64: {n.MMAP: 3},
    ABI_X32: {n.MMAP: 3},
    ABI_I386: {n.I386_MMAP2: 3},
}

# Calls that stop only for some values of one argument: {nr: (arg index, values)}.
# fcntl stops for F_DUPFD and F_DUPFD_CLOEXEC alone, so the Sentry's fd cache
# learns the new number (an io_uring fd must stay known while any dup is open).
_ARG_TRACES = {
    ABI_X86_64: {n.FCNTL: (1, (fs.F_DUPFD, fs.F_DUPFD_CLOEXEC))},
    ABI_X32: {},
    ABI_I386: {},
}


def _build(names, sentry, deny, limit, waits_=(), ring_traces=(), futexes=()):
    table = {}
    for nr in range(limit):
        name = names.get(nr, "syscall_%d" % nr)
        if nr in sentry:
            table[nr] = Entry(nr, name, SENTRY, sentry[nr])
        elif nr in deny:
            table[nr] = Entry(nr, name, DENY, err=deny[nr])
        elif nr in waits_:
            # HOST in the first filter; traced by waits.py's filter once the
            # process has a ring.
            table[nr] = Entry(nr, name, WAIT, waits.sys_wait)
        elif nr in ring_traces:
            # Also HOST in the first filter and traced by the second one.
            table[nr] = Entry(nr, name, WAIT, ring_traces[nr])
        elif nr in futexes:
            # HOST in the first filter; the wake commands are traced by the
            # same second filter, for io_uring's futex ops (iouring/futex.py).
            table[nr] = Entry(nr, name, FUTEX, futexes[nr])
        else:
            table[nr] = Entry(nr, name, HOST)
    return table


# Calls traced, like the waits, only once the process has a ring: readlink
# of /proc/<pid>/fd/<ring fd> names an io_uring (syscalls/procfd.py).
_X64_RING_TRACES = {n.READLINK: procfd.sys_readlink, n.READLINKAT: procfd.sys_readlinkat}
_I386_RING_TRACES = {n.I386_READLINK: procfd.sys_readlink,
                     n.I386_READLINKAT: procfd.sys_readlinkat}
_X64_FUTEX = {202: futex.sys_futex, 454: futex.sys_futex_wake}
_I386_FUTEX = {240: futex.sys_futex, 422: futex.sys_futex, 454: futex.sys_futex_wake}

# python-ptrace's i386 names stop at 319; name the newer calls we serve.
_I386_NAMES_ALL = dict(_I386_NAMES)
_I386_NAMES_ALL.update({n.IO_URING_SETUP: "io_uring_setup", n.IO_URING_ENTER: "io_uring_enter",
                        n.IO_URING_REGISTER: "io_uring_register", 414: "ppoll_time64"})

# 512 and up are x32-only numbers in the x86-64 table.
TABLES = {
    ABI_X86_64: _build(_X64_NAMES, _X64_SENTRY, _X64_DENY, 512, waits.X64_WAITS,
                        _X64_RING_TRACES, _X64_FUTEX),
    ABI_X32: _build(_X64_NAMES, _X32_SENTRY, {}, 548, waits.X64_WAITS, _X64_RING_TRACES,
                     _X64_FUTEX),
    ABI_I386: _build(_I386_NAMES_ALL, _I386_SENTRY, _I386_DENY, 470, waits.I386_WAITS,
                      _I386_RING_TRACES, _I386_FUTEX),
}


def lookup(abi, nr):
    return TABLES[abi].get(nr)


# The calls the Sentry must serve even where a container's seccomp profile
# denies them (its ERRNO would outrank our TRACE): they stop by SIGSYS there.
_MUST_SERVE = {
    ABI_X86_64: set(_IO_URING), ABI_X32: set(_IO_URING), ABI_I386: set(_IO_URING),
}


def wait_spec():
    """The filter waits.py adds to a process that has a ring: its fd waits
    stop, everything else is allowed (the first filter still decides)."""
    spec = {}
    for abi, table in TABLES.items():
        futexes = {e.nr for e in table.values() if e.disposition == FUTEX}
        wakes = {nr for nr in futexes if table[nr].handler is futex.sys_futex_wake}
        # futex(2) stops for its wake commands only (arg 1, the op).
        arg_traces = {nr: (1, futex.TRACED_OPS) for nr in futexes - wakes}
        spec[abi] = ({e.nr for e in table.values() if e.disposition == WAIT} | wakes, {}, {},
                     arg_traces, set())
    return spec


def seccomp_spec(sigsys=False, affinity=True):
    """Per-ABI (trace set, deny map, file-mmap map, arg-trace map, trap set) for
    platform.seccomp.build_filter; sigsys: io_uring_* stop by SIGSYS;
    affinity: sched_{get,set}affinity stop (a CPU placement policy is on)."""
    spec = {}
    for abi, table in TABLES.items():
        trace = {e.nr for e in table.values() if e.disposition == SENTRY}
        trace -= set(_FILE_MMAPS[abi]) | set(_ARG_TRACES[abi])
        if not affinity:
            trace -= set(_AFFINITY[abi])
        deny = {e.nr: e.errno for e in table.values() if e.disposition == DENY}
        spec[abi] = (trace, deny, _FILE_MMAPS[abi], _ARG_TRACES[abi],
                     _MUST_SERVE[abi] if sigsys else set())
    return spec
