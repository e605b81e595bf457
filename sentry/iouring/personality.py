"""IORING_REGISTER_PERSONALITY / IORING_UNREGISTER_PERSONALITY.

Registering snapshots the calling thread's credentials and returns an id; an
SQE naming that id in sqe->personality runs with those credentials instead of
the submitter's (see sentry/creds.py for how the Sentry applies them).  As in
Linux (io_uring/register.c) ids are allocated cyclically from 1 to 65535 --
0 means "no personality" in an SQE -- and an unknown id fails the request, or
the unregister, with -EINVAL.
"""
import errno

from pysentry.sentry import creds

MAX_ID = 0xFFFF


def register_personality(kernel, task, ring, arg, nr_args):
    if arg or nr_args:
        raise OSError(errno.EINVAL, "takes no arguments")
    table = ring.personalities
    if len(table) >= MAX_ID:
        raise OSError(errno.EBUSY, "no free personality id")
    pid = ring.pers_next
    while pid in table:
        pid = pid % MAX_ID + 1
    table[pid] = creds.of_task(task.tid)
    ring.pers_next = pid % MAX_ID + 1
    return pid


def unregister_personality(kernel, task, ring, arg, nr_args):
    if arg:
        raise OSError(errno.EINVAL, "takes no pointer")
    if ring.personalities.pop(nr_args, None) is None:
        raise OSError(errno.EINVAL, "no such personality")
    return 0


def creds_for(req):
    """The credentials a request runs with: its registered personality (set
    at init); else, on an SQPOLL ring, the ring creator's (the SQ thread
    submits with ctx->sq_creds); else the submitting thread's current ones."""
    if req.creds is not None:
        return req.creds
    if req.ring.sq_creds is not None:
        return req.ring.sq_creds
    return creds.of_task(req.task.tid)


def borrows_creds(req):
    """Does req run with other credentials than its thread's own?  Then the
    Sentry must make its host calls itself rather than inject them."""
    return req.creds is not None or req.ring.sq_creds is not None


def as_submitter(req):
    """Context manager around a host call the Sentry makes for req: access is
    checked with the request's credentials (creds_for)."""
    return creds.acting_as(creds_for(req))
