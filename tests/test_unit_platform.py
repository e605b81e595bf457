"""Unit tests for the platform pieces that need no child: the seccomp filter
assembler, the syscall table, and that the layout never shadows the stdlib."""
import os
import struct
import subprocess
import sys

from pysentry.platform import libc, seccomp
from pysentry.platform.task import ABI_I386, ABI_X32, ABI_X86_64
from pysentry.sentry.syscalls import table

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_io_uring_is_served_by_the_sentry_on_every_abi():
    for abi in (ABI_X86_64, ABI_X32, ABI_I386):
        for nr in (425, 426, 427):
            assert table.lookup(abi, nr).disposition == table.SENTRY, (abi, nr)


def test_every_x86_64_number_has_one_declared_handling():
    t = table.TABLES[ABI_X86_64]
    assert sorted(t) == list(range(512))
    assert {e.disposition for e in t.values()} == {table.SENTRY, table.HOST, table.DENY,
                                                    table.WAIT, table.FUTEX}
    assert t[101].disposition == table.DENY and t[101].name == "ptrace"
    # fd waits, and readlink for ring fds' /proc names, stop only in
    # processes that have a ring (syscalls/waits.py, syscalls/procfd.py)
    assert {nr for nr, e in t.items() if e.disposition == table.WAIT} == {
        7, 23, 232, 270, 271, 281, 441, 89, 267}
    # futex(2) and futex_wake(2) wakes stop in the same second filter (syscalls/futex.py)
    assert {nr for nr, e in t.items() if e.disposition == table.FUTEX} == {202, 454}


def test_the_wait_filter_traces_waits_and_allows_the_rest():
    prog = seccomp.build_filter(table.wait_spec())
    assert _run_bpf(prog, 232, libc.AUDIT_ARCH_X86_64) == seccomp.RET_TRACE       # epoll_wait
    assert _run_bpf(prog, 7, libc.AUDIT_ARCH_X86_64) == seccomp.RET_TRACE         # poll
    assert _run_bpf(prog, 0, libc.AUDIT_ARCH_X86_64) == seccomp.RET_ALLOW         # read
    assert _run_bpf(prog, 267, libc.AUDIT_ARCH_X86_64) == seccomp.RET_TRACE       # readlinkat
    assert _run_bpf(prog, 168, libc.AUDIT_ARCH_I386) == seccomp.RET_TRACE         # i386 poll
    # futex(2) stops for its wake commands only; futex_wake(2) always
    assert _run_bpf(prog, 202, libc.AUDIT_ARCH_X86_64, (0, 129, 0, 0, 0, 0)) == seccomp.RET_TRACE
    assert _run_bpf(prog, 202, libc.AUDIT_ARCH_X86_64, (0, 10, 0, 0, 0, 0)) == seccomp.RET_TRACE
    assert _run_bpf(prog, 202, libc.AUDIT_ARCH_X86_64, (0, 128, 0, 0, 0, 0)) == seccomp.RET_ALLOW
    assert _run_bpf(prog, 454, libc.AUDIT_ARCH_X86_64) == seccomp.RET_TRACE
    assert _run_bpf(prog, 240, libc.AUDIT_ARCH_I386, (0, 1, 0, 0, 0, 0)) == seccomp.RET_TRACE


def _run_bpf(prog, nr, arch, args=(0,) * 6):
    """A tiny interpreter for the instructions our assembler emits."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    insns = [struct.unpack_from("<HBBI", prog, i) for i in range(0, len(prog), 8)]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x15:
            pc += jt if acc == k else jf
        elif code == 0x45:
            pc += jt if acc & k else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError("unexpected BPF opcode %#x" % code)


def test_filter_traps_io_uring_on_all_abis_and_allows_the_rest():
    prog = seccomp.build_filter(table.seccomp_spec())
    x64, i386 = 0xC000003E, 0x40000003
    for nr in (425, 426, 427):
        assert _run_bpf(prog, nr, x64) == seccomp.RET_TRACE
        assert _run_bpf(prog, nr | 0x40000000, x64) == seccomp.RET_TRACE
        assert _run_bpf(prog, nr, i386) == seccomp.RET_TRACE
    assert _run_bpf(prog, 39, x64) == seccomp.RET_ALLOW           # getpid
    assert _run_bpf(prog, 101, x64) == seccomp.RET_ERRNO | 1      # ptrace -> EPERM
    assert _run_bpf(prog, 0, 0xC00000B7) == seccomp.RET_KILL_PROCESS   # aarch64


def test_filter_stops_file_mmaps_only():
    prog = seccomp.build_filter(table.seccomp_spec())
    x64 = 0xC000003E
    anon = (0, 4096, 3, 0x22, 0xFFFFFFFF, 0)      # MAP_PRIVATE|MAP_ANONYMOUS
    shared = (0, 4096, 3, 0x01, 3, 0)             # MAP_SHARED of fd 3
    assert _run_bpf(prog, 9, x64, anon) == seccomp.RET_ALLOW
    assert _run_bpf(prog, 9, x64, shared) == seccomp.RET_TRACE


def test_stdlib_platform_is_not_shadowed_from_the_repo_root():
    out = subprocess.run([sys.executable, "-c", "import platform; print(platform.system())"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Linux"


def test_c_copy_path_is_built_and_used():
    from pysentry import native as native_io
    from pysentry.vfs import file as vfsfile
    assert native_io.lib is not None, "the C hot path failed to build"
    assert vfsfile._BOUNCE is not None
