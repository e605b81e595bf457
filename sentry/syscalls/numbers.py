"""Syscall numbers per ABI for the calls the Sentry traps or injects.

x32 uses the x86-64 numbers of 'common' syscalls with __X32_SYSCALL_BIT set
(the platform adds the bit); i386 has its own table.
"""
from pysentry.platform.task import ABI_I386, ABI_X32

AT_FDCWD = -100 & 0xFFFFFFFFFFFFFFFF

# x86-64
READ, WRITE, OPEN, CLOSE = 0, 1, 2, 3
MMAP = 9
PREAD64, PWRITE64, READV, WRITEV = 17, 18, 19, 20
DUP, DUP2 = 32, 33
FCNTL = 72
FSYNC, FDATASYNC, FTRUNCATE = 74, 75, 77
CREAT = 85
READLINK = 89
PTRACE = 101
OPENAT = 257
READLINKAT = 267
PPOLL = 271
DUP3 = 292
PREADV, PWRITEV = 295, 296
PREADV2, PWRITEV2 = 327, 328
SCHED_SETAFFINITY, SCHED_GETAFFINITY = 203, 204
IO_URING_SETUP, IO_URING_ENTER, IO_URING_REGISTER = 425, 426, 427
CLOSE_RANGE = 436
OPENAT2 = 437

# i386 (int 0x80)
I386_CLOSE = 6
I386_OLD_MMAP = 90
I386_PTRACE = 26
I386_READLINK = 85
I386_MMAP2 = 192
I386_OPENAT = 295
I386_READLINKAT = 305
I386_PPOLL_TIME64 = 414
I386_SCHED_SETAFFINITY, I386_SCHED_GETAFFINITY = 241, 242


def signed_fd(arg):
    """A syscall's int argument (an fd, AT_FDCWD) from its 64-bit register."""
    arg &= 0xFFFFFFFF
    return arg - (1 << 32) if arg & 0x80000000 else arg


def signed64(value):
    """A 64-bit register or SQE field read as the kernel's signed loff_t."""
    return value - (1 << 64) if value & (1 << 63) else value


def openat(abi):
    return I386_OPENAT if abi == ABI_I386 else OPENAT


def close(abi):
    return I386_CLOSE if abi == ABI_I386 else CLOSE


# Calls the Sentry injects on behalf of io_uring ops: (x86-64, i386) numbers.
# Numbers from 403 up are the same on every ABI.
_INJECTED = {
    "socket": (41, 359), "accept4": (288, 364), "madvise": (28, 219),
    "epoll_ctl": (233, 255), "dup3": (292, 330), "close": (3, 6), "openat": (257, 295),
    "openat2": (437, 437), "pidfd_open": (434, 434), "pidfd_getfd": (438, 438),
    "pipe2": (293, 331), "connect": (42, 362), "sendmsg": (46, 370), "recvmsg": (47, 372),
    "seccomp": (317, 354), "futex_wake": (454, 454),
    "waitid": (247, 284), "getsockopt": (55, 365), "setsockopt": (54, 366),
}
# x32 takes compat structs through numbers of its own for these.
_X32_OWN = {"sendmsg": 518, "recvmsg": 519, "waitid": 529, "setsockopt": 541,
            "getsockopt": 542}


def injected(abi, name):
    """The number of syscall `name` in the ABI the task stopped with."""
    x64, i386 = _INJECTED[name]
    if abi == ABI_I386:
        return i386
    if abi == ABI_X32:
        return _X32_OWN.get(name, x64)
    return x64


def ppoll(abi):
    # i386's ppoll takes a 32-bit timespec; ppoll_time64 takes the 64-bit one we write.
    return I386_PPOLL_TIME64 if abi == ABI_I386 else PPOLL
