/* The SQ polling thread (IORING_SETUP_SQPOLL), in C so it never takes the GIL.
 *
 * It watches the SQ tail the program writes in the shared ring memory.  When
 * SQEs appear it kicks the Sentry's loop through an eventfd (the loop then
 * submits them and publishes the new SQ head), so the program submits
 * without any syscall.  After `idle_ms` without work it sets
 * IORING_SQ_NEED_WAKEUP and sleeps on a second eventfd until the Sentry wakes
 * it (io_uring_enter with IORING_ENTER_SQ_WAKEUP) or stops it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SQ_NEED_WAKEUP 1u

struct ps_sqpoll {
	pthread_t thread;
	volatile uint32_t *head, *tail, *flags;
	int kick_fd, wake_fd;
	unsigned idle_ms;
	volatile int stop;
};

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
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

static void *sqpoll_main(void *arg)
{
	struct ps_sqpoll *sq = arg;
	uint64_t last_work = now_ms();
	uint32_t kicked_at = *sq->head;
	int kicked = 0;
	while (!sq->stop) {
		uint32_t tail = __atomic_load_n(sq->tail, __ATOMIC_ACQUIRE);
		uint32_t head = __atomic_load_n(sq->head, __ATOMIC_ACQUIRE);
		if (tail != head) {
			/* Work: kick the Sentry once per head position it has seen. */
			if (!kicked || kicked_at != head) {
				kick(sq->kick_fd);
				kicked = 1;
				kicked_at = head;
			}
			last_work = now_ms();
			nap(20000);
			continue;
		}
		kicked = 0;
		if (now_ms() - last_work < sq->idle_ms) {
			nap(50000);
			continue;
		}
		/* Idle: ask to be woken, then re-check to close the race with a
		 * program that queued an SQE before it saw the flag. */
		__atomic_fetch_or(sq->flags, SQ_NEED_WAKEUP, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(sq->tail, __ATOMIC_SEQ_CST) == __atomic_load_n(sq->head, __ATOMIC_SEQ_CST)) {
			uint64_t v;
			while (!sq->stop && read(sq->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
				;
		}
		__atomic_fetch_and(sq->flags, ~SQ_NEED_WAKEUP, __ATOMIC_SEQ_CST);
		last_work = now_ms();
	}
	return NULL;
}

struct ps_sqpoll *ps_sqpoll_start(void *ring, unsigned head_off, unsigned tail_off,
				  unsigned flags_off, int kick_fd, int wake_fd, unsigned idle_ms,
				  int cpu)
{
	struct ps_sqpoll *sq = calloc(1, sizeof(*sq));
	if (!sq)
		return NULL;
	sq->head = (volatile uint32_t *)((char *)ring + head_off);
	sq->tail = (volatile uint32_t *)((char *)ring + tail_off);
	sq->flags = (volatile uint32_t *)((char *)ring + flags_off);
	sq->kick_fd = kick_fd;
	sq->wake_fd = wake_fd;
	sq->idle_ms = idle_ms;
	if (pthread_create(&sq->thread, NULL, sqpoll_main, sq)) {
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

void ps_sqpoll_stop(struct ps_sqpoll *sq)
{
	sq->stop = 1;
	kick(sq->wake_fd);
	pthread_join(sq->thread, NULL);
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
