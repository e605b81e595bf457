"""Thin cffi (ABI mode) bindings to the libc calls the ptrace platform needs.

Everything here is a direct wrapper of a Linux system call: ptrace(2),
process_vm_readv/writev(2), signalfd(2), pidfd_open/pidfd_getfd(2), kcmp(2),
seccomp(2) and prctl(2).  Errors are raised as OSError with the host errno so
callers can hand the errno straight back to the child where Linux would.
"""
import os
import struct

import cffi

ffi = cffi.FFI()
ffi.cdef(r"""
struct user_regs_struct {
    unsigned long r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx,
                  rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss, fs_base,
                  gs_base, ds, es, fs, gs;
};
struct ptrace_syscall_info {
    uint8_t op;
    uint8_t pad[3];
    uint32_t arch;
    uint64_t instruction_pointer;
    uint64_t stack_pointer;
    union {
        struct { uint64_t nr; uint64_t args[6]; } entry;
        struct { int64_t rval; uint8_t is_error; } exit;
        struct { uint64_t nr; uint64_t args[6]; uint32_t ret_data; } seccomp;
    };
};
struct iovec { void *iov_base; size_t iov_len; };
struct sock_filter { uint16_t code; uint8_t jt; uint8_t jf; uint32_t k; };
struct sock_fprog { unsigned short len; struct sock_filter *filter; };

long ptrace(int request, int pid, void *addr, void *data);
ssize_t process_vm_readv(int pid, const struct iovec *local, unsigned long liovcnt,
                         const struct iovec *remote, unsigned long riovcnt, unsigned long flags);
ssize_t process_vm_writev(int pid, const struct iovec *local, unsigned long liovcnt,
                          const struct iovec *remote, unsigned long riovcnt, unsigned long flags);
long syscall(long number, ...);
int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5);
int signalfd(int fd, const void *mask, int flags);
int sched_getcpu(void);
struct statfs {
    long f_type, f_bsize;
    unsigned long f_blocks, f_bfree, f_bavail, f_files, f_ffree;
    int f_fsid[2];
    long f_namelen, f_frsize, f_flags, f_spare[4];
};
int fstatfs(int fd, struct statfs *buf);
int mprotect(void *addr, size_t len, int prot);
""")
lib = ffi.dlopen(None)

# ptrace requests and options (include/uapi/linux/ptrace.h)
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_SYSCALL = 24
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_GET_SYSCALL_INFO = 0x420E

PTRACE_O_TRACESYSGOOD = 1
PTRACE_O_TRACEFORK = 1 << 1
PTRACE_O_TRACEVFORK = 1 << 2
PTRACE_O_TRACECLONE = 1 << 3
PTRACE_O_TRACEEXEC = 1 << 4
PTRACE_O_TRACEEXIT = 1 << 6
PTRACE_O_TRACESECCOMP = 1 << 7
PTRACE_O_EXITKILL = 1 << 20

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_VFORK_DONE = 5
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128

PTRACE_SYSCALL_INFO_NONE = 0
PTRACE_SYSCALL_INFO_ENTRY = 1
PTRACE_SYSCALL_INFO_EXIT = 2
PTRACE_SYSCALL_INFO_SECCOMP = 3

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_SYSCALL_BIT = 0x40000000

WALL = 0x40000000

# host syscall numbers used directly (x86-64)
SYS_KCMP = 312
SYS_SECCOMP = 317
SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438
SYS_OPENAT2 = 437
SYS_SYNC_FILE_RANGE = 277
SYS_FALLOCATE = 285
SYS_SPLICE = 275
SYS_TEE = 276
KCMP_FILES = 2

PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
SECCOMP_SET_MODE_FILTER = 1

SFD_NONBLOCK = os.O_NONBLOCK
SFD_CLOEXEC = os.O_CLOEXEC


def _check(ret):
    if ret == -1:
        err = ffi.errno
        raise OSError(err, os.strerror(err))
    return ret


def ptrace(request, pid, addr=ffi.NULL, data=ffi.NULL):
    return _check(lib.ptrace(request, pid, addr, data))


def pidfd_open_flags(pid, flags):
    return _check(lib.syscall(SYS_PIDFD_OPEN, ffi.cast("int", pid), ffi.cast("unsigned int", flags)))


def pidfd_getfd(pidfd, targetfd):
    """Duplicate the child's fd into the Sentry: same open file description."""
    return _check(lib.syscall(SYS_PIDFD_GETFD, ffi.cast("int", pidfd),
                              ffi.cast("int", targetfd), ffi.cast("unsigned int", 0)))


def openat2(dirfd, path, how):
    """openat2(2) in the Sentry; how is a packed struct open_how."""
    how_buf = ffi.from_buffer(how)
    return _check(lib.syscall(SYS_OPENAT2, ffi.cast("int", dirfd), ffi.from_buffer(path + b"\0"),
                              how_buf, ffi.cast("size_t", len(how))))


def open_how(flags, mode, resolve):
    """A packed struct open_how (OPEN_HOW_SIZE_VER0) for openat2()."""
    return struct.pack("<QQQ", flags, mode, resolve)


def _statfs(fd):
    buf = ffi.new("struct statfs *")
    _check(lib.fstatfs(fd, buf))
    return buf


def fs_type(fd):
    """The magic number of the filesystem fd lies on (statfs f_type)."""
    return _statfs(fd).f_type


def mount_flags(fd):
    """The ST_* flags of the mount fd lies on (statfs f_flags)."""
    return _statfs(fd).f_flags


STATX_MNT_ID = 0x1000
_STX_MNT_ID_OFFSET = 144       # struct statx: __u64 stx_mnt_id


def mount_id(fd):
    """The id of the mount fd lies on (statx STATX_MNT_ID), for RESOLVE_NO_XDEV."""
    raw = statx(fd, b"", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID)
    return struct.unpack_from("<Q", raw, _STX_MNT_ID_OFFSET)[0]


def sync_file_range(fd, offset, nbytes, flags):
    return _check(lib.syscall(SYS_SYNC_FILE_RANGE, ffi.cast("int", fd), ffi.cast("long", offset),
                              ffi.cast("long", nbytes), ffi.cast("unsigned int", flags)))


def fallocate(fd, mode, offset, length):
    return _check(lib.syscall(SYS_FALLOCATE, ffi.cast("int", fd), ffi.cast("int", mode),
                              ffi.cast("long", offset), ffi.cast("long", length)))


def _loff_ptr(offset):
    """A loff_t* for splice(2): NULL (use and advance the file position) for None."""
    if offset is None:
        return ffi.NULL
    ptr = ffi.new("int64_t *")
    ptr[0] = offset
    return ptr


def splice(fd_in, off_in, fd_out, off_out, length, flags):
    """splice(2); off_in/off_out None mean the files' own positions."""
    return _check(lib.syscall(SYS_SPLICE, ffi.cast("int", fd_in), _loff_ptr(off_in),
                              ffi.cast("int", fd_out), _loff_ptr(off_out),
                              ffi.cast("size_t", length), ffi.cast("unsigned int", flags)))


def tee(fd_in, fd_out, length, flags):
    """tee(2): duplicate pipe data without consuming it (not in the os module)."""
    return _check(lib.syscall(SYS_TEE, ffi.cast("int", fd_in), ffi.cast("int", fd_out),
                              ffi.cast("size_t", length), ffi.cast("unsigned int", flags)))


def kcmp_files(pid1, pid2):
    """0 when both tasks share one fd table (CLONE_FILES)."""
    return _check(lib.syscall(SYS_KCMP, ffi.cast("int", pid1), ffi.cast("int", pid2),
                              ffi.cast("int", KCMP_FILES), ffi.cast("long", 0), ffi.cast("long", 0)))


# Path and xattr calls the os module cannot make with every argument Linux
# takes (renameat2 flags, linkat AT_EMPTY_PATH, statx, a getxattr buffer size).
SYS_SETXATTR = 188
SYS_GETXATTR = 191
SYS_FGETXATTR = 193
SYS_LINKAT = 265
SYS_RENAMEAT2 = 316
SYS_STATX = 332
STATX_SIZE = 256      # sizeof(struct statx)
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000


def _cstr(path):
    return ffi.from_buffer(bytes(path) + b"\0")


def renameat2(olddirfd, oldpath, newdirfd, newpath, flags):
    return _check(lib.syscall(SYS_RENAMEAT2, ffi.cast("int", olddirfd), _cstr(oldpath),
                              ffi.cast("int", newdirfd), _cstr(newpath),
                              ffi.cast("unsigned int", flags)))


def linkat(olddirfd, oldpath, newdirfd, newpath, flags):
    return _check(lib.syscall(SYS_LINKAT, ffi.cast("int", olddirfd), _cstr(oldpath),
                              ffi.cast("int", newdirfd), _cstr(newpath), ffi.cast("int", flags)))


def statx(dirfd, path, flags, mask):
    """statx(2); returns the raw struct statx (STATX_SIZE bytes)."""
    buf = ffi.new("char[]", STATX_SIZE)
    _check(lib.syscall(SYS_STATX, ffi.cast("int", dirfd), _cstr(path), ffi.cast("int", flags),
                       ffi.cast("unsigned int", mask), buf))
    return ffi.buffer(buf, STATX_SIZE)[:]


def setxattr(path, name, value, flags):
    """setxattr(2) following symlinks; value may be empty (size 0)."""
    val = ffi.from_buffer(value) if value else ffi.NULL
    return _check(lib.syscall(SYS_SETXATTR, _cstr(path), _cstr(name), val,
                              ffi.cast("size_t", len(value)), ffi.cast("int", flags)))


def _getxattr_into(nr, target, name, size):
    buf = ffi.new("char[]", size) if size else ffi.NULL
    n = _check(lib.syscall(nr, target, _cstr(name), buf, ffi.cast("size_t", size)))
    return n, (ffi.buffer(buf, n)[:] if size else b"")


def getxattr(path, name, size):
    """getxattr(2) with the caller's buffer size: (value length, value bytes)."""
    return _getxattr_into(SYS_GETXATTR, _cstr(path), name, size)


def fgetxattr(fd, name, size):
    return _getxattr_into(SYS_FGETXATTR, ffi.cast("int", fd), name, size)


def signalfd_for(signals):
    mask = bytearray(128)
    for sig in signals:
        bit = int(sig) - 1
        mask[bit // 8] |= 1 << (bit % 8)
    buf = ffi.from_buffer(mask)
    return _check(lib.signalfd(-1, buf, SFD_NONBLOCK | SFD_CLOEXEC))


# Per-thread credential switches.  The raw syscalls change only the calling
# thread (glibc's setgroups() would broadcast to every thread), which is what
# lets the Sentry act with a child's credentials around one operation.
SYS_SETGROUPS = 116
SYS_SETFSUID = 122
SYS_SETFSGID = 123
SYS_CAPGET = 125
SYS_CAPSET = 126
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def setfsuid(uid):
    """setfsuid(2): returns the previous fsuid (it never fails visibly)."""
    return lib.syscall(SYS_SETFSUID, ffi.cast("unsigned int", uid))


def current_fsuid():
    """The calling thread's fsuid: setfsuid(-1) changes nothing and returns it."""
    return setfsuid(0xFFFFFFFF)


def setfsgid(gid):
    return lib.syscall(SYS_SETFSGID, ffi.cast("unsigned int", gid))


def setgroups_thread(groups):
    arr = ffi.new("unsigned int[]", list(groups) or [0])
    return _check(lib.syscall(SYS_SETGROUPS, ffi.cast("size_t", len(groups)), arr))


def capget_thread():
    """(effective, permitted, inheritable) of the calling thread, 64-bit masks."""
    head = ffi.new("uint32_t[2]", [_LINUX_CAPABILITY_VERSION_3, 0])
    data = ffi.new("uint32_t[6]")
    _check(lib.syscall(SYS_CAPGET, head, data))
    return tuple(data[i] | data[i + 3] << 32 for i in range(3))


def capset_thread(effective, permitted, inheritable):
    head = ffi.new("uint32_t[2]", [_LINUX_CAPABILITY_VERSION_3, 0])
    words = []
    for mask in (effective, permitted, inheritable):
        words.append(mask & 0xFFFFFFFF)
    for mask in (effective, permitted, inheritable):
        words.append(mask >> 32 & 0xFFFFFFFF)
    data = ffi.new("uint32_t[6]", words)
    return _check(lib.syscall(SYS_CAPSET, head, data))
