"""The seccomp-BPF filter that decides which child syscalls stop in the Sentry.

Installed in the child just before execve.  Per syscall ABI (x86-64, x32 and
i386 via int 0x80) it returns one of:
  * SECCOMP_RET_TRACE  -- the Sentry services (or inspects) the call;
  * SECCOMP_RET_TRAP   -- likewise, for calls another filter may deny: when
    the Sentry itself runs under a seccomp filter (a container's), that
    filter is stacked on the child's too and the kernel takes the action of
    highest precedence, where ERRNO outranks TRACE but TRAP outranks ERRNO.
    The child then stops with a SIGSYS the Sentry serves and suppresses
    (tracer.Tracer._on_sigsys); SIGSYS_DATA tells it from a SIGSYS of the
    program's own filters;
  * SECCOMP_RET_ERRNO  -- the call is denied without a round trip;
  * SECCOMP_RET_ALLOW  -- the host kernel runs it directly (no stop at all).
A binary of any other architecture is killed: the Sentry cannot vouch for it.
Only syscalls that need the Sentry stop, which is what keeps pass-through
syscalls at native speed.
"""
import struct

from pysentry.platform import libc

# BPF instruction classes (include/uapi/linux/filter.h)
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JSET_K = 0x45
_RET_K = 0x06

SECCOMP_SET_MODE_FILTER = 1
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_TRAP = 0x00030000
RET_TRACE = 0x7FF00000
SIGSYS_DATA = 0x5E57      # SECCOMP_RET_DATA of our traps: si_errno of the SIGSYS
RET_ALLOW = 0x7FFF0000

# struct seccomp_data offsets
_OFF_NR = 0
_OFF_ARCH = 4


def _arg_lo(i):
    return 16 + 8 * i


class Program:
    """A tiny BPF assembler: straight-line code, forward jumps by label."""

    def __init__(self):
        self.insns = []     # [code, jt, jf, k] with jt/jf possibly labels
        self.labels = {}

    def label(self, name):
        self.labels[name] = len(self.insns)

    def emit(self, code, k=0, jt=0, jf=0):
        self.insns.append([code, jt, jf, k])

    def assemble(self):
        out = []
        for pc, (code, jt, jf, k) in enumerate(self.insns):
            def rel(target):
                if isinstance(target, str):
                    off = self.labels[target] - pc - 1
                    if not 0 <= off <= 255:
                        raise ValueError("BPF jump out of range")
                    return off
                return target
            out.append(struct.pack("<HBBI", code, rel(jt), rel(jf), k))
        return b"".join(out)


def _emit_table(prog, prefix, trace, deny, file_mmaps, arg_traces, trap=(), nr_offset=0):
    """Compare the loaded syscall number against each entry of one ABI's table."""
    for nr, (arg, values) in sorted(arg_traces.items()):
        # Stop only when one argument has one of a few values (fcntl's dup
        # commands), so the call's other uses keep native speed.
        skip = "%s_arg%d" % (prefix, nr)
        prog.emit(_JEQ_K, nr + nr_offset, 0, skip)
        prog.emit(_LD_W_ABS, _arg_lo(arg))
        for v in values:
            prog.emit(_JEQ_K, v, "%s_tr" % skip, 0)
        prog.emit(_RET_K, RET_ALLOW)
        prog.label("%s_tr" % skip)
        prog.emit(_RET_K, RET_TRACE)
        prog.label(skip)
        prog.emit(_LD_W_ABS, _OFF_NR)
    for nr, arg in sorted(file_mmaps.items()):
        # mmap of a file (not MAP_ANONYMOUS) may target an io_uring ring.
        skip = "%s_mm%d" % (prefix, nr)
        prog.emit(_JEQ_K, nr + nr_offset, 0, skip)
        prog.emit(_LD_W_ABS, _arg_lo(arg))
        prog.emit(_JSET_K, 0x20, 0, 1)          # MAP_ANONYMOUS
        prog.emit(_RET_K, RET_ALLOW)
        prog.emit(_RET_K, RET_TRACE)
        prog.label(skip)
    for nr in sorted(trace):
        prog.emit(_JEQ_K, nr + nr_offset, 0, 1)
        prog.emit(_RET_K, RET_TRAP | SIGSYS_DATA if nr in trap else RET_TRACE)
    for nr, err in sorted(deny.items()):
        prog.emit(_JEQ_K, nr + nr_offset, 0, 1)
        prog.emit(_RET_K, RET_ERRNO | (err & 0xFFFF))
    prog.emit(_RET_K, RET_ALLOW)


def build_filter(abis):
    """abis: {'x86_64'|'x32'|'i386': (trace_set, deny_map, file_mmap_map, arg_trace_map
    [, trap_set])}; trap_set, a subset of trace_set, stops by SIGSYS instead.

    file_mmap_map maps an mmap syscall number to the index of its flags arg;
    arg_trace_map maps a syscall number to (arg index, values): it stops only
    when that argument's low 32 bits equal one of the values.
    """
    prog = Program()
    prog.emit(_LD_W_ABS, _OFF_ARCH)
    prog.emit(_JEQ_K, libc.AUDIT_ARCH_X86_64, "x86_64", 0)
    prog.emit(_JEQ_K, libc.AUDIT_ARCH_I386, "i386", 0)
    prog.emit(_RET_K, RET_KILL_PROCESS)

    prog.label("x86_64")
    prog.emit(_LD_W_ABS, _OFF_NR)
    prog.emit(_JSET_K, libc.X32_SYSCALL_BIT, "x32", 0)
    _emit_table(prog, "x64", *abis["x86_64"])

    prog.label("x32")
    # The number still carries __X32_SYSCALL_BIT; compare against nr|bit.
    _emit_table(prog, "x32", *abis["x32"], nr_offset=libc.X32_SYSCALL_BIT)

    prog.label("i386")
    prog.emit(_LD_W_ABS, _OFF_NR)
    _emit_table(prog, "i386", *abis["i386"])
    return prog.assemble()


def install(filter_bytes):
    """Install the filter in the calling process (the child, before execve)."""
    ffi, lib = libc.ffi, libc.lib
    n = len(filter_bytes) // 8
    buf = ffi.new("char[]", filter_bytes)
    fprog = ffi.new("struct sock_fprog *")
    fprog.len = n
    fprog.filter = ffi.cast("struct sock_filter *", buf)
    if lib.prctl(libc.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ffi.errno, "prctl(NO_NEW_PRIVS)")
    ret = lib.syscall(libc.SYS_SECCOMP, ffi.cast("unsigned int", libc.SECCOMP_SET_MODE_FILTER),
                      ffi.cast("unsigned int", 0), fprog)
    if ret != 0:
        raise OSError(ffi.errno, "seccomp(SET_MODE_FILTER)")
