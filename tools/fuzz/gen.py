"""Generate a random but reproducible io_uring program from a seed, as a
script for tools/fuzz/interp.c (steps: tests/c/fuzzlib.h).

Ops are drawn from those both Linux and pysentry implement (opcodes pysentry
lacks -- URING_CMD, WAITID, FUTEX_*, RECV_ZC, EPOLL_WAIT, READV/WRITEV_FIXED,
NOP128 -- would only show that, and are listed in docs/io_uring.md).  Each
field is either plausible for the op or wild (bad fds, bad pointers, huge
lengths, reserved fields set), with links, hardlinks, drain, skip-success,
async, fixed files and buffer select among the flags.

Two things are kept tame on purpose, because the fuzzer runs as root on a
shared machine: a path only ever comes from the arena's path area (relative
names of letters, so nothing outside the program's scratch directory is
touched), and madvise/fallocate/ftruncate/write offsets stay small enough not
to poison pages or fill the disk.
"""
import random

# Arena layout (fuzzlib.h)
DATA, IOV, PATHS, TS, FDARR, SCRATCH, ARENA = 0, 16384, 17408, 18432, 19456, 20480, 65536
LIT = 1 << 40                 # an addr spec at or above this is a literal value
BAD_ADDRS = [-1, -2, -3, -4, -5]
NFDS = 13
FD_FILE, FD_RDONLY, FD_PIPE_R, FD_PIPE_W, FD_SOCK0, FD_SOCK1, FD_EVENTFD, FD_NULL, FD_DIR, \
    FD_RING, FD_MINUS1, FD_CLOSED, FD_CWD = range(NFDS)

IOSQE_FIXED_FILE, IOSQE_IO_DRAIN, IOSQE_IO_LINK, IOSQE_IO_HARDLINK, IOSQE_ASYNC, \
    IOSQE_BUFFER_SELECT, IOSQE_CQE_SKIP_SUCCESS = (1 << i for i in range(7))

SETUP_FLAGS = [0x1, 0x2, 0x8, 0x10, 0x40, 0x80, 0x100, 0x200, 0x1000, 0x3000, 0x10000]
REGISTER_OPS = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 22, 23, 24, 25, 26]
SAFE_MADVISE = [0, 1, 2, 3, 4, 8, 10, 11, 14, 15, 16, 17, 20, 21, 999]

RW = {1, 2, 4, 5, 22, 23}          # READV WRITEV READ_FIXED WRITE_FIXED READ WRITE
PATH_OPS = {18, 21, 28, 35, 36, 37, 38, 39, 42, 44}
OPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
       24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
       47, 48, 49, 54, 55, 56, 57]
# Weights: the common ops more often.
HOT = [22, 23, 1, 2, 6, 7, 11, 12, 14, 15, 0, 26, 27, 30, 31, 19, 18, 3, 4, 5]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.ud = 0
        self.lines = []

    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    def fd(self, kinds=None):
        r = self.r.random()
        if r < 0.8 and kinds:
            return self.pick(kinds)
        if r < 0.9:
            return self.r.randrange(NFDS)
        return 100 + self.pick([0, 1, 2, 3, 7, 200, 1000, 2 ** 31 - 1, 2 ** 32 - 1])

    def addr(self, area=None, span=1024):
        if self.chance(0.12):
            return self.pick(BAD_ADDRS)
        if area is None or self.chance(0.05):
            return SCRATCH + self.r.randrange(0, ARENA - SCRATCH, 8)
        return area + self.r.randrange(0, span, 8)

    def length(self, typical=512):
        r = self.r.random()
        if r < 0.75:
            return self.r.randrange(0, typical + 1)
        if r < 0.85:
            return 0
        return self.pick([4096, 65536, 2 ** 20, 2 ** 31 - 1, 2 ** 32 - 1])

    def offaddr(self, area, span=256):
        """An address in sqe->off (the addr2 union): encoded as 1 << 62 plus
        the address spec + 16 (so the bad-pointer specs -1..-5 fit)."""
        spec = self.addr(area, span)
        return (1 << 62) + spec + 16

    def literal(self, value):
        return LIT + value

    def flags(self):
        f = 0
        for bit, p in ((IOSQE_IO_LINK, 0.15), (IOSQE_IO_HARDLINK, 0.05), (IOSQE_IO_DRAIN, 0.05),
                       (IOSQE_ASYNC, 0.1), (IOSQE_CQE_SKIP_SUCCESS, 0.07),
                       (IOSQE_BUFFER_SELECT, 0.05), (IOSQE_FIXED_FILE, 0.08)):
            if self.chance(p):
                f |= bit
        if self.chance(0.02):
            f |= 1 << self.r.randrange(7, 8)      # a reserved flag bit
        return f

    # -- one SQE ------------------------------------------------------------
    def sqe(self, op=None, flags=None):
        r = self.r
        if op is None:
            op = self.pick(HOT) if self.chance(0.6) else self.pick(OPS)
        flags = self.flags() if flags is None else flags
        self.ud += 1
        ud = self.ud
        fd, off, addr, length, rw, bi, pers, splice, addr3, ioprio = \
            FD_FILE, 0, -1, 0, 0, 0, 0, 0, 0, 0
        if op in RW:
            fd = self.fd([FD_FILE, FD_RDONLY, FD_PIPE_R, FD_PIPE_W, FD_SOCK0, FD_SOCK1,
                          FD_NULL, FD_EVENTFD])
            if flags & IOSQE_FIXED_FILE:
                fd = 100 + r.randrange(4)
            off = self.pick([0, r.randrange(0, 16384), 2 ** 64 - 1, r.randrange(0, 2 ** 20)])
            if op in (1, 2):
                addr = self.addr(IOV, 256)
                length = r.randrange(0, 5) if self.chance(0.85) else self.pick([1025, 2 ** 31])
            else:
                addr = self.addr(SCRATCH if op in (4, 22) else DATA, 16384)
                length = self.length(600)
                if op == 23 and off > 2 ** 30 and off != 2 ** 64 - 1:
                    off = 2 ** 20
            if op in (4, 5):
                bi = r.randrange(0, 3) if self.chance(0.9) else 1000
            if flags & IOSQE_BUFFER_SELECT:
                bi = r.randrange(0, 3)
                addr = -1
            rw = 0 if self.chance(0.85) else self.pick([1, 2, 4, 8, 16, 32, 0x80000000])
        elif op == 6:                       # POLL_ADD
            fd = self.fd([FD_PIPE_R, FD_PIPE_W, FD_SOCK0, FD_SOCK1, FD_EVENTFD, FD_FILE, FD_RING])
            rw = self.pick([1, 4, 1 | 4, 0x10, 0x2000, 1 << 31 | 1]) if self.chance(0.9) else r.getrandbits(32)
            length = 0 if self.chance(0.8) else self.pick([1, 2, 4, 8, 16])   # multishot/update/level
        elif op in (7, 12, 14):             # POLL_REMOVE TIMEOUT_REMOVE ASYNC_CANCEL
            fd = self.fd([FD_MINUS1, FD_PIPE_R, FD_FILE])
            addr = self.literal(r.randrange(0, self.ud + 2))
            length = 0 if self.chance(0.8) else r.randrange(0, 4)
            rw = 0 if self.chance(0.6) else self.pick([1, 2, 4, 8, 16, 32, 64, 1 << 20])
            if op == 12 and rw & 2:       # TIMEOUT_UPDATE: the new timespec
                off = self.offaddr(TS, 80)
            fd = fd if op == 14 else self.pick([FD_MINUS1, FD_FILE])
        elif op in (11, 15):                # TIMEOUT LINK_TIMEOUT
            fd = FD_MINUS1
            addr = TS + 16 * r.choice([0, 0, 1, 1, 2, 3, 4]) if self.chance(0.9) else self.addr()
            length = 1 if self.chance(0.9) else r.randrange(0, 3)
            off = 0 if self.chance(0.7) else r.randrange(0, 4)
            rw = 0 if self.chance(0.7) else self.pick([1, 4, 8, 32, 64, 1 << 10])
        elif op in (3, 8, 17, 24, 55):      # FSYNC SYNC_FILE_RANGE FALLOCATE FADVISE FTRUNCATE
            fd = self.fd([FD_FILE, FD_RDONLY, FD_PIPE_R, FD_NULL])
            off = r.randrange(0, 1 << 20)
            length = r.randrange(0, 1 << 16)
            addr = -1
            if op == 17:
                addr = self.literal(r.randrange(0, 1 << 20))      # fallocate's len
                rw = 0
                length = self.pick([0, 1, 3, 0x10, 0x20])          # mode
            elif op == 55:
                off = r.randrange(0, 1 << 20) if self.chance(0.9) else 2 ** 63
            elif op == 24:
                rw = r.randrange(0, 7)
            elif op == 3:
                rw = self.pick([0, 1, 2])
        elif op == 25:                      # MADVISE: arena only, safe advice
            fd = FD_MINUS1
            addr = self.pick([DATA, SCRATCH, 4096 * r.randrange(16), -2])
            length = self.pick([0, 4096, 8192, 4097])
            rw = self.pick(SAFE_MADVISE)
        elif op in (9, 10, 26, 27, 47, 48):   # SENDMSG RECVMSG SEND RECV SEND_ZC SENDMSG_ZC
            fd = self.fd([FD_SOCK0, FD_SOCK1, FD_PIPE_R, FD_FILE])
            addr = self.addr(DATA if op in (26, 47) else SCRATCH, 4096)
            length = self.length(256)
            rw = 0 if self.chance(0.7) else self.pick([0x40, 0x2, 0x100, 0x4000])   # DONTWAIT PEEK WAITALL
            ioprio = 0 if self.chance(0.8) else self.pick([1, 2, 4, 8])
            if flags & IOSQE_BUFFER_SELECT:
                bi = r.randrange(0, 3)
                addr = -1
        elif op in (30, 33):                # SPLICE TEE
            fd = self.fd([FD_FILE, FD_PIPE_W, FD_SOCK0])
            splice = self.pick([FD_PIPE_R, FD_PIPE_W, FD_FILE, FD_SOCK1])
            length = self.length(4096)
            off = self.pick([0, 2 ** 64 - 1, 100])
            addr = self.literal(self.pick([0, 2 ** 64 - 1, 50]))
            rw = self.pick([0, 0, 1, 2, 4, 1 << 31])
        elif op == 31:                      # PROVIDE_BUFFERS
            fd = 100 + r.randrange(0, 5)      # nbufs
            addr = self.addr(SCRATCH, 4096)
            length = self.pick([64, 128, 0, 4096])
            off = r.randrange(0, 4)           # first bid
            bi = r.randrange(0, 3)            # group
        elif op == 32:                      # REMOVE_BUFFERS
            fd = 100 + r.randrange(0, 5)
            bi = r.randrange(0, 3)
            addr = -1
        elif op == 19:                      # CLOSE
            fd = self.fd([FD_NULL, FD_EVENTFD, FD_CLOSED, FD_RING])
            if flags & IOSQE_FIXED_FILE or self.chance(0.2):
                splice = 100 + r.randrange(0, 4)
                fd = 100
        elif op in PATH_OPS:
            fd = self.fd([FD_DIR, FD_CWD, FD_FILE, FD_CLOSED])
            addr = PATHS + 32 * r.randrange(8) if self.chance(0.9) else self.pick(BAD_ADDRS)
            if op in (35, 38, 39):            # RENAMEAT SYMLINKAT LINKAT: second path in addr2
                off = (1 << 62) + 16 + (PATHS + 32 * r.randrange(8) if self.chance(0.9)
                                        else self.pick(BAD_ADDRS))
                length = self.pick([FD_DIR, FD_CWD])       # the second dirfd
                length = {FD_DIR: 0, FD_CWD: 0xFFFFFF9C}[length] if False else 0xFFFFFF9C
                rw = self.pick([0, 0, 1, 2, 4, 0x400])
            if op in (18, 28):                # OPENAT OPENAT2
                rw = self.pick([0, 1, 2, 0o100 | 2, 0o100 | 0o200 | 1, 0o200000, 0o10000000,
                                0o1000 | 2, r.getrandbits(32)])
                length = self.pick([0o644, 0, 0o7777]) if op == 18 else self.pick([24, 0, 8, 4096])
                if op == 28:
                    off = self.offaddr(FDARR, 64)   # open_how: the fd array's bytes
                if self.chance(0.2):
                    splice = 100 + r.randrange(0, 5)   # file_index: a direct descriptor
            elif op == 21:                    # STATX
                rw = self.pick([0, 0x100, 0x1000, 0x800, r.getrandbits(32)])
                length = self.pick([0xfff, 0x7ff, 0])
                off = self.offaddr(SCRATCH, 4096)   # the statx buffer
            elif op == 36:
                rw = self.pick([0, 0x200, 1])
            elif op == 37:
                length = 0o755
            elif op in (42, 44):              # SETXATTR GETXATTR: value addr2, path addr3
                length = self.pick([0, 16, 300])
                off = self.offaddr(SCRATCH, 256)
                addr3 = PATHS + 32 * r.randrange(8)
        elif op == 40:                      # MSG_RING
            fd = self.fd([FD_RING, FD_FILE])
            length = r.randrange(-5, 100) & 0xFFFFFFFF
            off = r.randrange(0, 1000)
            addr = self.literal(self.pick([0, 0, 1, 2]))
            rw = self.pick([0, 0, 1, 2])
        elif op == 45:                      # SOCKET
            fd = 100 + self.pick([1, 2, 10, 16, 99])        # domain
            off = 100 + self.pick([1, 2, 5, 0x80000 | 1, 99])  # type (pysentry: sqe->off)
            off = self.pick([1, 2, 5, 0x80001, 99])
            length = self.pick([0, 0, 6, 17, 255])
            rw = 0
            if self.chance(0.2):
                splice = 100 + r.randrange(0, 4)
        elif op in (13, 16, 34, 56, 57):    # ACCEPT CONNECT SHUTDOWN BIND LISTEN
            fd = self.fd([FD_SOCK0, FD_SOCK1, FD_FILE, FD_PIPE_R])
            addr = self.addr(SCRATCH, 256) if self.chance(0.7) else -1
            length = self.pick([0, 2, 16, 110])
            off = self.pick([0, self.offaddr(SCRATCH, 64)])
        elif op in (41, 43):                # FSETXATTR FGETXATTR
            fd = self.fd([FD_FILE, FD_PIPE_R])
            addr = PATHS + 32 * r.randrange(8)
            length = self.pick([0, 16, 300])
            off = self.offaddr(SCRATCH, 256)
        elif op == 20:                      # FILES_UPDATE
            fd = FD_MINUS1
            addr = FDARR + 4 * r.randrange(8)
            length = r.randrange(0, 6)
            off = r.randrange(0, 6)
        elif op == 29:                      # EPOLL_CTL
            fd = self.fd([FD_FILE, FD_PIPE_R, FD_EVENTFD])
            length = r.randrange(0, 4)
            off = self.pick([FD_PIPE_R, FD_SOCK0, 1000])
            addr = self.addr(SCRATCH, 64)
        elif op == 49:                      # READ_MULTISHOT
            fd = self.fd([FD_PIPE_R, FD_SOCK1, FD_FILE])
            flags |= IOSQE_BUFFER_SELECT if self.chance(0.8) else 0
            bi = r.randrange(0, 3)
            addr = -1
            length = self.pick([0, 0, 64])
        elif op == 54:                      # FIXED_FD_INSTALL
            fd = 100 + r.randrange(0, 4)
            flags |= IOSQE_FIXED_FILE if self.chance(0.9) else 0
            rw = self.pick([0, 1, 2])
        elif op == 0:
            fd = self.fd([FD_MINUS1])
            if self.chance(0.1):
                rw = r.getrandbits(32)
        if self.chance(0.05):                # a reserved field set
            which = r.randrange(4)
            if which == 0:
                ioprio = r.randrange(1, 65536)
            elif which == 1:
                pers = r.randrange(1, 5)
            elif which == 2:
                addr3 = self.addr()
            else:
                bi = r.randrange(1, 65536)
        if self.chance(0.08):
            pers = r.randrange(0, 4)
        self.lines.append("sqe %d %d %d %d %d %d %d %d %d %d %d %d %d" % (
            op, flags, ioprio, fd, off, addr, length, rw, ud, bi, pers, splice, addr3))
        return op

    # -- a program -------------------------------------------------------------
    def program(self):
        r = self.r
        flags = 0
        if self.chance(0.3):
            flags = self.pick(SETUP_FLAGS)
            if self.chance(0.2):
                flags |= self.pick(SETUP_FLAGS)
        if self.chance(0.02):
            flags = r.getrandbits(17) & ~(0x400 | 0x800 | 0x4000 | 0x8000)
        entries = self.pick([1, 2, 4, 8, 8, 16, 32]) if self.chance(0.95) else self.pick([0, 3, 40000, 2 ** 31])
        cq = self.pick([0, 4, 64, 3]) if flags & 0x8 else 0
        self.lines.append("setup %d %d %d" % (entries, flags, cq))
        for _ in range(r.randrange(2, 9)):
            what = r.random()
            if what < 0.65:
                for _ in range(r.randrange(1, 6)):
                    op = self.sqe()
                    if op != 15 and self.chance(0.1):
                        # a LINK_TIMEOUT after a linked op
                        self.lines[-1] = _with_link(self.lines[-1])
                        self.sqe(15, 0)
                n = len([1 for l in self.lines if l.startswith("sqe")])
                to_submit = self.pick([n, 1, 2, 8, 0]) if self.chance(0.3) else 64
                self.lines.append("submit %d %d %d" % (
                    to_submit, self.pick([0, 0, 1]), self.pick([0, 0, 0, 1, 2, 8, 1 << 10])))
            elif what < 0.77:
                self.lines.append("register %d %d %d" % (
                    self.pick(REGISTER_OPS),
                    self.pick([IOV, FDARR, SCRATCH, 0, -2, PATHS]) if self.chance(0.9) else 0,
                    self.pick([0, 1, 2, 4, 16, 2 ** 31])))
            elif what < 0.85:
                self.lines.append("scribble %d %d" % (r.randrange(3), self.pick([1, 2, 7, 64, 2 ** 31])))
            elif what < 0.93:
                self.lines.append("write %d %d" % (self.pick([FD_PIPE_W, FD_SOCK0, FD_SOCK1,
                                                              FD_EVENTFD]), self.pick([1, 8, 100])))
            else:
                self.lines.append("reap %d" % self.pick([10, 30]))
        if self.chance(0.25):
            self.lines.append("exit")
        return "\n".join(self.lines) + "\n"


def _with_link(line):
    parts = line.split()
    parts[2] = str(int(parts[2]) | IOSQE_IO_LINK)
    return " ".join(parts)


def program(seed):
    return Gen(seed).program()


if __name__ == "__main__":
    import sys
    for s in sys.argv[1:]:
        print("program s%s" % s)
        print(program(int(s)), end="")
