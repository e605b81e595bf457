"""File descriptions: the Sentry's view of an open file, shared by every I/O path.

A child fd maps to a FileDescription.  For host-backed files the Sentry holds
its own fd on the *same* open file description (pidfd_getfd), so the file
offset, O_APPEND and status flags are the ones the child's fd has; this is what
keeps read(2) in the child, the Sentry's synchronous syscalls and io_uring
requests consistent with each other, as they are in Linux where all of them
go through one struct file.

The same read/write methods serve read(2)/write(2)/pread64/preadv2/... and the
io_uring READ/WRITE/READV/WRITEV ops.
"""
import errno
import fcntl
import mmap
import os
import select
import stat

from pysentry.mm import iov as iovmod
from pysentry.platform import libc
from pysentry import native as native_io

CHUNK = 1 << 20
# One page-aligned staging buffer (the Sentry serves one request at a time).
# Page alignment is what O_DIRECT files require of the memory they transfer.
_STAGING = mmap.mmap(-1, CHUNK)
_BOUNCE = native_io.ffi.from_buffer(_STAGING) if native_io.lib is not None else None

# RWF_* flags for preadv2/pwritev2 (include/uapi/linux/fs.h)
RWF_HIPRI = 0x01
RWF_DSYNC = 0x02
RWF_SYNC = 0x04
RWF_NOWAIT = 0x08
RWF_APPEND = 0x10
RWF_NOAPPEND = 0x20
RWF_ATOMIC = 0x40
RWF_DONTCACHE = 0x80
RWF_NOSIGNAL = 0x100    # Linux 6.18 accepts it (no SIGPIPE on a broken pipe or socket)
RWF_SUPPORTED = (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND
                 | RWF_NOAPPEND | RWF_ATOMIC | RWF_DONTCACHE | RWF_NOSIGNAL)

_KINDS = {
    stat.S_IFREG: "reg", stat.S_IFDIR: "dir", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "sock",
    stat.S_IFCHR: "chr", stat.S_IFBLK: "blk", stat.S_IFLNK: "lnk",
}


# Filesystems whose file_operations have ->iopoll (polled O_DIRECT I/O).
_IOPOLL_FS = frozenset((b"ext4", b"xfs", b"btrfs"))
# Filesystems whose regular files are opened FMODE_NOWAIT.
_NOWAIT_FS = frozenset((b"ext4", b"xfs", b"btrfs"))
_FS_TYPES = {}


def _fs_type(dev):
    """The filesystem type mounted from device number dev (from mountinfo)."""
    if dev not in _FS_TYPES:
        want = "%d:%d" % (os.major(dev), os.minor(dev))
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                fields = line.split()
                if fields[2].decode() == want:
                    _FS_TYPES[dev] = fields[fields.index(b"-") + 1]
                    break
            else:
                _FS_TYPES[dev] = b""
    return _FS_TYPES[dev]


def _device_polls(dev):
    """Does the block device behind dev have poll queues (queue/io_poll)?"""
    base = "/sys/dev/block/%d:%d" % (os.major(dev), os.minor(dev))
    for path in (base + "/queue/io_poll", base + "/../queue/io_poll"):
        try:
            with open(path) as f:
                return f.read().strip() == "1"
        except OSError:
            continue
    return False


def _anon_name(fd):
    try:
        link = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return None
    return link[len("anon_inode:"):] if link.startswith("anon_inode:") else None


class FileDescription:
    """Base class: operations a file does not support fail as in Linux."""

    kind = "other"
    seekable = False

    def __init__(self):
        self.refs = 1      # one for the fd-table entry; requests in flight take more

    def get(self):
        self.refs += 1
        return self

    def put(self):
        self.refs -= 1
        if self.refs == 0:
            self.release()

    def ready(self, events):
        return True

    def access_mode(self):
        """O_RDONLY, O_WRONLY or O_RDWR of the open file, or None if unknown."""
        fd = getattr(self, "fd", -1)
        if fd is None or fd < 0:
            return None
        try:
            return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        except OSError:
            return None

    def supports_iopoll(self):
        """Can this file do polled I/O (IORING_SETUP_IOPOLL)?"""
        return False

    def iopoll_read_unsupported(self, offset):
        """Would a polled read at offset fail with EOPNOTSUPP on this host?"""
        return True

    def has_poll(self):
        """Has the file a ->poll (Linux's io_file_can_poll())?"""
        return not self.seekable

    def nonblocking(self):
        """Is the open file O_NONBLOCK?"""
        fd = getattr(self, "fd", -1)
        if fd is None or fd < 0:
            return False
        try:
            return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
        except OSError:
            return False

    def fmode_nowait(self):
        """Would Linux mark this open file FMODE_NOWAIT (RWF_NOWAIT accepted
        by kiocb_set_rw_flags)?  Only asked after the host refused an
        RWF_NOWAIT transfer with EOPNOTSUPP (sentry/iouring/rw.py)."""
        return False

    def nowait_write_refused(self):
        """Would an RWF_NOWAIT write be -EAGAIN whatever it is: a buffered
        write to a regular file of a filesystem without FOP_BUFFER_WASYNC?"""
        return False

    def loop_rw(self, reading):
        """Has the file no ->read_iter (reading) or ->write_iter, only
        ->read or ->write?  preadv2/pwritev2 then refuse every RWF flag but
        HIPRI with EOPNOTSUPP, where io_uring's loop_rw_iter() calls ->read
        or ->write itself after kiocb_set_rw_flags() accepted the flags."""
        return False

    def _no_rw(self, flags):
        # No ->read_iter/->read (an io_uring fd): io_uring's io_rw_init_file
        # first has kiocb_set_rw_flags() refuse, with EOPNOTSUPP, what a file
        # must support -- RWF_NOWAIT (no FMODE_NOWAIT), RWF_ATOMIC, RWF_DONTCACHE
        # -- and then the read or write itself is EINVAL.
        self.no_rw_flags(flags)
        raise OSError(errno.EINVAL, "no read or write")

    def no_rw_flags(self, flags):
        """The RWF flags io_rw_init_file() refuses (EOPNOTSUPP) on a file
        with no read or write, before it gets to the transfer."""
        if flags & ~RWF_SUPPORTED:
            raise OSError(errno.EOPNOTSUPP, "unsupported RWF flags")
        both_appends = RWF_APPEND | RWF_NOAPPEND
        if flags & both_appends != both_appends and flags & (RWF_NOWAIT | RWF_ATOMIC
                                                             | RWF_DONTCACHE):
            raise OSError(errno.EOPNOTSUPP, "RWF flag the file cannot honour")

    def read(self, mem, iovs, offset, flags=0):
        self._no_rw(flags)

    def write(self, mem, iovs, offset, flags=0):
        self._no_rw(flags)

    def fsync(self, datasync=False):
        raise OSError(errno.EINVAL, "fsync not supported")

    # The errnos below are Linux's for a file with no storage behind it (an
    # anonymous inode such as an io_uring ring).
    def sync_range(self, offset, nbytes, flags):
        # ksys_sync_file_range(): only regular files, block devices,
        # directories and symlinks can be synced.
        raise OSError(errno.ESPIPE, "sync_file_range not supported")

    def allocate(self, mode, offset, length):
        # vfs_fallocate(): neither a regular file nor a block device.
        raise OSError(errno.ENODEV, "fallocate not supported")

    def advise(self, offset, length, advice):
        # generic_fadvise() on a file without a backing device accepts any
        # known advice and does nothing; unknown advice is EINVAL.
        if advice not in range(6):
            raise OSError(errno.EINVAL, "unknown advice")

    def truncate(self, length):
        # do_ftruncate(): only regular files opened for writing.
        raise OSError(errno.EINVAL, "ftruncate not supported")

    def poll_fd(self):
        return None

    def data_plane_fd(self):
        """The host fd the io_uring data plane (sentry/iouring/dataplane.py)
        may read and write at explicit offsets, or -1: only seekable host
        files (regular files and block devices) qualify."""
        return -1

    def release(self):
        pass


def _first_bytes(iovs, size):
    """The non-empty iovecs covering the first `size` bytes of the stream:
    one per buffer gather_mirrored() makes (it makes none for an empty
    iovec), so that scatter_from() pairs each buffer with its own iovec."""
    out = []
    for base, length in iovs:
        if size <= 0:
            break
        take = min(length, size)
        if take:
            out.append((base, take))
        size -= take
    return out


class HostFileDescription(FileDescription):
    """A file whose storage is the host's, reached through a Sentry-held fd."""

    def __init__(self, fd, path=None):
        super().__init__()
        self.fd = fd
        self.path = path
        st = os.fstat(fd)
        self.inode = (st.st_dev, st.st_ino)
        self.kind = _KINDS.get(stat.S_IFMT(st.st_mode), "other")
        if self.kind == "other" and _anon_name(fd) == "[signalfd]":
            # A signalfd reports the signals of whoever reads or polls it: the
            # Sentry's copy would see the Sentry's.  See signalfd_pending().
            self.kind = "signalfd"
        # Regular files and block devices have a position; pipes, sockets and
        # ttys are streams where the offset is ignored (FMODE_STREAM).
        self.seekable = self.kind in ("reg", "blk")

    def data_plane_fd(self):
        return self.fd if self.seekable else -1

    def poll_fd(self):
        # Waiting on a signalfd from the Sentry would watch the wrong process;
        # None makes waiters re-check on a short timer instead.
        return None if self.kind == "signalfd" else self.fd

    def supports_iopoll(self):
        # Linux's io_rw_init_file(): polled I/O needs O_DIRECT (IOCB_DIRECT)
        # and a file whose f_op has ->iopoll: block devices and the
        # filesystems that poll their direct I/O bios.
        if not fcntl.fcntl(self.fd, fcntl.F_GETFL) & os.O_DIRECT:
            return False
        st = os.fstat(self.fd)
        if stat.S_ISBLK(st.st_mode):
            return True
        return stat.S_ISREG(st.st_mode) and _fs_type(st.st_dev) in _IOPOLL_FS

    def has_poll(self):
        # Regular files, block devices and directories have no ->poll; nor
        # have the memory devices (drivers/char/mem.c: /dev/mem, null, port,
        # zero, full; urandom's fops have none either) -- major 1.
        if self.kind in ("reg", "blk", "dir"):
            return False
        if self.kind == "chr":
            rdev = os.fstat(self.fd).st_rdev
            return not (os.major(rdev) == 1 and os.minor(rdev) in (1, 3, 4, 5, 7, 9))
        return True

    def fmode_nowait(self):
        # ext4_file_open, xfs_file_open and btrfs_file_open set FMODE_NOWAIT
        # on regular files (tmpfs does not: its preadv2 with RWF_NOWAIT is
        # EOPNOTSUPP); eventfd_file_create sets it on an eventfd.
        if self.kind == "reg":
            return _fs_type(os.fstat(self.fd).st_dev) in _NOWAIT_FS
        if self.kind in ("fifo", "sock", "signalfd"):
            return True        # pipes, sockets and signalfds are opened FMODE_NOWAIT
        return self.kind == "other" and _anon_name(self.fd) == "[eventfd]"

    def nowait_write_refused(self):
        # ext4 has FMODE_NOWAIT but no FOP_BUFFER_WASYNC (xfs and btrfs have
        # it); O_DIRECT writes go to its write_iter, as the host call does.
        if self.kind != "reg" or fcntl.fcntl(self.fd, fcntl.F_GETFL) & os.O_DIRECT:
            return False
        return _fs_type(os.fstat(self.fd).st_dev) == b"ext4"

    def loop_rw(self, reading):
        # A directory has no ->read_iter (generic_read_dir is its ->read);
        # an eventfd has read_iter but only ->write (eventfd_write); an
        # inotify fd only ->read (inotify_read) -- Linux 6.18's fops.
        if self.kind == "dir":
            return reading
        if self.kind != "other":
            return False
        name = _anon_name(self.fd)
        return name == "inotify" if reading else name == "[eventfd]"

    def iopoll_read_unsupported(self, offset):
        # A polled read that reaches the block layer is marked REQ_POLLED; a
        # device without poll queues (queue/io_poll = 0, e.g. virtio-blk by
        # default) fails it with EOPNOTSUPP.  A read at or past EOF submits
        # no bio and returns 0.  Polled writes on such a device complete
        # (observed on Linux 6.18 with ext4): they are not refused here.
        st = os.fstat(self.fd)
        dev = st.st_rdev if stat.S_ISBLK(st.st_mode) else st.st_dev
        if _device_polls(dev):
            return False
        size = st.st_size if not stat.S_ISBLK(st.st_mode) else os.lseek(self.fd, 0, os.SEEK_END)
        pos = offset if offset is not None else os.lseek(self.fd, 0, os.SEEK_CUR)
        return pos < size

    def signalfd_pending(self, tid):
        """Is a signal of this signalfd's mask pending for the child thread tid?"""
        mask = 0
        with open("/proc/self/fdinfo/%d" % self.fd) as f:
            for line in f:
                if line.startswith("sigmask:"):
                    mask = int(line.split()[1], 16)
        pending = 0
        with open("/proc/%d/status" % tid) as f:
            for line in f:
                if line.startswith(("SigPnd:", "ShdPnd:")):
                    pending |= int(line.split()[1], 16)
        return bool(pending & mask)

    def ready(self, events):
        """Would an operation waiting for `events` (POLLIN/POLLOUT) proceed now?"""
        p = select.poll()
        p.register(self.fd, events)
        return bool(p.poll(0))

    def release(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # -- data path ------------------------------------------------------------
    def pread_simple(self, pid, addr, count, pos):
        """pread64(2) of one buffer the caller checked (0 < count <= CHUNK,
        access_ok, pos >= 0) from a seekable file, in one C call: bytes
        read or -errno -- read()'s result for that case without its layers
        (the hottest trapped call: sentry/syscalls/file_io.py).  None if the
        C path is unavailable."""
        if _BOUNCE is None:
            return None
        return native_io.lib.ps_read_to_child(self.fd, pid, addr, count, pos, 0, _BOUNCE)

    def pwrite_simple(self, pid, addr, count, pos):
        """pwrite64(2) likewise: write()'s result for that case, or None."""
        if _BOUNCE is None:
            return None
        return native_io.lib.ps_write_from_child(self.fd, pid, addr, count, pos, 0, _BOUNCE)

    def _check_flags(self, flags):
        if flags & ~RWF_SUPPORTED:
            raise OSError(errno.EOPNOTSUPP, "unsupported RWF flags")

    def read(self, mem, iovs, offset, flags=0):
        """Read into child iovecs; offset None means the file position.

        Returns the byte count; raises OSError (EAGAIN with RWF_NOWAIT when no
        data is ready, EFAULT when nothing could be copied, host errors as is).
        """
        self._check_flags(flags)
        want = iovmod.total_len(iovs)
        if want == 0:
            return 0
        if not self.seekable:
            # One read: a stream returns what it has; a second read could block.
            size = min(want, CHUNK)
            if not iovmod.all_mapped(mem, iovs, size):
                # Part of the buffer is unmapped: Linux's read stops at the
                # fault and a stream keeps what it could not copy (pipe_read
                # leaves a pipe buffer it could not copy whole).  The host
                # read is given buffers that fault at the same place, so it
                # consumes what Linux would, then that goes to the child.
                segs = _first_bytes(iovs, size)
                reachable = []
                bufs = iovmod.gather_mirrored(mem, segs, 0, size, reachable)
                try:
                    n = os.preadv(self.fd, bufs, -1, flags) if flags else os.readv(self.fd, bufs)
                except OSError as e:
                    if e.errno != errno.EFAULT:
                        raise
                    # EFAULT after a partial copy: what the copy put before
                    # the fault stays in the child's buffer (pipe_read and
                    # a unix stream's skb copy fail the read but leave those
                    # bytes, and the data in the file).  The mirror holds
                    # them; the rest of its readable part is the child's own.
                    iovmod.scatter_from(mem, segs, bufs, reachable[0])
                    raise
                if not n:
                    return 0
                # So also after a read that returned what came before the
                # fault: a part copied from the next pipe buffer stays.
                return min(n, iovmod.scatter_from(mem, segs, bufs, max(n, reachable[0])))
            buf = bytearray(size)
            n = os.preadv(self.fd, [buf], -1, flags) if flags else os.readv(self.fd, [buf])
            return iovmod.scatter(mem, iovs, 0, memoryview(buf)[:n]) if n else 0
        if _BOUNCE is not None and offset is not None and len(iovs) == 1 and want <= CHUNK:
            # Hot path in C: pread + process_vm_writev in one call.
            n = native_io.lib.ps_read_to_child(self.fd, mem.pid, iovs[0][0], want, offset,
                                               flags, _BOUNCE)
            if n < 0:
                raise OSError(-n, os.strerror(-n))
            return n
        use_pos = offset is None
        pos = os.lseek(self.fd, 0, os.SEEK_CUR) if use_pos else offset
        done = 0
        buf = memoryview(_STAGING)[:min(want, CHUNK)]
        while done < want:
            take = min(want - done, len(buf))
            view = memoryview(buf)[:take]
            n = os.preadv(self.fd, [view], pos + done, flags)
            if n == 0:
                break
            try:
                copied = iovmod.scatter(mem, iovs, done, view[:n])
            except OSError:
                if done == 0:
                    raise
                break
            done += copied
            if copied < n or n < take:
                break
        if use_pos and done:
            os.lseek(self.fd, pos + done, os.SEEK_SET)
        return done

    def write(self, mem, iovs, offset, flags=0):
        self._check_flags(flags)
        want = iovmod.total_len(iovs)
        if want == 0:
            return 0
        if (_BOUNCE is not None and offset is not None and self.seekable and len(iovs) == 1
                and want <= CHUNK):
            n = native_io.lib.ps_write_from_child(self.fd, mem.pid, iovs[0][0], want, offset,
                                                  flags, _BOUNCE)
            if n < 0:
                raise OSError(-n, os.strerror(-n))
            return n
        done = 0
        while done < want:
            take = min(want - done, CHUNK)
            try:
                data = iovmod.gather(mem, iovs, done, take)
            except OSError:
                # The range runs into memory the child cannot read: Linux
                # moves what its file's write copies before the fault (a
                # prefix, whole pipe pages, nothing for a socket chunk) or,
                # for /dev/null, reads nothing and succeeds.  The host call
                # decides it on buffers that fault at the same place.
                # One host call for all that is left: it stops at the fault
                # (or, for /dev/null, takes it all) -- no chunks to repeat.
                bufs = iovmod.gather_mirrored(mem, iovs, done, want - done)
                try:
                    if offset is None or not self.seekable:
                        n = os.pwritev(self.fd, bufs, -1, flags) if flags else os.writev(self.fd, bufs)
                    else:
                        n = os.pwritev(self.fd, bufs, offset + done, flags)
                except BlockingIOError:
                    if done == 0:
                        raise
                    break
                except OSError:
                    if done == 0:
                        raise
                    break
                done += n
                break
            try:
                if offset is None or not self.seekable:
                    n = os.pwritev(self.fd, [data], -1, flags) if flags else os.write(self.fd, data)
                else:
                    staged = memoryview(_STAGING)[:len(data)]
                    staged[:] = data            # aligned, for O_DIRECT files
                    n = os.pwritev(self.fd, [staged], offset + done, flags)
            except BlockingIOError:
                if done == 0:
                    raise
                break
            done += n
            if n < take:
                break
        return done

    def fsync(self, datasync=False):
        if datasync:
            os.fdatasync(self.fd)
        else:
            os.fsync(self.fd)

    # The Sentry's fd shares the child's open file description, so the host
    # applies every check (open mode, file type, flags) exactly as for the
    # child, and a position-relative operation moves the child's position.
    def sync_range(self, offset, nbytes, flags):
        libc.sync_file_range(self.fd, offset, nbytes, flags)

    def allocate(self, mode, offset, length):
        libc.fallocate(self.fd, mode, offset, length)

    def advise(self, offset, length, advice):
        os.posix_fadvise(self.fd, offset, length, advice)

    def truncate(self, length):
        os.ftruncate(self.fd, length)
