/* The trap loop's two hottest steps, each one C call instead of several
 * Python ones (platform/tracer.py):
 *
 *   ps_wait_stop   waitpid(2) for the next ptrace event and, if it is a
 *                  seccomp stop, PTRACE_GET_SYSCALL_INFO for it;
 *   ps_cont        PTRACE_CONT, for a call the host runs as it is;
 *   ps_return      answer a seccomp stop with a result and resume: the call
 *                  is skipped (orig_rax = -1, as a tracer skips a syscall at
 *                  its seccomp stop) and returns `result` (rax), then
 *                  PTRACE_CONT.  Two PTRACE_POKEUSERs, not GETREGS+SETREGS:
 *                  SETREGS rewrites every register (fs_base and gs_base
 *                  included), two words are all that change.
 *
 *   ps_trap_loop   the trap step: waits like ps_wait_stop, and answers
 *                  the hottest stops itself, looping, without going back
 *                  to Python (below).
 *
 * All return -errno on failure, as the caller raises it.
 *
 * The trap step.  Most stops of an I/O-bound program are a read, write,
 * pread64 or pwrite64 that the host runs as it is: on a regular file, a
 * pipe, a socket, /dev/zero -- any file but an io_uring ring, whose fd is
 * the same open file description as the Sentry's, so that the host's
 * result is Linux's (sentry/syscalls/file_io.py says why, regular files
 * and their position included).  For those ps_trap_loop does in C what
 * file_io.py does, and waits for the next stop:
 *
 *   read/write/pread64/pwrite64 on an fd of kind PS_TK_PASS: PTRACE_CONT,
 *     the host runs the call (a write only while Python wants nothing at its
 *     exit: pass_writes, set by Python before each call);
 *   pread64/pwrite64 on an fd whose kind is PS_TK_SERVE -- a regular file,
 *     only when the Sentry serves those itself (PYSENTRY_SERVE_FILES=1,
 *     kept to measure and test serving) --, of 1..CHUNK bytes at an offset
 *     below 2^63 from a buffer inside user space (file_io.py's _simple()):
 *     copyio.c's ps_read_to_child/ps_write_from_child on the Sentry's host
 *     fd (the same open file description as the program's), then the
 *     result (two POKEUSERs and PTRACE_CONT).
 *   io_uring_enter on an fd of kind PS_TK_RING (the map also holds the
 *     ring's C block) with flags 0 or GETEVENTS, by a thread that has used
 *     the ring before (its ids in rings[], kept by tctx.add_node), on a ring
 *     whose enter_fast flag Python has set (dataplane.enter_sync: no
 *     SQPOLL, DEFER_TASKRUN, overflow, waiters, timeouts, batch work,
 *     tracing or fault injection...): dataplane.c's ps_dp_enter() runs the
 *     data plane's submit of the SQEs asked for, and if it took them all
 *     and no wait is needed, does what enter.py does after (the ring fd's
 *     readiness, the registered eventfd) and the result is returned as
 *     above.  If the data plane stopped at an SQE, or GETEVENTS must wait,
 *     the stop goes to Python with what C submitted in t->cont, and
 *     enter.py continues the batch from exactly there (never twice, never
 *     one lost).
 *
 * Only 64-bit-ABI calls of a thread Python has marked `enabled` (no
 * injection under way, no io_uring task work queued: tracer.py keeps the
 * flag) are served; every other stop -- another syscall, another ABI,
 * an fd Python has not described, any case above not met, a signal, an
 * exit, a ptrace event -- goes back to Python with ps_wait_stop's out[]
 * filled, to be handled exactly as before.  The kinds live in the fd
 * table's map that the io_uring data plane already reads (dataplane.c's
 * struct ps_fdmap), under its read lock: Python updates the map before it
 * closes a host fd the map names, and only runs while this loop does not.
 * Counters (per thread for the placement watchdog, per syscall for --stats,
 * and the requests io_uring_enter submitted here, which are the data
 * plane's) are read by Python.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

#define PS_EVENT_SECCOMP 7
#define PS_GET_SYSCALL_INFO 0x420e
#define PS_INFO_SECCOMP 3

/* struct ptrace_syscall_info (include/uapi/linux/ptrace.h), its seccomp part. */
struct ps_syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t instruction_pointer;
	uint64_t stack_pointer;
	uint64_t nr;
	uint64_t args[6];
	uint32_t ret_data;
	uint32_t pad2;
};

/* out[1..11] of a seccomp stop, as ps_wait_stop describes them. */
static void fill_call(const struct ps_syscall_info *info, uint64_t *out)
{
	out[1] = 1;
	out[2] = info->arch;
	out[3] = info->nr;
	for (int i = 0; i < 6; i++)
		out[4 + i] = info->args[i];
	out[10] = info->instruction_pointer;
	out[11] = info->stack_pointer;
}

/* Wait for the next event (flags: WNOHANG or 0; __WALL is added).  Returns
 * the pid (0: none waiting with WNOHANG; -errno, -EINTR included) and fills out[]:
 *   out[0] the wait status, out[1] 1 if this is a seccomp stop whose call
 *   follows: out[2] arch, out[3] nr, out[4..9] args, out[10] ip, out[11] sp
 * -- plain words Python unpacks in one call. */
int ps_wait_stop(int flags, uint64_t *out)
{
	struct ps_syscall_info info;
	int status;
	/* EINTR goes back to Python, whose signal handlers (SIGINT's
	 * KeyboardInterrupt) run only once the call returns. */
	pid_t pid = waitpid(-1, &status, flags | __WALL);
	if (pid <= 0)
		return pid < 0 ? -errno : 0;
	out[0] = (uint32_t)status;
	out[1] = 0;
	if (WIFSTOPPED(status) && (status >> 8) == (SIGTRAP | (PS_EVENT_SECCOMP << 8)) &&
	    ptrace(PS_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) > 0 &&
	    info.op == PS_INFO_SECCOMP)
		fill_call(&info, out);
	return pid;
}

/* Resume a stopped task (PTRACE_CONT), delivering sig if not 0. */
int ps_cont(int tid, int sig)
{
	return ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig) < 0 ? -errno : 0;
}

int ps_return(int tid, long result)
{
	if (ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, orig_rax),
		   (void *)-1L) < 0)
		return -errno;
	if (ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, rax),
		   (void *)result) < 0)
		return -errno;
	if (ptrace(PTRACE_CONT, tid, 0, 0) < 0)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------------ trap step */
#define PS_AUDIT_ARCH_X86_64 0xc000003eu
#define PS_TRAP_CHUNK (1ull << 20)         /* vfs/file.py CHUNK */
#define PS_TRAP_ADDR_LIMIT (1ull << 47)     /* mm/child_memory.py access_ok() */

/* One traced thread, as the trap step sees it (tracer.py owns it). */
struct ps_ttask {
	int tid;
	int enabled;                /* its seccomp stops may be served here */
	struct ps_fdmap *fdmap;     /* its fd table (a reference) */
	uint64_t stops;             /* stops served here (placement.py adds them) */
	uint64_t ip;                /* the last served call's instruction pointer, 0: none since Python's */
	/* io_uring_enter: the rings this thread has used (their ids, as
	 * tctx.add_node records them; PS_TRAP_RINGS at most, more stay with
	 * Python), and what C submitted of the call it hands back to Python
	 * (ps_dp_enter's cont[]: valid, count, consumed, requests, CQ slots
	 * and CQEs taken). */
	uint64_t rings[8];
	uint32_t nrings;
	uint32_t cont[6];
};
#define PS_TRAP_RINGS 8

/* The loop's state, one per tracer. */
struct ps_trap {
	struct ps_ttask **tasks;
	unsigned ntasks;
	struct ps_ttask *last;      /* the thread of the previous stop: the likeliest next */
	char *bounce;               /* the Sentry thread's bounce buffer (vfs/file.py's) */
	int pass_writes;            /* writes to PS_TK_PASS fds may simply continue */
	uint64_t counts[4];         /* served here: read, write, pread64, pwrite64 */
	uint64_t enters;            /* io_uring_enter calls served here */
	uint64_t enter_reqs;        /* requests they (or calls handed on) submitted */
};

struct ps_ttask *ps_ttask_new(int tid)
{
	struct ps_ttask *t = calloc(1, sizeof(*t));
	if (t)
		t->tid = tid;
	return t;
}

void ps_ttask_set_fdmap(struct ps_ttask *t, struct ps_fdmap *m)
{
	fdmap_ref(m);
	ps_fdmap_unref(t->fdmap);
	t->fdmap = m;
}

void ps_ttask_free(struct ps_ttask *t)
{
	if (t) {
		ps_fdmap_unref(t->fdmap);
		free(t);
	}
}

void ps_trap_set_tasks(struct ps_trap *tr, struct ps_ttask **tasks, unsigned n)
{
	tr->tasks = tasks;
	tr->ntasks = n;
	tr->last = NULL;
}

static struct ps_ttask *trap_task(struct ps_trap *tr, int pid)
{
	struct ps_ttask *t = tr->last;
	if (t && t->tid == pid)
		return t;
	for (unsigned i = 0; i < tr->ntasks; i++)
		if (tr->tasks[i]->tid == pid)
			return tr->last = tr->tasks[i];
	return NULL;
}

/* io_uring_enter on a ring fd (PS_TK_RING) of a thread that has used the
 * ring, with flags 0 or GETEVENTS (enter.py masks the four arguments to 32
 * bits; a negative fd is Python's): dataplane.c's ps_dp_enter() decides
 * and does the rest.  1 served, 0 Python's (t->cont set if C submitted). */
static int trap_enter(struct ps_trap *tr, struct ps_ttask *t, int pid,
		      const struct ps_syscall_info *in)
{
	uint32_t fd = (uint32_t)in->args[0], to_submit = (uint32_t)in->args[1];
	uint32_t min_complete = (uint32_t)in->args[2], flags = (uint32_t)in->args[3];
	struct ps_fdmap *m = t->fdmap;
	struct ps_ring *r = NULL;
	if (flags & ~1u || fd > 0x7fffffffu)        /* only IORING_ENTER_GETEVENTS */
		return 0;
	pthread_rwlock_rdlock(&m->lock);
	if (fd < m->n && m->kinds[fd] == PS_TK_RING && fd < m->nrings)
		r = m->rings[fd];
	pthread_rwlock_unlock(&m->lock);
	if (!r)
		return 0;
	if (to_submit) {
		/* io_uring_add_tctx_node() must be a no-op: the thread has
		 * used this ring already (tctx.py). */
		uint32_t i;
		for (i = 0; i < t->nrings && t->rings[i] != r->id; i++)
			;
		if (i == t->nrings)
			return 0;
	}
	long result;
	unsigned reqs;
	int rc = ps_dp_enter(r, pid, m, to_submit, min_complete, flags, tr->bounce, t->cont,
			     &result, &reqs);
	tr->enter_reqs += reqs;
	if (!rc)
		return 0;
	int err = ps_return(pid, result);
	if (err < 0)
		return err;
	t->stops++;
	t->ip = in->instruction_pointer;
	tr->enters++;
	return 1;
}

/* Serve one seccomp stop if it is one of the cases above: 1 answered and
 * resumed, 0 Python's, -errno a ptrace call failed. */
static int trap_serve(struct ps_trap *tr, struct ps_ttask *t, int pid,
		      const struct ps_syscall_info *in)
{
	uint64_t nr = in->nr;
	int write;
	if (in->arch != PS_AUDIT_ARCH_X86_64 || !t->fdmap)
		return 0;
	switch (nr) {
	case 0:         /* read */
	case 17:        /* pread64 */
		write = 0;
		break;
	case 1:         /* write */
	case 18:        /* pwrite64 */
		write = 1;
		break;
	case 426:       /* io_uring_enter */
		return trap_enter(tr, t, pid, in);
	default:
		return 0;   /* x32 calls (bit 30 set) land here too */
	}
	/* The fd is an int (numbers.signed_fd); a negative one, or a register
	 * with high bits set, is Python's. */
	if (in->args[0] > 0x7fffffffu)
		return 0;
	int fd = (int)in->args[0];
	struct ps_fdmap *m = t->fdmap;
	long result;
	pthread_rwlock_rdlock(&m->lock);
	int kind = (uint32_t)fd < m->n ? m->kinds[fd] : 0;
	if (kind == PS_TK_PASS) {
		pthread_rwlock_unlock(&m->lock);
		if (write && !tr->pass_writes)
			return 0;
		if (ptrace(PTRACE_CONT, pid, 0, 0) < 0)
			return -errno;
		goto served;
	}
	if (kind != PS_TK_SERVE || nr < 17) {
		pthread_rwlock_unlock(&m->lock);
		return 0;
	}
	uint64_t buf = in->args[1], count = in->args[2], pos = in->args[3];
	if (count == 0 || count > PS_TRAP_CHUNK || pos >= (1ull << 63)
	    || buf > PS_TRAP_ADDR_LIMIT || count > PS_TRAP_ADDR_LIMIT - buf) {
		pthread_rwlock_unlock(&m->lock);
		return 0;
	}
	if (write)
		result = ps_write_from_child(m->fds[fd], pid, buf, count, (int64_t)pos, 0, tr->bounce);
	else
		result = ps_read_to_child(m->fds[fd], pid, buf, count, (int64_t)pos, 0, tr->bounce);
	pthread_rwlock_unlock(&m->lock);
	int err = ps_return(pid, result);
	if (err < 0)
		return err;
served:
	t->stops++;
	t->ip = in->instruction_pointer;
	tr->counts[(nr >= 17 ? 2 : 0) + write]++;
	return 1;
}

/* ps_wait_stop, serving the stops above until one is not (its pid and
 * out[] as ps_wait_stop gives them).  With WNOHANG, 0 once no stop is
 * waiting.  deadline_ns (CLOCK_MONOTONIC, 0: none): after it, 0 once a
 * stop was served, so that Python's timers run. */
int ps_trap_loop(struct ps_trap *tr, int flags, uint64_t deadline_ns, uint64_t *out)
{
	struct ps_syscall_info info;
	int status;
	for (;;) {
		pid_t pid = waitpid(-1, &status, flags | __WALL);
		if (pid <= 0)
			return pid < 0 ? -errno : 0;
		out[0] = (uint32_t)status;
		out[1] = 0;
		if (!(WIFSTOPPED(status) && (status >> 8) == (SIGTRAP | (PS_EVENT_SECCOMP << 8))))
			return pid;
		if (ptrace(PS_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) <= 0
		    || info.op != PS_INFO_SECCOMP)
			return pid;
		fill_call(&info, out);
		struct ps_ttask *t = trap_task(tr, pid);
		if (!t || !t->enabled)
			return pid;
		int r = trap_serve(tr, t, pid, &info);
		if (r == 0)
			return pid;
		/* ESRCH: killed under us (SIGKILL from elsewhere), as Python
		 * ignores it; its exit comes next. */
		if (r < 0 && r != -ESRCH)
			return r;
		if (deadline_ns) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec >= deadline_ns)
				return 0;
		}
	}
}
