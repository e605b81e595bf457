"""A human-readable trace of io_uring traffic (`pysentry run --trace-uring`)."""
import sys

from pysentry.sentry.iouring.opdef import op_name


class UringTrace:
    def __init__(self, out=None):
        self.out = out or sys.stderr

    def _emit(self, line):
        self.out.write("[io_uring] " + line + "\n")
        self.out.flush()

    def setup(self, ring, task):
        self._emit("setup tid=%d sq_entries=%d cq_entries=%d flags=%#x"
                   % (task.tid, ring.sq_entries, ring.cq_entries, ring.flags))

    def sqe(self, ring, req):
        self._emit("sqe tid=%d op=%s flags=%#x fd=%d off=%d addr=%#x len=%d user_data=%d"
                   % (req.task.tid, op_name(req.opcode), req.flags, req.fd,
                      req.off if req.off < 1 << 63 else req.off - (1 << 64),
                      req.addr, req.len, req.user_data))

    def cqe(self, ring, user_data, res, flags):
        self._emit("cqe user_data=%d res=%d flags=%#x" % (user_data, res, flags))
