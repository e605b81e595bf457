"""A human-readable trace of io_uring traffic (`pysentry run --trace-uring`)."""
import sys

from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.opdef import OPS, op_name
from pysentry.sentry.syscalls import numbers


class UringTrace:
    def __init__(self, out=None):
        self.out = out or sys.stderr

    def _emit(self, line):
        self.out.write("[io_uring] " + line + "\n")
        self.out.flush()

    def setup(self, ring, task):
        self._emit("setup tid=%d sq_entries=%d cq_entries=%d flags=%#x"
                   % (task.tid, ring.sq_entries, ring.cq_entries, ring.flags))

    def setup_failed(self, task, entries, flags, res):
        self._emit("setup tid=%d entries=%d flags=%s failed res=%d"
                   % (task.tid, entries, abi.setup_flag_names(flags), res))

    def register(self, task, opcode, nr_args, res):
        self._emit("register tid=%d op=%s nr_args=%d res=%d"
                   % (task.tid, abi.register_name(opcode & 0xFF), nr_args, res))

    def enter(self, task, fd, to_submit, min_complete, flags):
        self._emit("enter tid=%d fd=%d to_submit=%d min_complete=%d flags=%#x"
                   % (task.tid, fd, to_submit, min_complete, flags))

    def sqe(self, ring, req):
        self._emit("sqe tid=%d op=%s%s flags=%#x fd=%d off=%d addr=%#x len=%d user_data=%d"
                   % (req.task.tid, op_name(req.opcode),
                      "" if req.opcode in OPS else "(unimplemented)", req.flags, req.fd,
                      numbers.signed64(req.off),
                      req.addr, req.len, req.user_data))

    def cqe(self, ring, user_data, res, flags):
        self._emit("cqe user_data=%d res=%d flags=%#x" % (user_data, res, flags))
