"""iovec arrays in child memory: decoding, and scatter/gather of data.

Mirrors Linux's import_iovec(): at most UIO_MAXIOV entries (else EINVAL), a
negative length (as ssize_t) is EINVAL, a segment outside the user address
space (access_ok) is EFAULT -- all at import, before any I/O -- and the total
is capped at MAX_RW_COUNT (a lone iovec's length before its access_ok check,
as import_ubuf() does; other segments after theirs).  Compat tasks (i386 and x32) use 8-byte iovecs.
"""
import errno
import struct

from pysentry.mm.child_memory import MAX_RW_COUNT, access_ok

UIO_MAXIOV = 1024
_IOV64 = struct.Struct("<QQ")
_IOV32 = struct.Struct("<II")


def read_iovecs(mem, addr, count, compat=False):
    """Return [(base, len), ...] with the total clamped to MAX_RW_COUNT."""
    if count < 0 or count > UIO_MAXIOV:
        raise OSError(errno.EINVAL, "bad iovec count")
    if count == 0:
        return []
    fmt = _IOV32 if compat else _IOV64
    raw = mem.read(addr, fmt.size * count)
    out = []
    total = 0
    for base, length in fmt.iter_unpack(raw):
        if not compat and length >= 1 << 63:
            raise OSError(errno.EINVAL, "negative iovec length")
        if count == 1:
            # A single iovec is imported as one buffer (import_ubuf): its
            # length is capped at MAX_RW_COUNT before the access_ok check.
            length = min(length, MAX_RW_COUNT)
        if not access_ok(base, length):
            # Checked on the length as given, before the clamp below.
            raise OSError(errno.EFAULT, "iovec outside user space")
        if total + length > MAX_RW_COUNT:
            length = MAX_RW_COUNT - total
        total += length
        out.append((base, length))
    return out


def total_len(iovs):
    return sum(length for _, length in iovs)


def window(iovs, start, size):
    """(address, length) of each segment of the iovec stream's bytes
    start..start+size, one per segment that reaches past `start`."""
    pos = 0
    for base, length in iovs:
        if size <= 0:
            return
        end = pos + length
        if end > start:
            skip = max(0, start - pos)
            take = min(length - skip, size)
            yield base + skip, take
            start += take
            size -= take
        pos = end


def gather(mem, iovs, start, size):
    """Read `size` bytes of the iovec stream beginning at byte `start`."""
    out = bytearray()
    for addr, take in window(iovs, start, size):
        out += mem.read(addr, take)
    return out


def gather_mirrored(mem, iovs, start, size, readable=None):
    """Like gather(), for a range that faults: a list of buffers, one per
    segment, each readable in full or a mirror (ChildMemory.mirror) that
    faults where the child's segment does -- for a host writev that moves
    what Linux would move from the child's buffers, or a host readv that
    fills what Linux would fill (scatter_from() copies it back).  Empty
    segments get an empty buffer.  With a list `readable`, the number of
    bytes before the first fault (the part the Sentry may touch) is
    appended to it."""
    out = []
    faulted = False
    before = 0
    for addr, take in window(iovs, start, size):
        if faulted:
            # The host call stops at the first fault (or, like /dev/null,
            # reads nothing): what follows only needs its length, in pages
            # nobody can touch -- writable buffers all the same, since a
            # host readv is given them too (vfs/file.py's stream read).
            out.append(mem.unreadable(take) if take else bytearray())
        else:
            # Not mem.read(): a huge length would be allocated whole.
            view, n = mem.mirror(addr, take)
            out.append(view)
            before += n
            faulted = n < take
    if readable is not None:
        readable.append(before)
    return out


def all_mapped(mem, iovs, size):
    """Can the child reach every page of the first `size` bytes of the
    iovec stream?  One byte per page is probed (IOV_MAX at a time)."""
    addrs = []
    for base, length in iovs:
        if size <= 0:
            break
        take = min(length, size)
        size -= take
        if take:
            addrs.append(base)
            addrs.extend(range((base | 4095) + 1, base + take, 4096))
    for i in range(0, len(addrs), UIO_MAXIOV):
        part = addrs[i:i + UIO_MAXIOV]
        if mem.probe(part) != len(part):
            return False
    return True


def scatter_from(mem, iovs, bufs, n):
    """Copy the first n bytes of `bufs` (one per iovec, as gather_mirrored
    made them) to the child's iovecs; return the bytes copied."""
    done = 0
    for (base, _length), buf in zip(iovs, bufs):
        if done >= n:
            break
        take = min(len(buf), n - done)
        try:
            mem.write(base, buf[:take])
        except OSError:
            break
        done += take
    return done


def scatter(mem, iovs, start, data):
    """Write `data` into the iovec stream at byte `start`; return bytes written.

    Stops at the first byte the child cannot take: a fault after progress
    returns the progress, a fault before any byte raises EFAULT (as
    copy_to_user users do).
    """
    done = 0
    view = memoryview(data)
    for addr, take in window(iovs, start, len(view)):
        try:
            mem.write(addr, view[done:done + take])
        except OSError:
            # Up to the fault, as copy_to_iter() copies (a file read
            # returns those bytes; at the fault itself, EFAULT).
            done += mem.write_prefix(addr, view[done:done + take])
            if done == 0:
                raise
            return done
        done += take
    return done
