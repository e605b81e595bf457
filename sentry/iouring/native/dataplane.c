/* The io_uring data plane: hot SQEs run in C, outside the GIL.
 *
 * Python (sentry/iouring/) stays the control plane: it owns the fd table,
 * registered files and buffers, links, drain, timeouts, cancellation and
 * every op that is not listed here, and it exports to this file what the
 * hot path needs (sentry/iouring/dataplane.py):
 *
 *   struct ps_ring   one per ring: where the shared SQ/CQ live, the private
 *                    SQ head and CQ tail (Linux's cached_sq_head and
 *                    cached_cq_tail), the posting counters, the ring lock,
 *                    fixed files as host fds and registered buffers as
 *                    (base, len);
 *   struct ps_fdmap  one per fd table: program fd -> the Sentry's host fd,
 *                    for regular files and block devices only.
 *
 * ps_dp_submit() consumes consecutive hot SQEs -- NOP, READ, WRITE, READV,
 * WRITEV, READ_FIXED, WRITE_FIXED and FSYNC on a regular file or block
 * device -- and posts their CQEs as the Python path would (submit.py and
 * rw.py are the reference: same checks, same host calls, same results).  It
 * stops, without consuming it, at the first SQE it cannot finish exactly
 * as Python would: another opcode, a flag other than FIXED_FILE or
 * CQE_SKIP_SUCCESS (links, drain, IOSQE_ASYNC and buffer selection stay in Python), a
 * personality, read/write attributes (attr_type_mask), the file position
 * (off = -1), an fd Python has not exported, any SQE that would fail its
 * prep (Python reports that and may end the batch, as io_submit_sqes()
 * does) or fail before its I/O (RWF_HIPRI, an iovec segment outside user
 * space), a transfer of 0 bytes (no host call would check the open mode),
 * a copy that faults part-way, or a CQ with no room (Python queues the CQE
 * in its overflow backlog, NODROP).
 * Python then continues from that exact SQE, so requests keep SQ order.
 * ps_dp_enter() is a whole io_uring_enter around it, for the C trap step
 * (platform/native/trap.c), on rings where Python allows it.
 * SQEs are read at the ring's stride (128 bytes with IORING_SETUP_SQE128:
 * only the first 64 matter to these ops) and CQEs written at its size
 * (32 bytes with CQE32, zero big_cqe[]; 16-byte or two-slot ones with
 * CQE_MIXED: cq_take/fill_cqe), for Python's CQEs too.
 *
 * Concurrency.  Every change of ring state that the SQ thread also makes --
 * consuming SQEs, posting CQEs, the exported tables -- happens under the
 * ring's mutex, one SQE at a time.  The SQ is consumed by one side at a
 * time: `owner` says whether the SQ thread or Python (the Sentry's loop)
 * may pop SQEs; Python claims it (ps_ring_claim_sq) before it submits on an
 * SQPOLL ring and gives it back after.  All CQEs, Python's included, are
 * written by ps_ring_post()/ps_ring_write_cqe() under the mutex, so the CQ
 * tail has a single writer at any moment.  An fd table's map has a rwlock:
 * the data plane reads it while a transfer uses the host fd, and Python
 * takes it for writing before it closes any host fd the map names.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* uapi facts (include/uapi/linux/io_uring.h, linux/fs.h) */
#define DP_OP_NOP 0
#define DP_OP_READV 1
#define DP_OP_WRITEV 2
#define DP_OP_FSYNC 3
#define DP_OP_READ_FIXED 4
#define DP_OP_WRITE_FIXED 5
#define DP_OP_READ 22
#define DP_OP_WRITE 23
#define DP_IOSQE_FIXED_FILE (1u << 0)
#define DP_IOSQE_CQE_SKIP_SUCCESS (1u << 6)
#define DP_NOP_INJECT_RESULT (1u << 0)
#define DP_FSYNC_DATASYNC (1u << 0)
#define DP_RWF_SUPPORTED 0x1ffu           /* HIPRI..NOSIGNAL, as vfs/file.py */
#define DP_RWF_HIPRI 0x1u
#define DP_RWF_NOWAIT 0x8u
#define DP_SQ_CQ_OVERFLOW (1u << 1)
#define DP_CQE_F_SKIP (1u << 5)
#define DP_CQE_F_32 (1u << 15)
#define DP_CQ_EVENTFD_DISABLED (1u << 0)
#define DP_MAX_RW_COUNT 0x7ffff000ull     /* INT_MAX & PAGE_MASK */
#define DP_ADDR_LIMIT (1ull << 47)         /* x86-64 TASK_SIZE_MAX, access_ok() */
#define DP_UIO_MAXIOV 1024
#define DP_MAX_IOV 64                     /* more iovecs: Python */
#define DP_CHUNK (1u << 20)               /* vfs/file.py CHUNK: larger transfers loop in Python */

#define PS_OWNER_PY 0
#define PS_OWNER_SQT 1

/* struct ps_fdmap's kinds[], for the trap step (platform/native/trap.c) */
#define PS_TK_NONE 0
#define PS_TK_SERVE 1
#define PS_TK_PASS 2
#define PS_TK_RING 3    /* an io_uring fd: rings[fd] is its ring (io_uring_enter in C) */

struct ps_ring;

struct ps_sqe {
	uint8_t opcode, flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off, addr;
	uint32_t len, op_flags;
	uint64_t user_data;
	uint16_t buf_index, personality;
	int32_t splice_fd_in;
	uint64_t addr3;     /* attr_ptr for READ/WRITE */
	uint64_t pad;       /* attr_type_mask for READ/WRITE (IORING_FEAT_RW_ATTR) */
};

struct ps_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};

/* The CQ's entry sizes (sentry/iouring/ringlayout.py): 16-byte CQEs,
 * 32-byte ones (IORING_SETUP_CQE32: the index counts 32-byte entries), or
 * 16-byte slots where a CQE flagged IORING_CQE_F_32 takes two
 * (IORING_SETUP_CQE_MIXED). */
#define PS_CQ_16 0
#define PS_CQ_32 1
#define PS_CQ_MIXED 2

struct ps_fdmap {
	pthread_rwlock_t lock;
	int *fds;           /* program fd -> host fd, -1 if not hot */
	/* program fd -> what the C trap step (platform/native/trap.c) may do
	 * with read/write/pread64/pwrite64 on it: PS_TK_NONE (ask Python),
	 * PS_TK_SERVE (a regular file the Sentry holds: pread64/pwrite64 are
	 * served in C), PS_TK_PASS (the host runs those calls as they are). */
	uint8_t *kinds;
	uint32_t n;
	/* program fd -> its ring where kinds[] says PS_TK_RING (nrings slots,
	 * grown on demand): the trap step's io_uring_enter (ps_dp_enter).  The
	 * ring block lives while the fd names it: Python clears the slot
	 * before it puts the ring's file. */
	struct ps_ring **rings;
	uint32_t nrings;
	int refs;
};

struct ps_buf {
	uint64_t base, len;
};

struct ps_ring {
	pthread_mutex_t lock;
	char *mem;
	volatile uint32_t *sq_head_p, *sq_tail_p, *sq_flags_p, *sq_dropped_p, *sq_array;
	volatile uint32_t *cq_head_p, *cq_tail_p, *cq_flags_p;
	char *sqes;         /* sqe_size bytes each (IORING_SETUP_SQE128: 128) */
	struct ps_cqe *cqes;
	uint32_t sqe_size;
	int cq_mode;        /* PS_CQ_16, PS_CQ_32 or PS_CQ_MIXED */
	uint32_t sq_entries, sq_mask, cq_entries, cq_mask;
	uint32_t sq_head, cq_tail;      /* the Sentry's own indices */
	uint32_t cq_cached;             /* CQ slots handed out without reading the head */
	uint64_t posted, cq_count, signalled;
	int enabled;        /* the ring may use the data plane (dataplane.py decides) */
	int blocked;        /* drained or deferred chains pending: new SQEs queue behind them */
	int overflow;       /* Python's overflow backlog is not empty */
	int compat;         /* a 32-bit program: compat iovecs */
	int owner;          /* who consumes the SQ: PS_OWNER_PY or PS_OWNER_SQT */
	int notify_wanted;  /* Python must see completions (waiters, ring polls, timeouts) */
	int kick_pending;   /* a notify kick is on its way to Python */
	int drain_disabled; /* CQE_SKIP_SUCCESS seen: IO_DRAIN fails (ctx->drain_disabled) */
	int eventfd;        /* registered eventfd (host fd), or -1 */
	/* The program's ring fd is an eventfd kept readable while CQEs wait
	 * (ready.py).  The SQ thread writes it after a batch it posted (a new
	 * edge for epoll ET watchers) and sets ready_raised first, so Python
	 * knows the count may be non-zero; ready_seen is `posted` when the fd
	 * was last written, by either side (ps_ring_take_ready). */
	int ready_fd;
	int ready_raised;
	uint64_t ready_seen;
	int *files;         /* fixed files: host fd, or -1 (empty, or not hot) */
	uint32_t nr_files;
	struct ps_buf *bufs;
	uint32_t nr_bufs;
	int sq_pid;         /* SQPOLL: whose memory and fds the SQ thread uses */
	struct ps_fdmap *sq_fdmap;
	/* io_uring_enter served in C by the trap step (ps_dp_enter).  Python
	 * (dataplane.enter_sync) sets enter_fast only while everything
	 * enter.py would do beyond the data plane's submit is what
	 * ps_dp_enter does, and clears it on whatever could change that;
	 * single_tid: an IORING_SETUP_SINGLE_ISSUER ring's submitter (0: any
	 * thread).  id: unique per ring (threads name the rings they used by it). */
	int enter_fast;
	int single_tid;
	uint64_t id;
	/* The ring fd's eventfd count is non-zero (ready.py's `set`, kept here
	 * so that both the trap step and Python update it). */
	int ready_set;
};

/* ---------------------------------------------------------------- fd maps */

struct ps_fdmap *ps_fdmap_new(void)
{
	struct ps_fdmap *m = calloc(1, sizeof(*m));
	pthread_rwlockattr_t a;
	if (!m)
		return NULL;
	pthread_rwlockattr_init(&a);
	/* Python's writes (a close) must not starve behind SQ threads reading. */
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->lock, &a);
	pthread_rwlockattr_destroy(&a);
	m->refs = 1;
	return m;
}

static void fdmap_ref(struct ps_fdmap *m)
{
	if (m)
		__atomic_add_fetch(&m->refs, 1, __ATOMIC_SEQ_CST);
}

void ps_fdmap_unref(struct ps_fdmap *m)
{
	if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_SEQ_CST) == 0) {
		pthread_rwlock_destroy(&m->lock);
		free(m->fds);
		free(m->kinds);
		free(m->rings);
		free(m);
	}
}

/* fd -> hostfd (-1: not hot for the data plane) and its trap kind
 * (PS_TK_*, 0: forget it).  Returns 0, or -1 if fd is too large to map (it
 * then simply stays with Python). */
int ps_fdmap_set(struct ps_fdmap *m, int fd, int hostfd, int kind)
{
	int rc = 0;
	if (fd < 0)
		return -1;
	pthread_rwlock_wrlock(&m->lock);
	if ((uint32_t)fd >= m->n) {
		if (hostfd < 0 && !kind)
			goto out;
		uint32_t n = m->n ? m->n : 64;
		while (n <= (uint32_t)fd)
			n *= 2;
		if (n > (1u << 20)) {
			rc = -1;
			goto out;
		}
		int *fds = realloc(m->fds, n * sizeof(int));
		if (!fds) {
			rc = -1;
			goto out;
		}
		m->fds = fds;
		uint8_t *kinds = realloc(m->kinds, n);
		if (!kinds) {
			rc = -1;
			goto out;
		}
		m->kinds = kinds;
		for (uint32_t i = m->n; i < n; i++) {
			fds[i] = -1;
			kinds[i] = 0;
		}
		m->n = n;
	}
	m->fds[fd] = hostfd;
	m->kinds[fd] = (uint8_t)kind;
	if ((uint32_t)fd < m->nrings)
		m->rings[fd] = NULL;    /* ps_fdmap_set_ring() sets it again */
out:
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

/* fd names the ring r (its kind becomes PS_TK_RING).  Returns 0, or -1
 * (the fd then stays with Python). */
int ps_fdmap_set_ring(struct ps_fdmap *m, int fd, struct ps_ring *r)
{
	int rc = ps_fdmap_set(m, fd, -1, PS_TK_RING);
	if (rc < 0)
		return rc;
	pthread_rwlock_wrlock(&m->lock);
	if ((uint32_t)fd >= m->nrings) {
		uint32_t n = m->n;      /* ps_fdmap_set() made fd < n */
		struct ps_ring **rings = realloc(m->rings, n * sizeof(*rings));
		if (!rings) {
			m->kinds[fd] = PS_TK_NONE;
			rc = -1;
			goto out;
		}
		for (uint32_t i = m->nrings; i < n; i++)
			rings[i] = NULL;
		m->rings = rings;
		m->nrings = n;
	}
	m->rings[fd] = r;
out:
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

/* ---------------------------------------------------------------- rings */

/* offs: sq head, sq tail, sq flags, sq dropped, cq head, cq tail, cq flags,
 * cqes, sq array (0: IORING_SETUP_NO_SQARRAY), sqes -- byte offsets into mem. */
static void point_ring(struct ps_ring *r, char *m, const unsigned *offs, unsigned sq_entries,
		       unsigned cq_entries)
{
	r->mem = m;
	r->sq_head_p = (volatile uint32_t *)(m + offs[0]);
	r->sq_tail_p = (volatile uint32_t *)(m + offs[1]);
	r->sq_flags_p = (volatile uint32_t *)(m + offs[2]);
	r->sq_dropped_p = (volatile uint32_t *)(m + offs[3]);
	r->cq_head_p = (volatile uint32_t *)(m + offs[4]);
	r->cq_tail_p = (volatile uint32_t *)(m + offs[5]);
	r->cq_flags_p = (volatile uint32_t *)(m + offs[6]);
	r->cqes = (struct ps_cqe *)(m + offs[7]);
	r->sq_array = offs[8] ? (volatile uint32_t *)(m + offs[8]) : NULL;
	r->sqes = m + offs[9];
	r->sq_entries = sq_entries;
	r->sq_mask = sq_entries - 1;
	r->cq_entries = cq_entries;
	r->cq_mask = cq_entries - 1;
}

struct ps_ring *ps_ring_new(void *mem, const unsigned *offs, unsigned sq_entries,
			    unsigned cq_entries, int compat, int owner, unsigned sqe_size,
			    int cq_mode)
{
	struct ps_ring *r = calloc(1, sizeof(*r));
	char *m = mem;
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	point_ring(r, m, offs, sq_entries, cq_entries);
	r->sqe_size = sqe_size;
	r->cq_mode = cq_mode;
	r->compat = compat;
	r->owner = owner;
	r->eventfd = -1;
	r->ready_fd = -1;
	return r;
}

/* IORING_REGISTER_RESIZE_RINGS (resize.py): the rings now live in `mem`
 * (same offsets as ps_ring_new), with new sizes.  Swapped under the lock,
 * so no SQE pop or CQE post sees half of it; the private SQ head and CQ
 * tail carry on, as Linux's cached_sq_head/cached_cq_tail do, and the cache
 * of free CQ slots is dropped (Linux resets cqe_cached).  Linux resizes
 * only DEFER_TASKRUN rings, which never have an SQ thread (whose idle loop
 * reads the tail and head words without the lock). */
void ps_ring_remap(struct ps_ring *r, void *mem, const unsigned *offs, unsigned sq_entries,
		   unsigned cq_entries)
{
	char *m = mem;
	pthread_mutex_lock(&r->lock);
	if (r->mem) {
		point_ring(r, m, offs, sq_entries, cq_entries);
		r->cq_cached = 0;
	}
	pthread_mutex_unlock(&r->lock);
}

/* The ring's memory is going away: nothing may touch it from now on. */
void ps_ring_detach(struct ps_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->mem = NULL;
	r->enabled = 0;
	r->ready_fd = -1;
	pthread_mutex_unlock(&r->lock);
}

void ps_ring_free(struct ps_ring *r)
{
	pthread_mutex_destroy(&r->lock);
	free(r->files);
	free(r->bufs);
	ps_fdmap_unref(r->sq_fdmap);
	free(r);
}

static uint32_t cq_free(struct ps_ring *r)
{
	uint32_t queued = r->cq_tail - __atomic_load_n(r->cq_head_p, __ATOMIC_ACQUIRE);
	return queued <= r->cq_entries ? r->cq_entries - queued : 0;
}

/* CQEs that can be posted in a row.  Linux reads the CQ head only when it
 * refills its cache of slots (io_cqe_cache_refill: the free slots up to
 * the end of the array) and fills the cached ones without looking again:
 * a program that moves the head back still gets them (fuzzer seeds 1581,
 * 2132, 2411).  With a sane head the cache is within the free space. */
static uint32_t cq_space(struct ps_ring *r)
{
	uint32_t free = cq_free(r);
	return r->cq_cached > free ? r->cq_cached : free;
}

/* Take the CQ slots for one CQE (2 for a 32-byte CQE on a mixed ring),
 * as io_get_cqe_overflow() and io_cqe_cache_refill() do: from the cache,
 * else refill it from the head.  A 32-byte CQE never wraps: with one slot
 * left before the end of the array, a padding CQE (IORING_CQE_F_SKIP)
 * fills it first if the CQ is not full (io_fill_nop_cqe) -- even when the
 * CQE then finds no room after all.  0: no room (overflow). */
static int cq_take(struct ps_ring *r, uint32_t need)
{
	if (r->cq_cached >= need) {
		r->cq_cached -= need;
		return 1;
	}
	uint32_t off = r->cq_tail & r->cq_mask;
	if (need == 2 && r->cq_entries - off == 1) {
		if (!cq_free(r))
			return 0;       /* full: no padding either */
		struct ps_cqe *pad = &r->cqes[off];
		pad->user_data = 0;
		pad->res = 0;
		pad->flags = DP_CQE_F_SKIP;
		r->cq_tail++;
		__atomic_store_n(r->cq_tail_p, r->cq_tail, __ATOMIC_RELEASE);
		off = 0;
	}
	uint32_t len = cq_free(r), contig = r->cq_entries - off;
	if (len > contig)
		len = contig;
	if (len < need) {
		r->cq_cached = 0;
		return 0;
	}
	r->cq_cached = len - need;
	return 1;
}

/* Is this CQE 32 bytes? */
static uint32_t cqe_slots(struct ps_ring *r, uint32_t cflags)
{
	return r->cq_mode == PS_CQ_MIXED && (cflags & DP_CQE_F_32) ? 2 : 1;
}

/* Write one CQE into slots cq_take() gave; a 32-byte one (every CQE of a
 * CQE32 ring) carries big_cqe[] (extra1, extra2). */
static void fill_cqe(struct ps_ring *r, uint32_t slots, uint64_t ud, int32_t res,
		     uint32_t cflags, uint64_t extra1, uint64_t extra2)
{
	uint32_t idx = r->cq_tail & r->cq_mask;
	struct ps_cqe *c = &r->cqes[r->cq_mode == PS_CQ_32 ? 2 * idx : idx];
	c->user_data = ud;
	c->res = res;
	c->flags = cflags;
	if (r->cq_mode == PS_CQ_32 || slots == 2) {
		uint64_t *big = (uint64_t *)(c + 1);
		big[0] = extra1;
		big[1] = extra2;
	}
	r->cq_tail += slots;
	/* The CQE is visible before the tail that publishes it. */
	__atomic_store_n(r->cq_tail_p, r->cq_tail, __ATOMIC_RELEASE);
}

/* Post one CQE if it has room: 1, else 0 (nothing written but a padding CQE). */
static int write_cqe(struct ps_ring *r, uint64_t ud, int32_t res, uint32_t cflags,
		     uint64_t extra1, uint64_t extra2)
{
	uint32_t slots = cqe_slots(r, cflags);
	if (!cq_take(r, slots))
		return 0;
	fill_cqe(r, slots, ud, res, cflags, extra1, extra2);
	return 1;
}

/* Python's Ring.post(): count it, then write it, or tell the caller to put
 * it in the overflow backlog (returns 1; the backlog is then non-empty and
 * IORING_SQ_CQ_OVERFLOW set, as io_cqring_event_overflow() does).  -1: the
 * ring is gone. */
int ps_ring_post(struct ps_ring *r, uint64_t ud, int32_t res, uint32_t cflags,
		 uint64_t extra1, uint64_t extra2, int counts, int force_overflow)
{
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	if (!r->mem) {
		rc = -1;
	} else {
		r->posted++;
		if (counts)
			r->cq_count++;
		/* force_overflow: an --inject overflow rule (inject.py) sends the
		 * CQE to the backlog even with room in the CQ. */
		if (r->overflow || force_overflow
		    || !write_cqe(r, ud, res, cflags, extra1, extra2)) {
			r->overflow = 1;
			__atomic_fetch_or(r->sq_flags_p, DP_SQ_CQ_OVERFLOW, __ATOMIC_SEQ_CST);
			rc = 1;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* A multishot CQE (F_MORE) never overflows: post it only if it fits (0),
 * else 1 and nothing counted -- the request then ends instead
 * (io_req_post_cqe() failing).  One locked step, so the SQ thread cannot
 * fill the slot between the check and the post. */
int ps_ring_post_if_room(struct ps_ring *r, uint64_t ud, int32_t res, uint32_t cflags)
{
	int rc = 1;
	pthread_mutex_lock(&r->lock);
	if (r->mem && !r->overflow && write_cqe(r, ud, res, cflags, 0, 0)) {
		r->posted++;
		r->cq_count++;
		rc = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* Flushing the backlog: write one CQE if there is room (0), else 1. */
int ps_ring_write_cqe(struct ps_ring *r, uint64_t ud, int32_t res, uint32_t cflags,
		      uint64_t extra1, uint64_t extra2)
{
	int rc = 1;
	pthread_mutex_lock(&r->lock);
	if (r->mem && write_cqe(r, ud, res, cflags, extra1, extra2))
		rc = 0;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* The backlog is empty again. */
void ps_ring_overflow_flushed(struct ps_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->overflow = 0;
	if (r->mem)
		__atomic_fetch_and(r->sq_flags_p, ~DP_SQ_CQ_OVERFLOW, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&r->lock);
}

/* Python consumes one SQE (it owns the SQ): copy it to out.  1: an SQE;
 * 0: a bad index, counted in sq_dropped and skipped (io_get_sqe()). */
int ps_ring_pop_sqe(struct ps_ring *r, void *out)
{
	uint32_t head = r->sq_head, idx;
	if (!r->mem)
		return 0;               /* the ring is gone: nothing to consume */
	idx = r->sq_array ? r->sq_array[head & r->sq_mask] : (head & r->sq_mask);
	r->sq_head = head + 1;
	if (idx >= r->sq_entries) {
		__atomic_store_n(r->sq_dropped_p, *r->sq_dropped_p + 1, __ATOMIC_RELAXED);
		__atomic_store_n(r->sq_head_p, r->sq_head, __ATOMIC_RELEASE);
		return 0;
	}
	memcpy(out, r->sqes + (size_t)idx * r->sqe_size, r->sqe_size);
	__atomic_store_n(r->sq_head_p, r->sq_head, __ATOMIC_RELEASE);
	return 1;
}

/* Has the eventfd not been told of every posted CQE?  Marks it told. */
int ps_ring_take_signal(struct ps_ring *r)
{
	int rc;
	pthread_mutex_lock(&r->lock);
	rc = r->posted != r->signalled;
	r->signalled = r->posted;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* The ring fd's eventfd (ready.py), or -1. */
void ps_ring_set_ready_fd(struct ps_ring *r, int fd)
{
	pthread_mutex_lock(&r->lock);
	r->ready_fd = fd;
	pthread_mutex_unlock(&r->lock);
}

/* Has anything been posted since the ring fd was last made readable?
 * Marks it made readable (Python is about to write it: RingReadiness). */
int ps_ring_take_ready(struct ps_ring *r)
{
	int rc;
	pthread_mutex_lock(&r->lock);
	rc = r->posted != r->ready_seen;
	r->ready_seen = r->posted;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void ps_ring_set_flags(struct ps_ring *r, int enabled, int blocked, int notify_wanted)
{
	pthread_mutex_lock(&r->lock);
	r->enabled = enabled && r->mem != NULL;
	r->blocked = blocked;
	r->notify_wanted = notify_wanted;
	pthread_mutex_unlock(&r->lock);
}

void ps_ring_set_eventfd(struct ps_ring *r, int fd)
{
	pthread_mutex_lock(&r->lock);
	r->eventfd = fd;
	pthread_mutex_unlock(&r->lock);
}

/* Fixed files: n slots, each a host fd or -1 (n = 0: none registered). */
int ps_ring_set_files(struct ps_ring *r, const int *fds, unsigned n)
{
	int *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof(int));
		if (!copy)
			n = 0;
		else
			memcpy(copy, fds, n * sizeof(int));
	}
	pthread_mutex_lock(&r->lock);
	free(r->files);
	r->files = copy;
	r->nr_files = n;
	pthread_mutex_unlock(&r->lock);
	return copy || !n ? 0 : -1;
}

void ps_ring_set_file(struct ps_ring *r, unsigned index, int fd)
{
	pthread_mutex_lock(&r->lock);
	if (index < r->nr_files)
		r->files[index] = fd;
	pthread_mutex_unlock(&r->lock);
}

/* Registered buffers: n (base, len) pairs; (0, 0) is an empty slot. */
int ps_ring_set_bufs(struct ps_ring *r, const uint64_t *pairs, unsigned n)
{
	struct ps_buf *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			n = 0;
		else
			memcpy(copy, pairs, n * sizeof(*copy));
	}
	pthread_mutex_lock(&r->lock);
	free(r->bufs);
	r->bufs = copy;
	r->nr_bufs = n;
	pthread_mutex_unlock(&r->lock);
	return copy || !n ? 0 : -1;
}

/* SQPOLL: the task whose memory and fd table the SQ thread submits with. */
void ps_ring_set_sq_task(struct ps_ring *r, int pid, struct ps_fdmap *m)
{
	struct ps_fdmap *old;
	fdmap_ref(m);
	pthread_mutex_lock(&r->lock);
	old = r->sq_fdmap;
	r->sq_pid = pid;
	r->sq_fdmap = m;
	pthread_mutex_unlock(&r->lock);
	ps_fdmap_unref(old);
}

/* SQ ownership: Python claims the SQ before it submits on an SQPOLL ring
 * (waiting for the SQE the SQ thread is on, if any) and gives it back. */
void ps_ring_set_owner(struct ps_ring *r, int owner)
{
	pthread_mutex_lock(&r->lock);
	r->owner = owner;
	pthread_mutex_unlock(&r->lock);
}

/* ---------------------------------------------------------------- the hot ops */

/* SQEs are taken in rounds of up to DP_ROUND under the ring's mutex.  Reads
 * land in the bounce buffer as they are issued and reach the program in one
 * process_vm_writev for the whole round, before the round's CQEs are posted
 * in SQ order (one syscall instead of one per read: about 1 us each).  An
 * SQE that reads the program's memory (a write's data, an iovec array)
 * first waits for the reads before it to land, as it would see them in
 * Linux. */
#define DP_ROUND 32

enum { DP_DECLINE, DP_DONE, DP_PENDING, DP_FLUSH_FIRST };
enum { DP_ITEM_DROPPED, DP_ITEM_DONE, DP_ITEM_READ };

struct dp_item {
	uint64_t user_data;
	uint64_t expected;      /* bytes asked for: a short one is a failure */
	int32_t res;
	uint8_t state;
	uint8_t sqe_flags;
	uint8_t rw;             /* a transfer (short counts fail it) */
};

struct dp_round {
	int pid;
	struct ps_fdmap *fdmap;
	char *bounce;
	size_t used;            /* bounce bytes holding pending reads */
	unsigned nitems, nreads, nremote;
	struct dp_item items[DP_ROUND];
	struct iovec local[DP_ROUND];   /* each pending read's bytes in the bounce buffer */
	struct iovec remote[DP_ROUND];  /* and where they go in the child */
};

/* The host fd of the SQE's file, or -1 (Python resolves it).  The caller
 * holds the fd map's read lock. */
static int dp_file(struct ps_ring *r, const struct ps_sqe *s, struct dp_round *d)
{
	if (s->flags & DP_IOSQE_FIXED_FILE)
		return (uint32_t)s->fd < r->nr_files ? r->files[s->fd] : -1;
	if (!d->fdmap || s->fd < 0)
		return -1;
	return (uint32_t)s->fd < d->fdmap->n ? d->fdmap->fds[s->fd] : -1;
}

static ssize_t dp_preadv2(int fd, void *buf, size_t len, off_t off, int flags)
{
	struct iovec iov = { buf, len };
	ssize_t n;
	do
		n = preadv2(fd, &iov, 1, off, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t dp_pwritev2(int fd, void *buf, size_t len, off_t off, int flags)
{
	struct iovec iov = { buf, len };
	ssize_t n;
	do
		n = pwritev2(fd, &iov, 1, off, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* The child's iovecs of a READ, WRITE, READV, WRITEV, READ_FIXED or
 * WRITE_FIXED (rw.py's prep and _fixed_iovs), clamped to MAX_RW_COUNT;
 * DP_DECLINE for anything Python must report (a prep failure) or does in
 * several steps. */
static int dp_rw_iovs(struct ps_ring *r, const struct ps_sqe *s, struct dp_round *d,
		      struct iovec *riov, int *nr, uint64_t *total)
{
	/* _prep_common(): an ioprio class above 3, or a level under class 0,
	 * fails the prep. */
	if ((s->ioprio >> 13) > 3 || ((s->ioprio >> 13) == 0 && (s->ioprio & 7)))
		return DP_DECLINE;
	/* IORING_FEAT_RW_ATTR: attributes named by attr_type_mask (the u64
	 * after attr_ptr) are read and checked at prep and refused at issue
	 * (rw.py's _prep_attr and _transfer, as io_prep_rw_pi and a file
	 * without integrity metadata do in Linux): Python reports them. */
	if (s->pad)
		return DP_DECLINE;
	/* off = -1 is the file position (FEAT_RW_CUR_POS): Python keeps it
	 * right; a negative offset fails at issue, in Python. */
	if (s->off >= (1ull << 63))
		return DP_DECLINE;
	/* Unknown RWF flags (EOPNOTSUPP), and RWF_HIPRI, which io_rw_init_file()
	 * refuses with EINVAL on a ring without IOPOLL (the only rings served
	 * here) -- but only after the open mode's EBADF: Python keeps the order. */
	if (s->op_flags & ~DP_RWF_SUPPORTED || s->op_flags & DP_RWF_HIPRI)
		return DP_DECLINE;
	*nr = 1;
	switch (s->opcode) {
	case DP_OP_READ:
	case DP_OP_WRITE:
		/* import_ubuf(): the whole range lies in user space. */
		if (s->addr > DP_ADDR_LIMIT || s->len > DP_ADDR_LIMIT - s->addr)
			return DP_DECLINE;
		*total = s->len < DP_MAX_RW_COUNT ? s->len : DP_MAX_RW_COUNT;
		riov[0].iov_base = (void *)(uintptr_t)s->addr;
		riov[0].iov_len = *total;
		break;
	case DP_OP_READ_FIXED:
	case DP_OP_WRITE_FIXED: {
		/* io_import_fixed(): the range must lie inside the buffer. */
		uint64_t len = s->len < DP_MAX_RW_COUNT ? s->len : DP_MAX_RW_COUNT;
		if (s->buf_index >= r->nr_bufs)
			return DP_DECLINE;
		struct ps_buf *b = &r->bufs[s->buf_index];
		if ((b->base == 0 && b->len == 0) || s->addr < b->base
		    || s->addr + len > b->base + b->len || s->addr + len < s->addr)
			return DP_DECLINE;
		riov[0].iov_base = (void *)(uintptr_t)s->addr;
		riov[0].iov_len = len;
		*total = len;
		break;
	}
	default: {
		/* READV/WRITEV: the iovec array is read at prep (SUBMIT_STABLE);
		 * mm/iov.py's read_iovecs() is the reference. */
		uint64_t raw[2 * DP_MAX_IOV];
		int n = (int)s->len;
		if (r->compat || s->len > DP_MAX_IOV)
			return DP_DECLINE;
		if (n) {
			size_t size = 16 * (size_t)n;
			if (s->addr > DP_ADDR_LIMIT || size > DP_ADDR_LIMIT - s->addr)
				return DP_DECLINE;
			struct iovec l = { raw, size };
			struct iovec rr = { (void *)(uintptr_t)s->addr, size };
			if (process_vm_readv(d->pid, &l, 1, &rr, 1, 0) != (ssize_t)size)
				return DP_DECLINE;
		}
		*total = 0;
		for (int i = 0; i < n; i++) {
			uint64_t len = raw[2 * i + 1];
			if (len >= (1ull << 63))
				return DP_DECLINE;
			/* import_iovec() checks access_ok() on every segment as
			 * given, an empty one too, before any I/O: EFAULT, which
			 * Python reports (process_vm_readv/writev would skip an
			 * empty segment, or one past what was read). */
			if (raw[2 * i] > DP_ADDR_LIMIT || len > DP_ADDR_LIMIT - raw[2 * i])
				return DP_DECLINE;
			if (*total + len > DP_MAX_RW_COUNT)
				len = DP_MAX_RW_COUNT - *total;
			*total += len;
			riov[i].iov_base = (void *)(uintptr_t)raw[2 * i];
			riov[i].iov_len = len;
		}
		*nr = n;
		break;
	}
	}
	return *total > DP_CHUNK ? DP_DECLINE : DP_DONE;
}

/* An RWF_NOWAIT transfer the host refused with EOPNOTSUPP: Linux's
 * io_uring answers -EOPNOTSUPP or -EAGAIN depending on where the refusal
 * came from (kiocb_set_rw_flags, or the file's read_iter/write_iter),
 * which rw.py works out.  Nothing moved, so Python can issue it. */
static int dp_nowait_refused(const struct ps_sqe *s, ssize_t n)
{
	return n == -EOPNOTSUPP && (s->op_flags & DP_RWF_NOWAIT);
}

/* A transfer between the file at an explicit offset and the child's iovecs,
 * staged through the bounce buffer -- what HostFileDescription.read/write
 * do for a seekable file.  A host error is the result.  A read of a single
 * buffer is left pending: its bytes sit in the bounce buffer until the
 * round's process_vm_writev.  A child address that faults declines (before a
 * write: nothing happened; after a read: Python reads again and reports the
 * partial copy exactly as it does). */
static int dp_rw(struct ps_ring *r, const struct ps_sqe *s, struct dp_round *d, int write,
		 struct dp_item *it)
{
	struct iovec riov[DP_MAX_IOV];
	int nr;
	uint64_t total;
	int vectored = s->opcode == DP_OP_READV || s->opcode == DP_OP_WRITEV;

	/* A write's data, or an iovec array, is the program's memory as it is
	 * once the reads before it have landed. */
	if ((write || vectored) && d->nreads)
		return DP_FLUSH_FIRST;
	if (dp_rw_iovs(r, s, d, riov, &nr, &total) == DP_DECLINE)
		return DP_DECLINE;
	int fd = dp_file(r, s, d);
	if (fd < 0)
		return DP_DECLINE;
	/* Nothing to move: no host call would check the file's open mode, which
	 * io_rw_init_file() does first (EBADF on a file not open for this
	 * direction, even for 0 bytes); rw.py makes that check. */
	if (total == 0)
		return DP_DECLINE;
	it->rw = 1;
	it->expected = total;
	if (!write && !vectored) {
		if (d->used + total > DP_CHUNK)
			return DP_FLUSH_FIRST;
		ssize_t n = dp_preadv2(fd, d->bounce + d->used, total, (off_t)s->off,
				       (int)s->op_flags);
		if (dp_nowait_refused(s, n))
			return DP_DECLINE;
		if (n <= 0) {
			it->res = (int32_t)n;
			return DP_DONE;
		}
		d->local[d->nremote].iov_base = d->bounce + d->used;
		d->local[d->nremote].iov_len = n;
		d->remote[d->nremote].iov_base = riov[0].iov_base;
		d->remote[d->nremote].iov_len = n;
		d->nremote++;
		/* Each read starts page-aligned in the bounce buffer, as an
		 * O_DIRECT file needs (a short read must not misalign the next). */
		d->used += (n + 4095) & ~(size_t)4095;
		d->nreads++;
		it->res = (int32_t)n;
		return DP_PENDING;
	}
	struct iovec local = { d->bounce, total };
	if (write) {
		ssize_t g = process_vm_readv(d->pid, &local, 1, riov, nr, 0);
		if (g < 0 || (uint64_t)g != total)
			return DP_DECLINE;
		ssize_t w = dp_pwritev2(fd, d->bounce, total, (off_t)s->off, (int)s->op_flags);
		if (dp_nowait_refused(s, w))
			return DP_DECLINE;
		it->res = (int32_t)w;
		return DP_DONE;
	}
	/* READV: the bytes read go to the child at once (only the n read). */
	ssize_t n = dp_preadv2(fd, d->bounce, total, (off_t)s->off, (int)s->op_flags);
	if (dp_nowait_refused(s, n))
		return DP_DECLINE;
	if (n <= 0) {
		it->res = (int32_t)n;
		return DP_DONE;
	}
	size_t left = n;
	int k = 0;
	while (k < nr && left) {
		if (riov[k].iov_len > left)
			riov[k].iov_len = left;
		left -= riov[k].iov_len;
		k++;
	}
	local.iov_len = n;
	if (process_vm_writev(d->pid, &local, 1, riov, k, 0) != n)
		return DP_DECLINE;
	it->res = (int32_t)n;
	return DP_DONE;
}

static int dp_issue(struct ps_ring *r, const struct ps_sqe *s, struct dp_round *d,
		    struct dp_item *it)
{
	/* Links, drain, buffer select, unknown bits -- and IOSQE_ASYNC: Linux
	 * runs that request in an io-wq worker, whose CQE comes after those
	 * its batch completes inline (Python issues it when the batch ends,
	 * submit._queue_chain). */
	if (s->flags & ~(DP_IOSQE_FIXED_FILE | DP_IOSQE_CQE_SKIP_SUCCESS))
		return DP_DECLINE;
	if (s->personality)
		return DP_DECLINE;
	it->rw = 0;
	switch (s->opcode) {
	case DP_OP_NOP:
		/* nop.py: only the plain NOP and NOP_INJECT_RESULT; no ioprio. */
		if (s->ioprio || (s->op_flags & ~DP_NOP_INJECT_RESULT))
			return DP_DECLINE;
		it->res = s->op_flags ? (int32_t)s->len : 0;
		return DP_DONE;
	case DP_OP_FSYNC: {
		/* sync.py: reserved fields and unknown flags fail the prep. */
		if (s->ioprio || s->addr || s->buf_index || s->splice_fd_in
		    || (s->op_flags & ~DP_FSYNC_DATASYNC))
			return DP_DECLINE;
		int fd = dp_file(r, s, d);
		if (fd < 0)
			return DP_DECLINE;
		int rc;
		do
			rc = (s->op_flags & DP_FSYNC_DATASYNC) ? fdatasync(fd) : fsync(fd);
		while (rc < 0 && errno == EINTR);
		it->res = rc < 0 ? -errno : 0;
		return DP_DONE;
	}
	case DP_OP_READ:
	case DP_OP_READV:
	case DP_OP_READ_FIXED:
		return dp_rw(r, s, d, 0, it);
	case DP_OP_WRITE:
	case DP_OP_WRITEV:
	case DP_OP_WRITE_FIXED:
		return dp_rw(r, s, d, 1, it);
	}
	return DP_DECLINE;
}

/* One round under the ring's mutex: issue up to `max` SQEs (or until the
 * CQ's free slots, the bounce buffer or the round is used up), move the
 * pending reads to the child, then consume and complete them in SQ order
 * -- only as far as everything before succeeded.  Returns the entries
 * consumed; *stop is set when the round ended at an SQE the data plane does
 * not take (or a copy fault), so the caller goes no further. */
static unsigned dp_round(struct ps_ring *r, struct dp_round *d, unsigned max, unsigned *done,
			 int *stop)
{
	uint32_t head = r->sq_head;
	uint32_t ready = __atomic_load_n(r->sq_tail_p, __ATOMIC_ACQUIRE) - head;
	uint32_t space = cq_space(r);
	unsigned n = 0, cqes = 0;

	if (ready > r->sq_entries)
		ready = r->sq_entries;
	if (max > ready)
		max = ready;
	if (max > DP_ROUND)
		max = DP_ROUND;
	d->used = d->nitems = d->nreads = d->nremote = 0;
	*stop = 0;
	if (d->fdmap)
		pthread_rwlock_rdlock(&d->fdmap->lock);
	while (n < max) {
		struct dp_item *it = &d->items[n];
		uint32_t idx = r->sq_array ? r->sq_array[(head + n) & r->sq_mask]
					   : ((head + n) & r->sq_mask);
		if (idx >= r->sq_entries) {
			/* Consumed, counted in sq_dropped, and the end of the
			 * batch (io_submit_sqes() stops when io_get_sqe() fails). */
			it->state = DP_ITEM_DROPPED;
			n++;
			*stop = 1;
			break;
		}
		if (cqes == space) {
			*stop = 1;          /* Python overflows it into the backlog */
			break;
		}
		/* Copied once: the program may rewrite the SQE at any time. */
		struct ps_sqe s;
		memcpy(&s, r->sqes + (size_t)idx * r->sqe_size, sizeof(s));
		int rc = dp_issue(r, &s, d, it);
		if (rc == DP_DECLINE) {
			*stop = 1;
			break;
		}
		if (rc == DP_FLUSH_FIRST)
			break;              /* the next round starts with it */
		if (s.flags & DP_IOSQE_CQE_SKIP_SUCCESS)
			r->drain_disabled = 1;      /* as io_init_req() does */
		it->state = rc == DP_PENDING ? DP_ITEM_READ : DP_ITEM_DONE;
		it->user_data = s.user_data;
		it->sqe_flags = s.flags;
		cqes++;
		n++;
	}
	if (d->fdmap)
		pthread_rwlock_unlock(&d->fdmap->lock);

	/* The round's reads reach the child in one call; a fault stops the
	 * round at the read it hit (whole iovecs: process_vm_writev never
	 * splits one). */
	ssize_t landed = 0;
	if (d->nreads) {
		landed = process_vm_writev(d->pid, d->local, d->nremote, d->remote, d->nremote, 0);
		if (landed < 0)
			landed = 0;
	}
	unsigned k;
	for (k = 0; k < n; k++) {
		struct dp_item *it = &d->items[k];
		if (it->state == DP_ITEM_READ) {
			if (landed < it->res) {
				*stop = 1;
				break;
			}
			landed -= it->res;
		}
		r->sq_head++;
		if (it->state == DP_ITEM_DROPPED) {
			__atomic_store_n(r->sq_dropped_p, *r->sq_dropped_p + 1, __ATOMIC_RELAXED);
			continue;
		}
		(*done)++;
		/* CQE_SKIP_SUCCESS hides only a success (submit._post); a short
		 * transfer is a failure (the op's short_fails_link). */
		int failed = it->res < 0 || (it->rw && (uint64_t)it->res != it->expected);
		if (failed || !(it->sqe_flags & DP_IOSQE_CQE_SKIP_SUCCESS)) {
			r->posted++;
			r->cq_count++;
			write_cqe(r, it->user_data, it->res, 0, 0, 0);
		}
	}
	__atomic_store_n(r->sq_head_p, r->sq_head, __ATOMIC_RELEASE);
	return k;
}

/* Consume up to `max` SQ entries as `owner`, as io_submit_sqes() would for
 * these ops: returns the entries consumed (bad indexes included, counted in
 * sq_dropped); *submitted gets the requests among them.  Stops at the first
 * SQE the data plane does not take, leaving it for Python.  pid/fdmap: the
 * submitting task (for the SQ thread, PS_OWNER_SQT, the ring's sq task). */
unsigned ps_dp_submit(struct ps_ring *r, int owner, int pid, struct ps_fdmap *fdmap,
		      unsigned max, char *bounce, unsigned *submitted)
{
	struct dp_round d;
	unsigned consumed = 0, done = 0;
	int stop = 0;

	d.bounce = bounce;
	while (consumed < max && !stop) {
		pthread_mutex_lock(&r->lock);
		if (!r->enabled || r->blocked || r->overflow || r->owner != owner) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		d.pid = owner == PS_OWNER_SQT ? r->sq_pid : pid;
		d.fdmap = owner == PS_OWNER_SQT ? r->sq_fdmap : fdmap;
		if (!d.pid) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		unsigned n = dp_round(r, &d, max - consumed, &done, &stop);
		pthread_mutex_unlock(&r->lock);
		if (!n)
			break;
		consumed += n;
	}
	*submitted = done;
	return consumed;
}

/* io_uring_enter(2) in C, for the trap step (platform/native/trap.c).
 * Python's path (sentry/iouring/enter.py, submit.py) on a ring whose
 * enter_fast Python has set does, beyond checks that then hold: the data
 * plane's submit of min(to_submit, SQ entries, SQEs ready) SQEs; the
 * ring's notify() (ready.py's completed(): the ring fd's eventfd written if
 * CQEs were posted since it was last and the CQ is not empty; the
 * registered eventfd signalled for new CQEs, unless
 * IORING_CQ_EVENTFD_DISABLED); _getevents()'s readiness refresh (the fd
 * made readable exactly while CQEs wait); and, with GETEVENTS and every
 * SQE submitted, a wait unless min(min_complete, CQ entries) CQEs are
 * ready.  This does the same when the data plane took every SQE (no bad SQ
 * index) and no wait is needed: 1, *result the SQEs submitted.  Else 0:
 * Python serves the call, and if SQEs were submitted here cont[] says so
 * -- the count Python would have computed, the entries consumed and the
 * requests among them, ps_dp_submit()'s answer, and the CQ slots and
 * CQEs it took -- and Python carries on
 * from exactly there (submit.submit's `pre`), as if it had made that call.
 * *reqs: the requests submitted here (either way). */
int ps_dp_enter(struct ps_ring *r, int pid, struct ps_fdmap *fdmap, uint32_t to_submit,
		uint32_t min_complete, uint32_t flags, char *bounce, uint32_t *cont,
		long *result, unsigned *reqs)
{
	uint32_t count = 0, tail0 = 0;
	uint64_t posted0 = 0;
	unsigned consumed = 0, done = 0;

	*reqs = 0;
	cont[0] = 0;
	pthread_mutex_lock(&r->lock);
	if (!r->mem || !r->enter_fast || !r->enabled || r->blocked || r->overflow
	    || r->owner != PS_OWNER_PY || (r->single_tid && r->single_tid != pid)) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	/* Where the batch's CQEs begin: io_uring_poll() sees none of them
	 * until the batch ends (submit._batch_cq). */
	tail0 = r->cq_tail;
	posted0 = r->posted;
	if (to_submit) {
		/* submit.submit(): min(to_submit, sq_entries, sq_ready()), the
		 * tail read once. */
		uint32_t ready = __atomic_load_n(r->sq_tail_p, __ATOMIC_ACQUIRE) - r->sq_head;
		count = to_submit;
		if (count > r->sq_entries)
			count = r->sq_entries;
		if (count > ready)
			count = ready;
	}
	pthread_mutex_unlock(&r->lock);
	if (count) {
		consumed = ps_dp_submit(r, PS_OWNER_PY, pid, fdmap, count, bounce, &done);
		*reqs = done;
		cont[0] = 1;
		cont[1] = count;
		cont[2] = consumed;
		cont[3] = done;
		pthread_mutex_lock(&r->lock);
		cont[4] = r->cq_tail - tail0;
		cont[5] = (uint32_t)(r->posted - posted0);
		pthread_mutex_unlock(&r->lock);
	}
	if (consumed != count || done != consumed)
		return 0;       /* an SQE the data plane left, or a bad index: Python */

	pthread_mutex_lock(&r->lock);
	if (!r->mem || r->overflow) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	uint32_t queued = r->cq_tail - __atomic_load_n(r->cq_head_p, __ATOMIC_ACQUIRE);
	uint32_t ready = queued < r->cq_entries ? queued : r->cq_entries;
	/* enter.py drops GETEVENTS when fewer were submitted than asked. */
	if ((flags & 1u) && done == to_submit) {
		uint32_t want = min_complete < r->cq_entries ? min_complete : r->cq_entries;
		if (ready < want) {
			pthread_mutex_unlock(&r->lock);
			return 0;   /* a wait: Python's (cont[] has the submit) */
		}
	}
	uint64_t one = 1;
	ssize_t n;
	if (to_submit) {
		/* notify(): ready.completed(), then the registered eventfd. */
		if (r->posted != r->ready_seen) {
			r->ready_seen = r->posted;
			if (ready && r->ready_fd >= 0) {
				n = write(r->ready_fd, &one, sizeof(one));
				r->ready_set = 1;
			}
		}
		if (r->eventfd >= 0 && r->posted != r->signalled) {
			r->signalled = r->posted;
			if (!(__atomic_load_n(r->cq_flags_p, __ATOMIC_ACQUIRE) & DP_CQ_EVENTFD_DISABLED))
				n = write(r->eventfd, &one, sizeof(one));
		}
	}
	/* ready.refresh() (no SQ thread on this ring: ready_raised is only
	 * folded in, as Python does). */
	if (r->ready_raised) {
		r->ready_raised = 0;
		r->ready_set = 1;
	}
	if (r->ready_fd >= 0) {
		if (ready) {
			if (!r->ready_set) {
				n = write(r->ready_fd, &one, sizeof(one));
				r->ready_set = 1;
			}
		} else if (r->ready_set) {
			n = read(r->ready_fd, &one, sizeof(one));
			r->ready_set = 0;
		}
	}
	(void)n;
	pthread_mutex_unlock(&r->lock);
	cont[0] = 0;
	*result = done;
	return 1;
}

/* After the SQ thread posted: make the ring fd readable (one write per
 * batch: a new edge, as io_cqring_wake() gives), signal the registered
 * eventfd, and kick Python (once until it has looked) if it needs to see
 * completions. */
static int dp_after_post(struct ps_ring *r)
{
	int kick = 0;
	pthread_mutex_lock(&r->lock);
	if (r->ready_fd >= 0 && r->posted != r->ready_seen && r->mem
	    && r->cq_tail != __atomic_load_n(r->cq_head_p, __ATOMIC_ACQUIRE)) {
		uint64_t one = 1;
		r->ready_seen = r->posted;
		/* Raised before the write: Python, seeing no CQE, drains only
		 * after it has seen the flag, then looks again (ready.py). */
		__atomic_store_n(&r->ready_raised, 1, __ATOMIC_SEQ_CST);
		ssize_t n = write(r->ready_fd, &one, sizeof(one));
		(void)n;
	}
	if (r->eventfd >= 0 && r->posted != r->signalled) {
		r->signalled = r->posted;
		if (!(__atomic_load_n(r->cq_flags_p, __ATOMIC_ACQUIRE) & DP_CQ_EVENTFD_DISABLED)) {
			uint64_t one = 1;
			ssize_t n = write(r->eventfd, &one, sizeof(one));
			(void)n;
		}
	}
	if (r->notify_wanted && !r->kick_pending) {
		r->kick_pending = 1;
		kick = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return kick;
}
