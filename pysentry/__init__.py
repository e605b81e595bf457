"""pysentry: a gVisor-style application kernel ("Sentry") written in Python.

The components live in top-level directories of the source tree --
``platform/`` (ptrace), ``sentry/`` (syscalls, tasks, io_uring, CLI), ``vfs/``
and ``mm/`` -- and are imported only as ``pysentry.platform``,
``pysentry.sentry``, ... .  Those directories deliberately have no
``__init__.py``: a regular package called ``platform`` at the repository root
would shadow the standard library's ``platform`` module for anyone running
Python from the checkout.  Namespace directories never win over a real module,
so we extend this package's search path to the source root instead.
"""
import os as _os

_SOURCE_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _SOURCE_ROOT not in __path__:
    __path__.append(_SOURCE_ROOT)

__version__ = "0.1.0"
