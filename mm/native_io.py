"""C hot path for moving file data to and from child memory (cffi, API mode).

Built on first use into build/native/ next to the source tree, keyed by a hash
of the C source, so an edited source is rebuilt.  If no C compiler is available
the Sentry falls back to the pure-Python path (same results, slower) and says
so once on stderr.
"""
import hashlib
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_SRC = os.path.join(_HERE, "native", "copyio.c")
_CDEF = """
ssize_t ps_read_to_child(int fd, int pid, uint64_t addr, size_t len, int64_t off, int flags,
                         char *bounce);
ssize_t ps_write_from_child(int fd, int pid, uint64_t addr, size_t len, int64_t off, int flags,
                            char *bounce);
"""


def _load():
    with open(_SRC, "rb") as f:
        source = f.read()
    tag = hashlib.sha256(source + _CDEF.encode()).hexdigest()[:12]
    name = "_pysentry_copyio_%s" % tag
    outdir = os.path.join(os.path.dirname(_HERE), "build", "native")
    final = os.path.join(outdir, name + ".so")
    if not os.path.exists(final):
        import shutil
        import tempfile

        import cffi
        ffibuilder = cffi.FFI()
        ffibuilder.cdef(_CDEF)
        ffibuilder.set_source(name, source.decode(), extra_compile_args=["-O2"])
        os.makedirs(outdir, exist_ok=True)
        # Build privately, then rename into place: several Sentries may start
        # at once (parallel test runs) and must never load a half-written file.
        tmp = tempfile.mkdtemp(dir=outdir)
        try:
            built = ffibuilder.compile(tmpdir=tmp, verbose=False)
            os.replace(built, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    spec = importlib.util.spec_from_file_location(name, final)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ffi, mod.lib


try:
    ffi, lib = _load()
except Exception as e:      # no compiler, read-only tree, ...: stay correct, go slower
    sys.stderr.write("pysentry: C copy path unavailable (%s); using Python\n" % e)
    ffi = lib = None
