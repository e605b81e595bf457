"""Control messages of SENDMSG/RECVMSG (Linux's net/core/scm.c as io_uring
uses it): parsing and laying out cmsg buffers in the 64-bit and compat
layouts, SCM_RIGHTS (the program's fds become the Sentry's for a send, and
received ones are installed in the program as task work), and the
SCM_CREDENTIALS check Linux makes against the sender's own ids.
"""
import errno
import os
import struct

from pysentry.sentry import fdchannel
from pysentry.vfs.file import HostFileDescription

SOL_SOCKET = 1
SCM_RIGHTS = 1
SCM_CREDENTIALS = 2
SCM_MAX_FD = 253              # include/net/scm.h
MSG_CTRUNC = 0x8
MSG_CMSG_CLOEXEC = 0x40000000
MSG_CMSG_COMPAT = 0x80000000
_CMSG_HDR = struct.Struct("<Qii")           # struct cmsghdr
_CMSG_HDR32 = struct.Struct("<Iii")         # struct compat_cmsghdr


def _align(n, a):
    return (n + a - 1) & ~(a - 1)


def parse_cmsgs(raw, compat):
    """[(level, type, data)] of a control buffer (CMSG_FIRSTHDR/NXTHDR);
    a header that does not fit is EINVAL, as __scm_send()'s CMSG_OK check."""
    hdr, align = (_CMSG_HDR32, 4) if compat else (_CMSG_HDR, 8)
    out = []
    pos = 0
    while pos + hdr.size <= len(raw):
        length, level, ctype = hdr.unpack_from(raw, pos)
        if length < hdr.size or pos + length > len(raw):
            raise OSError(errno.EINVAL, "bad cmsg length")
        out.append((level, ctype, raw[pos + hdr.size:pos + length]))
        pos += _align(length, align)
    return out


def build_cmsgs(cmsgs, compat, limit=None):
    """Lay control messages out in a buffer of `limit` bytes as put_cmsg()
    and put_cmsg_compat() do: a message that does not fit whole is cut
    (its cmsg_len says how much is there), one with no room for its header
    is dropped; either sets MSG_CTRUNC.  Returns (bytes, truncated)."""
    hdr, align = (_CMSG_HDR32, 4) if compat else (_CMSG_HDR, 8)
    out = bytearray()
    truncated = False
    for level, ctype, data in cmsgs:
        room = (1 << 62) if limit is None else limit - len(out)
        if room < hdr.size:
            truncated = True
            break
        cmlen = hdr.size + len(data)
        if room < cmlen:
            truncated = True
            cmlen = room
        out += hdr.pack(cmlen, level, ctype) + data[:cmlen - hdr.size]
        pad = min(_align(cmlen, align), room) - cmlen
        out += b"\0" * pad
    return bytes(out), truncated


def _child_creds(tgid):
    ids = {}
    with open("/proc/%d/status" % tgid) as f:
        for line in f:
            if line.startswith(("Uid:", "Gid:")):
                ids[line[:3]] = [int(x) for x in line.split()[1:4]]
    return ids


def translate_control(kernel, task, raw, compat, held):
    """The child's control messages, ready for the Sentry's sendmsg.

    SCM_RIGHTS names the child's fds: each becomes the Sentry's fd on the same
    open file description (appended to `held`, closed after sending); an fd
    the child does not have is EBADF (scm_fp_copy).  SCM_CREDENTIALS is
    checked against the child's ids (scm_check_creds), since the host checks
    it against the Sentry's.  Other messages pass as they are."""
    cmsgs = parse_cmsgs(raw, compat)
    out = []
    for level, ctype, data in cmsgs:
        if level == SOL_SOCKET and ctype == SCM_RIGHTS:
            count = len(data) // 4
            if count > SCM_MAX_FD:            # scm_fp_copy()
                raise OSError(errno.EINVAL, "too many fds")
            fds = []
            wanted = [fd for (fd,) in struct.iter_unpack("<i", data[:count * 4])]
            kernel.require_held(task, wanted)
            for fd in wanted:
                desc = kernel.lookup_file(task, fd)
                try:
                    # A ring is served by the Sentry itself: what the child's
                    # fd holds on the host is the ring fd's eventfd.
                    hostfd = os.dup(desc.fd if isinstance(desc, HostFileDescription)
                                    else desc.ring.ready.fd)
                finally:
                    desc.put()
                held.append(hostfd)
                fds.append(hostfd)
            data = struct.pack("<%di" % count, *fds)
        elif level == SOL_SOCKET and ctype == SCM_CREDENTIALS and len(data) >= 12:
            pid, uid, gid = struct.unpack_from("<iII", data)
            ids = _child_creds(task.tgid)
            root = ids["Uid"][1] == 0
            if not root and (pid != task.tgid or uid not in ids["Uid"]
                             or gid not in ids["Gid"]):
                raise OSError(errno.EPERM, "credentials not the sender's")
        out.append((level, ctype, data))
    return build_cmsgs(out, False)[0]


# --- host calls ----------------------------------------------------------------------


def rights_fds(data):
    return [fd for (fd,) in struct.iter_unpack("<i", data[:len(data) // 4 * 4])]


def install_rights(kernel, task, req, rights, flags, compat, result):
    """Task work: give the child the fds an SCM_RIGHTS message carried (the
    Sentry holds them, MSG_CMSG_CLOEXEC'd), then write the control messages
    with the child's numbers.  As scm_detach_fds(): only as many fds as fit
    in the control buffer are installed, each at the lowest free number and
    close-on-exec if MSG_CMSG_CLOEXEC was asked; the rest are closed and
    MSG_CTRUNC is set; a failed install (EMFILE) stops there."""
    cmsgs, mflags = rights
    st = req.cmd
    hdr, align = (_CMSG_HDR32, 4) if compat else (_CMSG_HDR, 8)
    cloexec = bool(flags & MSG_CMSG_CLOEXEC)
    out, used = [], 0
    for level, ctype, data in cmsgs:
        if level == SOL_SOCKET and ctype == SCM_RIGHTS:
            hostfds = rights_fds(data)
            fit = max(0, (st.controllen_user - used - hdr.size) // 4)
            mine = []
            try:
                for hostfd in hostfds[:fit]:
                    fd = yield from fdchannel.install(kernel, task, hostfd, cloexec)
                    if fd < 0:
                        break
                    mine.append(fd)
            finally:
                for hostfd in hostfds:
                    os.close(hostfd)
            if len(mine) < len(hostfds):
                mflags |= MSG_CTRUNC
            if not mine:
                continue
            data = struct.pack("<%di" % len(mine), *mine)
        out.append((level, ctype, data))
        used += _align(hdr.size + len(data), align)
    write_control(req, st, out, mflags, flags, compat)
    return result


def write_control(req, st, cmsgs, mflags, flags, compat):
    """Store the control messages, msg_controllen and msg_flags."""
    mem = req.task.mem
    control, truncated = build_cmsgs(cmsgs, compat, st.controllen_user)
    if truncated:
        mflags |= MSG_CTRUNC
    if control:
        mem.write(st.control_user, control)
    mflags = (mflags & ~(MSG_CMSG_CLOEXEC | MSG_CMSG_COMPAT)) | (flags & MSG_CMSG_CLOEXEC)
    if compat:
        mem.write(st.umsg + 20, struct.pack("<II", len(control), mflags))
    else:
        mem.write(st.umsg + 40, struct.pack("<QI", len(control), mflags))


# --- connect, bind, listen, shutdown ----------------------------------------------
