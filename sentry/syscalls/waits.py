"""poll, select and epoll waits of a process that has an io_uring.

The program's ring fd is an eventfd the Sentry keeps readable while the
ring has CQEs (iouring/ready.py), but the program reaps CQEs by moving the
CQ head in shared memory, which the Sentry cannot see.  So, in a process
that has created a ring, the Sentry stops at the entry of every wait on
fds, brings its rings' readiness up to date, and lets the host run the wait
unchanged: a wait never sees a ring readable with nothing to reap, and a
later completion wakes it through the eventfd, as io_cqring_wake() does.

Other processes never pay for this: the waits are not in pysentry's first
seccomp filter.  At a process's first io_uring_setup the Sentry has the
thread add a second filter that traces just these calls
(seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC) injected, so
every thread of the process gets it; children inherit it across fork and
exec, as they inherit the first).  The same filter stops futex(2)'s wake
commands and futex_wake(2), for io_uring's futex ops (syscalls/futex.py).
"""
import struct

from pysentry.platform import seccomp
from pysentry.platform.task import ABI_X86_64
from pysentry.platform.tracer import PASSTHROUGH, InjectSyscall
from pysentry.sentry.syscalls.numbers import injected

SECCOMP_FILTER_FLAG_TSYNC = 1

# Waits on fds, per ABI (x32 uses the x86-64 numbers).
X64_WAITS = {7: "poll", 23: "select", 270: "pselect6", 271: "ppoll", 232: "epoll_wait",
             281: "epoll_pwait", 441: "epoll_pwait2"}
I386_WAITS = {168: "poll", 82: "select", 142: "_newselect", 308: "pselect6", 309: "ppoll",
              413: "pselect6_time64", 414: "ppoll_time64", 256: "epoll_wait",
              319: "epoll_pwait", 441: "epoll_pwait2"}


def sys_wait(kernel, task, stop):
    kernel.io_uring.refresh_readiness()
    return PASSTHROUGH


def trace_waits(kernel, task):
    """Generator (task stopped in the Sentry): add the wait-tracing filter to
    task's process once.  A failure (a program
    whose threads run other filters, TSYNC refused) leaves the waits
    untraced: ring readiness is then refreshed only at io_uring_enter."""
    if task.tgid in kernel.waits_traced:
        return
    from pysentry.sentry.syscalls import table
    kernel.waits_traced.add(task.tgid)
    prog = seccomp.build_filter(table.wait_spec())
    n = len(prog) // 8
    if task.stop_abi == ABI_X86_64:
        head = struct.Struct("<H6xQ")           # struct sock_fprog
    else:
        head = struct.Struct("<HxxI")           # struct compat_sock_fprog (x32, i386)
    base = task.scratch(head.size + len(prog))
    if task.stop_abi != ABI_X86_64 and base + head.size + len(prog) > 0xFFFFFFFF:
        return      # a 64-bit program's int 0x80 call: no 32-bit pointer to give
    task.mem.write(base, head.pack(n, base + head.size) + prog)
    yield InjectSyscall(injected(task.stop_abi, "seccomp"), seccomp.SECCOMP_SET_MODE_FILTER,
                        SECCOMP_FILTER_FLAG_TSYNC, base)
