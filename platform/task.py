"""One traced thread: its registers, its syscall-stop info and how it is resumed.

The platform knows three syscall ABIs on x86-64; each reads its arguments from
different registers (arch/x86/entry: rdi,rsi,rdx,r10,r8,r9 for the 64-bit and
x32 ABIs, ebx,ecx,edx,esi,edi,ebp for int 0x80).  A stopped task keeps a cached
copy of its registers for the duration of one stop.
"""
from pysentry.platform import libc
from pysentry.platform.libc import ffi

ABI_X86_64 = "x86_64"
ABI_X32 = "x32"
ABI_I386 = "i386"

_ARG_REGS = {
    ABI_X86_64: ("rdi", "rsi", "rdx", "r10", "r8", "r9"),
    ABI_X32: ("rdi", "rsi", "rdx", "r10", "r8", "r9"),
    ABI_I386: ("rbx", "rcx", "rdx", "rsi", "rdi", "rbp"),
}
_U64 = (1 << 64) - 1
_REGS_SIZE = ffi.sizeof("struct user_regs_struct")
_INFO_SIZE = ffi.cast("void *", ffi.sizeof("struct ptrace_syscall_info"))


class SyscallStop:
    """What a task is asking for at a seccomp or syscall stop."""

    __slots__ = ("op", "abi", "nr", "args", "rval", "sp", "ip")

    def __init__(self, info):
        self.op = info.op
        self.sp = info.stack_pointer
        self.ip = info.instruction_pointer
        self.rval = None
        self.nr = -1
        self.args = ()
        if info.arch == libc.AUDIT_ARCH_I386:
            self.abi = ABI_I386
        else:
            self.abi = ABI_X86_64
        if info.op == libc.PTRACE_SYSCALL_INFO_SECCOMP:
            nr = info.seccomp.nr
            self.args = tuple(info.seccomp.args)
        elif info.op == libc.PTRACE_SYSCALL_INFO_ENTRY:
            nr = info.entry.nr
            self.args = tuple(info.entry.args)
        elif info.op == libc.PTRACE_SYSCALL_INFO_EXIT:
            nr = -1
            self.rval = info.exit.rval
        else:
            nr = -1
        if self.abi == ABI_X86_64 and nr >= 0 and nr & libc.X32_SYSCALL_BIT:
            self.abi = ABI_X32
            nr &= ~libc.X32_SYSCALL_BIT
        self.nr = nr


def seccomp_stop(arch, nr, args, ip, sp):
    """A SyscallStop at a seccomp stop from plain values (native/trap.c read
    them), without the field-by-field reads of a cffi struct."""
    stop = SyscallStop.__new__(SyscallStop)
    stop.op = libc.PTRACE_SYSCALL_INFO_SECCOMP
    stop.sp = sp
    stop.ip = ip
    stop.rval = None
    stop.args = args
    if arch == libc.AUDIT_ARCH_I386:
        stop.abi = ABI_I386
    elif nr & libc.X32_SYSCALL_BIT:
        stop.abi = ABI_X32
        nr &= ~libc.X32_SYSCALL_BIT
    else:
        stop.abi = ABI_X86_64
    stop.nr = nr
    return stop


_SIGINFO_SIZE = 128
_SYS_SECCOMP = 1           # si_code of a SIGSYS sent by SECCOMP_RET_TRAP


class SigsysStop:
    """A syscall that stopped by SIGSYS (SECCOMP_RET_TRAP), read from the
    siginfo and the registers: the same fields as a SyscallStop at a seccomp
    stop.  The kernel rolled the syscall back (syscall_rollback()), so the
    registers still hold its number and arguments, and the instruction
    pointer is just past the syscall instruction."""

    __slots__ = ("op", "abi", "nr", "args", "rval", "sp", "ip", "data")

    def __init__(self, raw, regs):
        signo, data, code = (int.from_bytes(raw[i:i + 4], "little", signed=True)
                             for i in (0, 4, 8))
        self.data = data if code == _SYS_SECCOMP else None
        nr = int.from_bytes(raw[24:28], "little", signed=True)
        arch = int.from_bytes(raw[28:32], "little")
        self.op = libc.PTRACE_SYSCALL_INFO_SECCOMP
        self.rval = None
        self.sp, self.ip = regs.rsp, regs.rip
        self.abi = ABI_I386 if arch == libc.AUDIT_ARCH_I386 else ABI_X86_64
        if self.abi == ABI_X86_64 and nr >= 0 and nr & libc.X32_SYSCALL_BIT:
            self.abi = ABI_X32
            nr &= ~libc.X32_SYSCALL_BIT
        self.nr = nr
        mask = 0xFFFFFFFF if self.abi == ABI_I386 else _U64
        self.args = tuple(getattr(regs, name) & mask for name in _ARG_REGS[self.abi])


class PtraceTask:
    """A thread of the child as the tracer sees it."""

    def __init__(self, tid, tgid):
        self.tid = tid
        self.tgid = tgid
        self.alive = True
        self.exiting = False       # stopped at PTRACE_EVENT_EXIT: no longer an heir
        self._info = ffi.new("struct ptrace_syscall_info *")
        self._regs = ffi.new("struct user_regs_struct *")
        self.regs_valid = False
        # Injection state (see tracer.Tracer): an active handler coroutine.
        self.coro = None
        self.saved_regs = None
        self.injected = False
        self.after_exit = None     # tracer.PassThenCall: run at the syscall's exit stop
        self.in_wait = False       # the injected syscall is a wait (InjectSyscall.wait)
        self.inject_ip = 0         # where injected syscalls run (a syscall instruction)
        # (address, ABI) of a syscall instruction this thread ran, for
        # injecting at a stop that is not a syscall (an interrupt)
        self.syscall_insn = None
        self.wake_pending = False  # Tracer.wake() asked to cut that wait short
        self.stop_abi = ABI_X86_64
        # CPU placement (platform/placement.py): the mask Linux would give the
        # thread, the narrower one the host has instead (None: the same), and
        # how many times it stopped.
        self.affinity = frozenset()
        self.host_affinity = None
        self.stops = 0
        # The C trap step's view of the thread (tracer.enable_trap_step):
        # its struct ps_ttask and the fd map it was given.
        self.ctrap = None
        self.ctrap_map = None

    # --- stop inspection -------------------------------------------------
    def syscall_stop(self):
        libc.ptrace(libc.PTRACE_GET_SYSCALL_INFO, self.tid,
                    _INFO_SIZE, self._info)
        return SyscallStop(self._info)

    def regs(self):
        if not self.regs_valid:
            libc.ptrace(libc.PTRACE_GETREGS, self.tid, ffi.NULL, self._regs)
            self.regs_valid = True
        return self._regs

    def set_regs(self, regs=None):
        if regs is not None and regs != self._regs:
            ffi.memmove(self._regs, regs, _REGS_SIZE)
        libc.ptrace(libc.PTRACE_SETREGS, self.tid, ffi.NULL, self._regs)
        self.regs_valid = True

    def copy_regs(self):
        r = ffi.new("struct user_regs_struct *")
        ffi.memmove(r, self.regs(), _REGS_SIZE)
        return r

    def siginfo(self):
        """The raw siginfo of the signal this task is stopped for."""
        buf = ffi.new("char[]", _SIGINFO_SIZE)
        libc.ptrace(libc.PTRACE_GETSIGINFO, self.tid, ffi.NULL, buf)
        return ffi.buffer(buf, _SIGINFO_SIZE)[:]

    def event_msg(self):
        out = ffi.new("unsigned long *")
        libc.ptrace(libc.PTRACE_GETEVENTMSG, self.tid, ffi.NULL, out)
        return out[0]

    @staticmethod
    def load_syscall(regs, abi, nr, args):
        """Point `regs` at syscall `nr` with `args` for the given ABI."""
        if abi == ABI_X32:
            nr |= libc.X32_SYSCALL_BIT
        regs.orig_rax = nr
        regs.rax = nr
        for name, value in zip(_ARG_REGS[abi], args):
            setattr(regs, name, value & _U64)

    # --- resuming ----------------------------------------------------------
    def _resume(self, request, sig):
        self.regs_valid = False
        libc.ptrace(request, self.tid, ffi.NULL, ffi.cast("void *", sig))

    def resume(self, sig=0):
        """Continue; stop again at syscall exit while an injection is under way."""
        self._resume(libc.PTRACE_SYSCALL if self.coro is not None else libc.PTRACE_CONT, sig)

    def listen(self):
        self.regs_valid = False
        libc.ptrace(libc.PTRACE_LISTEN, self.tid)

    def interrupt(self):
        try:
            libc.ptrace(libc.PTRACE_INTERRUPT, self.tid)
        except OSError:
            pass   # already gone

    def set_result(self, value):
        """Skip the syscall at a seccomp stop, making it return `value`."""
        regs = self.regs()
        regs.orig_rax = _U64
        regs.rax = value & _U64
        self.set_regs()
