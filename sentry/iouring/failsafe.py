"""A request never disappears: a Sentry bug completes it with -EIO.

Linux has no such path -- a request always ends with its op's own result --
but a Sentry written in Python can raise where it should not (an
AttributeError in an op's prep or issue, say).  Left to unwind, that
exception would escape io_uring_enter: the SQE consumed, no CQE ever posted,
and a program waiting for it hung.  So submit.py and taskwork.py catch
anything an op raises that is not an OSError (those carry the errno Linux
gives) and complete the request with -EIO, and the Sentry says so on stderr:
the traceback the first time a (phase, opcode, exception type) goes wrong,
a count afterwards, so a loop that keeps hitting it cannot flood the
program's stderr.

For tests, PYSENTRY_FAULT=phase:OPNAME[,phase:OPNAME...] (phase is prep,
issue or taskwork) makes that step of that op raise such an error, which
proves the path without waiting for a real bug.
"""
import errno
import os
import sys
import traceback

_seen = {}


def _parse(spec):
    faults = set()
    for item in filter(None, spec.split(",")):
        phase, _, name = item.partition(":")
        faults.add((phase.strip(), name.strip().upper()))
    return frozenset(faults)


FAULTS = _parse(os.environ.get("PYSENTRY_FAULT", ""))


class InjectedFault(RuntimeError):
    """The error PYSENTRY_FAULT raises."""


def maybe_fail(phase, req):
    """Raise InjectedFault if PYSENTRY_FAULT asks for it at this step."""
    if (phase, req.opdef.name if req.opdef is not None else "") in FAULTS:
        raise InjectedFault("PYSENTRY_FAULT=%s:%s" % (phase, req.opdef.name))


def report(phase, req, exc):
    """Report exc, raised while running req's `phase`; returns -EIO, the
    result the request completes with."""
    name = req.opdef.name if req.opdef is not None else "opcode %d" % req.opcode
    key = (phase, name, type(exc).__name__)
    count = _seen.get(key, 0) + 1
    _seen[key] = count
    if count == 1:
        sys.stderr.write("pysentry: internal error in %s of %s (user_data %#x); the request "
                         "completes with -EIO:\n%s" % (
                             phase, name, req.user_data,
                             "".join(traceback.format_exception(exc))))
    elif count & (count - 1) == 0:
        sys.stderr.write("pysentry: internal error in %s of %s again (%d times)\n"
                         % (phase, name, count))
    return -errno.EIO
