"""The Sentry's C hot paths as one cffi (API mode) extension.

  mm/native/copyio.c               file <-> child memory in one call
  sentry/iouring/native/dataplane.c the io_uring data plane: hot SQEs to CQEs,
                                    and every CQ post (one writer at a time)
  sentry/iouring/native/sqpoll.c    the SQ polling thread, which runs the data
                                    plane itself, and ring-flag atomics
  platform/native/trap.c            the trap loop's wait and answer at a stop, and
                                    the trap step serving the hottest stops in C

Built on first use, keyed by a hash of the sources (an edited source is
rebuilt), into build/native/ of a source checkout, or for an installed
package into $XDG_CACHE_HOME/pysentry/native (~/.cache/...).  If no C compiler is available
the Sentry says so once on stderr and falls back: the copy path to Python
(same results, slower); IORING_SETUP_SQPOLL is then refused with EINVAL.
"""
import hashlib
import importlib.util
import os
import sys

import pysentry.mm
import pysentry.platform
import pysentry.sentry.iouring

# One compilation unit, in this order: sqpoll.c uses dataplane.c's ring.
_SOURCES = [os.path.join(pysentry.mm.__path__[0], "native", "copyio.c"),
            os.path.join(pysentry.sentry.iouring.__path__[0], "native", "dataplane.c"),
            os.path.join(pysentry.sentry.iouring.__path__[0], "native", "sqpoll.c"),
            os.path.join(pysentry.platform.__path__[0], "native", "trap.c")]
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _build_dir():
    if os.path.exists(os.path.join(_CHECKOUT, "pyproject.toml")):
        return os.path.join(_CHECKOUT, "build", "native")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(cache, "pysentry", "native")
_CDEF = """
struct ps_fdmap;
struct ps_ring {
    uint32_t sq_head, cq_tail, cq_cached;
    uint64_t posted, cq_count, signalled;
    int owner, kick_pending, overflow, enabled, drain_disabled, ready_raised;
    int enter_fast, single_tid, ready_set;
    uint64_t id;
    ...;
};
#define PS_OWNER_PY 0
#define PS_OWNER_SQT 1
struct ps_fdmap *ps_fdmap_new(void);
void ps_fdmap_unref(struct ps_fdmap *m);
int ps_fdmap_set(struct ps_fdmap *m, int fd, int hostfd, int kind);
int ps_fdmap_set_ring(struct ps_fdmap *m, int fd, struct ps_ring *r);
struct ps_ring *ps_ring_new(void *mem, const unsigned *offs, unsigned sq_entries,
                            unsigned cq_entries, int compat, int owner,
                            unsigned sqe_size, int cq_mode);
void ps_ring_detach(struct ps_ring *r);
void ps_ring_remap(struct ps_ring *r, void *mem, const unsigned *offs, unsigned sq_entries,
                   unsigned cq_entries);
void ps_ring_free(struct ps_ring *r);
int ps_ring_post(struct ps_ring *r, uint64_t ud, int32_t res, uint32_t cflags,
                 uint64_t extra1, uint64_t extra2, int counts, int force_overflow);
int ps_ring_post_if_room(struct ps_ring *r, uint64_t ud, int32_t res, uint32_t cflags);
int ps_ring_write_cqe(struct ps_ring *r, uint64_t ud, int32_t res, uint32_t cflags,
                      uint64_t extra1, uint64_t extra2);
void ps_ring_overflow_flushed(struct ps_ring *r);
int ps_ring_pop_sqe(struct ps_ring *r, void *out);
int ps_ring_take_signal(struct ps_ring *r);
void ps_ring_set_ready_fd(struct ps_ring *r, int fd);
int ps_ring_take_ready(struct ps_ring *r);
void ps_ring_set_flags(struct ps_ring *r, int enabled, int blocked, int notify_wanted);
void ps_ring_set_eventfd(struct ps_ring *r, int fd);
int ps_ring_set_files(struct ps_ring *r, const int *fds, unsigned n);
void ps_ring_set_file(struct ps_ring *r, unsigned index, int fd);
int ps_ring_set_bufs(struct ps_ring *r, const uint64_t *pairs, unsigned n);
void ps_ring_set_sq_task(struct ps_ring *r, int pid, struct ps_fdmap *m);
void ps_ring_set_owner(struct ps_ring *r, int owner);
unsigned ps_dp_submit(struct ps_ring *r, int owner, int pid, struct ps_fdmap *fdmap,
                      unsigned max, char *bounce, unsigned *submitted);
struct ps_sqpoll;
struct ps_sqpoll *ps_sqpoll_start(struct ps_ring *ring, int kick_fd, int wake_fd,
                                  unsigned idle_ms, int cpu);
void ps_sqpoll_wake(struct ps_sqpoll *sq);
int ps_sqpoll_asleep(struct ps_sqpoll *sq);
uint64_t ps_sqpoll_count(struct ps_sqpoll *sq);
int ps_sqpoll_set_affinity(struct ps_sqpoll *sq, const unsigned char *mask, unsigned len);
void ps_sqpoll_stop(struct ps_sqpoll *sq);
void ps_atomic_or32(void *addr, uint32_t v);
void ps_atomic_and32(void *addr, uint32_t v);
int ps_wait_stop(int flags, uint64_t *out);
int ps_return(int tid, long result);
int ps_cont(int tid, int sig);
#define PS_TK_NONE 0
#define PS_TK_SERVE 1
#define PS_TK_PASS 2
#define PS_TK_RING 3
#define PS_TRAP_RINGS 8
struct ps_ttask {
    int tid;
    int enabled;
    uint64_t stops;
    uint64_t ip;
    uint64_t rings[8];
    uint32_t nrings;
    uint32_t cont[6];
    ...;
};
struct ps_trap {
    char *bounce;
    int pass_writes;
    uint64_t counts[4];
    uint64_t enters, enter_reqs;
    ...;
};
struct ps_ttask *ps_ttask_new(int tid);
void ps_ttask_set_fdmap(struct ps_ttask *t, struct ps_fdmap *m);
void ps_ttask_free(struct ps_ttask *t);
void ps_trap_set_tasks(struct ps_trap *tr, struct ps_ttask **tasks, unsigned n);
int ps_trap_loop(struct ps_trap *tr, int flags, uint64_t deadline_ns, uint64_t *out);
ssize_t ps_read_to_child(int fd, int pid, uint64_t addr, size_t len, int64_t off, int flags,
                         char *bounce);
ssize_t ps_write_from_child(int fd, int pid, uint64_t addr, size_t len, int64_t off, int flags,
                            char *bounce);
"""


def _load():
    source = b""
    for path in _SOURCES:
        with open(path, "rb") as f:
            source += f.read() + b"\n"
    tag = hashlib.sha256(source + _CDEF.encode()).hexdigest()[:12]
    name = "_pysentry_native_%s" % tag
    outdir = _build_dir()
    final = os.path.join(outdir, name + ".so")
    if not os.path.exists(final):
        import shutil
        import tempfile

        import cffi
        ffibuilder = cffi.FFI()
        ffibuilder.cdef(_CDEF)
        ffibuilder.set_source(name, source.decode(), extra_compile_args=["-O2", "-pthread", "-Wall"],
                              libraries=["pthread"])
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
    sys.stderr.write("pysentry: C hot paths unavailable (%s); using Python\n" % e)
    ffi = lib = None
