"""One io_uring request: the SQE fields copied out of shared memory, plus state.

Copying every field at submission (never re-reading the SQE) is what makes
IORING_FEAT_SUBMIT_STABLE true and keeps a child that rewrites an SQE after
submitting from changing a request in flight.
"""
from pysentry.sentry.iouring import abi

# Returned by an op's issue(): the request stays in flight and completes
# itself later (multishot polls, timeouts).
INFLIGHT = object()


class Unfailed(int):
    """An op's error result that Linux's handler posts without req_set_fail()
    (io_req_set_res and IOU_COMPLETE only): it breaks no link, and with
    IOSQE_CQE_SKIP_SUCCESS no CQE is posted for it (REQ_F_CQE_SKIP stays)."""


IOWQ_PUNT = 1
IOWQ_FORCE = 2


class Request:
    """What every request has (Linux's struct io_kiocb): the SQE's fields,
    its ring and submitting task, its file, its place in a link chain, the
    completion flags and how it waits.  State that belongs to one op lives
    in `cmd`, an object of that op's module (Linux reaches its struct io_rw,
    io_open, io_timeout... from the request with io_kiocb_to_cmd())."""

    __slots__ = ("ring", "task", "opcode", "flags", "ioprio", "fd", "off", "addr", "len",
                 "op_flags", "user_data", "buf_index", "personality", "splice_fd_in",
                 "addr3", "opdef", "file", "cmd", "expected", "chain", "pos",
                 "init_error", "poll_events", "poll_file", "cflags", "kbuf", "kbuf_want",
                 "creds", "rsrc", "fault", "attr", "big_cqe", "live", "iowq", "ring_waited",
                 "__weakref__")

    def __init__(self, ring, task, sqe):
        (self.opcode, self.flags, self.ioprio, self.fd, self.off, self.addr, self.len,
         self.op_flags, self.user_data, self.buf_index, self.personality,
         self.splice_fd_in, self.addr3, self.attr) = sqe    # attr: sqe->attr_type_mask
        self.ring = ring
        self.task = task
        # Counted in ring.live until release() (ctx->nr_req_allocated: what
        # IOSQE_IO_DRAIN waits for).
        self.live = True
        ring.live += 1
        self.opdef = None
        self.file = None
        self.cmd = None           # the op's own state, set by its prep (see above)
        self.expected = None      # bytes asked for: a short transfer breaks a link
        self.chain = None
        self.pos = 0
        self.init_error = 0
        self.poll_events = 0      # what a request that would block waits for
        self.poll_file = None     # the file to wait on when it is not self.file
        self.cflags = 0           # IORING_CQE_F_* for the completion (e.g. F_BUFFER)
        self.big_cqe = None       # (extra1, extra2): a 32-byte CQE's big_cqe[] (ringlayout.py)
        self.kbuf = None          # provided buffer held while issuing (kbuf.py)
        self.kbuf_want = 0        # bytes wanted from it (0: the whole buffer)
        self.creds = None         # a registered personality's Creds (personality.py)
        self.rsrc = None          # tagged resources it uses (rsrc_node.py), held to the end
        self.fault = None         # an --inject action for it (inject.py), or None
        # Would Linux issue it from an io-wq worker?  0 no; IOWQ_PUNT: the head
        # of a link left open at the end of a batch (io_queue_iowq without
        # REQ_F_FORCE_ASYNC); IOWQ_FORCE: REQ_F_FORCE_ASYNC (IOSQE_ASYNC, or
        # the drain's slow path).  rw.py acts on it.
        self.iowq = 0
        # A READ/WRITE on a ring fd waiting for that ring to be ready: the
        # ring's posted count when it began to wait (rw.py _ring_rw), or None.
        self.ring_waited = None

    @property
    def file_index(self):
        """sqe->file_index (the u32 in the splice_fd_in union): a direct
        descriptor slot, 1-based, or IORING_FILE_INDEX_ALLOC."""
        return self.splice_fd_in & 0xFFFFFFFF

    @property
    def links_next(self):
        return bool(self.flags & (abi.IOSQE_IO_LINK | abi.IOSQE_IO_HARDLINK))

    def poll_fd(self):
        """The fd a request that would block waits on (see submit._issue_one):
        its file's, unless the op chose another (a splice waiting for input)."""
        return (self.poll_file if self.poll_file is not None else self.file).poll_fd()

    def hold(self, node):
        """Keep a tagged registered file or buffer's node until release()."""
        node.get()
        if self.rsrc is None:
            self.rsrc = [node]
        else:
            self.rsrc.append(node)

    def release(self):
        if self.live:
            self.live = False
            ring = self.ring
            if ring.submitting:
                # Completed within a batch: freed only at the batch's flush
                # (submit._flush), and counted as allocated until then.
                ring.unflushed += 1
            else:
                ring.live -= 1
        if self.file is not None:
            self.file.put()
            self.file = None
        if self.rsrc is not None:
            nodes, self.rsrc = self.rsrc, None
            for node in nodes:
                node.put()
        if self.opdef is not None and self.opdef.cleanup is not None:
            self.opdef.cleanup(self)
