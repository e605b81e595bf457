"""pysentry: a gVisor-style application kernel ("Sentry") written in Python.

The components live in top-level directories of the source tree --
``platform/`` (ptrace), ``sentry/`` (syscalls, tasks, io_uring, CLI), ``vfs/``
and ``mm/`` -- and are imported only as ``pysentry.platform``,
``pysentry.sentry``, ... .  Those directories deliberately have no
``__init__.py``: a regular package called ``platform`` at the repository root
would shadow the standard library's ``platform`` module for anyone running
Python from the checkout.

An installed wheel maps them into this package (pyproject.toml's
package-dir).  Imported from a checkout (its pyproject.toml beside this
package), the finder below maps exactly those four names onto that checkout,
ahead of any other finder -- so a second checkout or worktree runs its own
components even where an editable install points elsewhere; nothing else of
the checkout becomes importable as pysentry.*.
"""
import importlib.machinery as _machinery
import os as _os
import sys as _sys

COMPONENTS = ("sentry", "platform", "vfs", "mm")
_SOURCE_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))


class _SourceTreeFinder:
    """pysentry.<component> -> <checkout>/<component>, for a bare checkout."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        prefix, _, component = name.partition(".")
        if prefix != __name__ or component not in COMPONENTS:
            return None
        where = _os.path.join(_SOURCE_ROOT, component)
        if not _os.path.isdir(where):
            return None
        spec = _machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [where]
        return spec


if (_os.path.exists(_os.path.join(_SOURCE_ROOT, "pyproject.toml"))
        and not any(getattr(f, "__name__", "") == "_SourceTreeFinder" for f in _sys.meta_path)):
    _sys.meta_path.insert(0, _SourceTreeFinder)

__version__ = "0.1.0"
