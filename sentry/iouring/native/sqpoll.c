/* The SQ polling thread (IORING_SETUP_SQPOLL), in C so it never takes the GIL.
 *
 * Like Linux's io_sq_thread() (io_uring/sqpoll.c) it watches the SQ tail the
 * program writes in the shared ring memory and submits new SQEs itself: the
 * hot ones go straight through the data plane (dataplane.c, compiled in the
 * same unit, before this file), with no round trip through the Sentry's
 * loop.  At the first SQE the data plane does not take it hands the SQ over
 * to Python (ring owner PS_OWNER_PY) and kicks the loop through an eventfd;
 * Python submits from that SQE on and gives the SQ back.  After its own
 * completions it signals the registered eventfd, and kicks the loop when
 * Python asked to see completions (a task waiting in io_uring_enter, a poll
 * on the ring fd, a timeout counting CQEs).
 *
 * When there is nothing to do it spins briefly, then naps, and after
 * `idle_ms` without work sets IORING_SQ_NEED_WAKEUP and sleeps on a second
 * eventfd until the Sentry wakes it (io_uring_enter with
 * IORING_ENTER_SQ_WAKEUP) or stops it.  A new thread that finds nothing
 * queued at its first look sleeps at once: Linux's io_sq_thread() starts
 * with its idle deadline at 0, already passed, and only sets one after
 * work or a wake-up -- so SQEs queued after the setup need SQ_WAKEUP.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define SQ_NEED_WAKEUP 1u
#define SQ_SPIN_NS 50000ull      /* busy-poll this long after the last SQE */
#define SQ_NAP_NS 20000L

struct ps_sqpoll {
	pthread_t thread;
	struct ps_ring *ring;
	int kick_fd, wake_fd;
	unsigned idle_ms;
	volatile int stop;
	volatile int asleep;    /* waiting for IORING_ENTER_SQ_WAKEUP */
	char *bounce;
	uint64_t sqes;          /* SQEs the thread completed itself */
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void nap(long ns)
{
	struct timespec t = { 0, ns };
	nanosleep(&t, NULL);
}

static void kick(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));
	(void)n;
}

/* Give the SQ to Python if the thread still has it; 1 if it did. */
static int hand_over(struct ps_ring *r)
{
	int did = 0;
	pthread_mutex_lock(&r->lock);
	if (r->owner == PS_OWNER_SQT) {
		r->owner = PS_OWNER_PY;
		did = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return did;
}

static void *sqpoll_main(void *arg)
{
	struct ps_sqpoll *sq = arg;
	struct ps_ring *r = sq->ring;
	/* No work yet: idle since forever (see the top of the file). */
	uint64_t last_work = 0;
	uint32_t handed_at = 0;
	int handed = 0;

	/* Naps of tens of microseconds, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	while (!sq->stop) {
		uint32_t tail = __atomic_load_n(r->sq_tail_p, __ATOMIC_ACQUIRE);
		uint32_t head = __atomic_load_n(r->sq_head_p, __ATOMIC_ACQUIRE);
		if (tail != head) {
			last_work = now_ns();
			if (__atomic_load_n(&r->owner, __ATOMIC_ACQUIRE) == PS_OWNER_SQT) {
				unsigned done = 0;
				unsigned n = ps_dp_submit(r, PS_OWNER_SQT, 0, NULL, r->sq_entries,
							  sq->bounce, &done);
				if (n) {
					sq->sqes += done;
					if (done && dp_after_post(r))
						kick(sq->kick_fd);
					handed = 0;
					continue;
				}
				/* Python's SQE at the head: hand over once per head
				 * position (if Python cannot consume it either, e.g.
				 * its submitter is gone, the thread does not spin on it). */
				if ((!handed || handed_at != head) && hand_over(r)) {
					handed = 1;
					handed_at = head;
					kick(sq->kick_fd);
				}
			}
			nap(SQ_NAP_NS);
			continue;
		}
		handed = 0;
		uint64_t idle = now_ns() - last_work;
		if (idle < SQ_SPIN_NS) {
			__builtin_ia32_pause();
			continue;
		}
		if (idle < (uint64_t)sq->idle_ms * 1000000ull) {
			nap(SQ_NAP_NS);
			continue;
		}
		/* Idle: ask to be woken, then re-check to close the race with a
		 * program that queued an SQE before it saw the flag. */
		__atomic_fetch_or(r->sq_flags_p, SQ_NEED_WAKEUP, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sq->asleep, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(r->sq_tail_p, __ATOMIC_SEQ_CST)
		    == __atomic_load_n(r->sq_head_p, __ATOMIC_SEQ_CST)) {
			uint64_t v;
			while (!sq->stop && read(sq->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
				;
		}
		__atomic_store_n(&sq->asleep, 0, __ATOMIC_SEQ_CST);
		__atomic_fetch_and(r->sq_flags_p, ~SQ_NEED_WAKEUP, __ATOMIC_SEQ_CST);
		last_work = now_ns();
	}
	return NULL;
}

struct ps_sqpoll *ps_sqpoll_start(struct ps_ring *ring, int kick_fd, int wake_fd,
				  unsigned idle_ms, int cpu)
{
	struct ps_sqpoll *sq = calloc(1, sizeof(*sq));
	if (!sq)
		return NULL;
	/* Page-aligned, as O_DIRECT files require of the memory they transfer. */
	if (posix_memalign((void **)&sq->bounce, 4096, DP_CHUNK)) {
		free(sq);
		return NULL;
	}
	sq->ring = ring;
	sq->kick_fd = kick_fd;
	sq->wake_fd = wake_fd;
	sq->idle_ms = idle_ms;
	if (pthread_create(&sq->thread, NULL, sqpoll_main, sq)) {
		free(sq->bounce);
		free(sq);
		return NULL;
	}
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_setaffinity_np(sq->thread, sizeof(set), &set);
	}
	return sq;
}

/* Where the thread may run (CPU placement, platform/placement.py): the CPUs
 * whose bits are set in mask[0..len). */
int ps_sqpoll_set_affinity(struct ps_sqpoll *sq, const unsigned char *mask, unsigned len)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (unsigned i = 0; i < len * 8 && i < CPU_SETSIZE; i++)
		if (mask[i / 8] & (1u << (i % 8)))
			CPU_SET(i, &set);
	return pthread_setaffinity_np(sq->thread, sizeof(set), &set);
}

void ps_sqpoll_wake(struct ps_sqpoll *sq)
{
	kick(sq->wake_fd);
}

/* 1 while the thread sleeps until IORING_ENTER_SQ_WAKEUP. */
int ps_sqpoll_asleep(struct ps_sqpoll *sq)
{
	return __atomic_load_n(&sq->asleep, __ATOMIC_SEQ_CST);
}

uint64_t ps_sqpoll_count(struct ps_sqpoll *sq)
{
	return sq->sqes;
}

void ps_sqpoll_stop(struct ps_sqpoll *sq)
{
	sq->stop = 1;
	kick(sq->wake_fd);
	pthread_join(sq->thread, NULL);
	free(sq->bounce);
	free(sq);
}

/* Atomic updates of the shared SQ flags word, which the thread also changes. */
void ps_atomic_or32(void *addr, uint32_t v)
{
	__atomic_fetch_or((uint32_t *)addr, v, __ATOMIC_SEQ_CST);
}

void ps_atomic_and32(void *addr, uint32_t v)
{
	__atomic_fetch_and((uint32_t *)addr, v, __ATOMIC_SEQ_CST);
}
