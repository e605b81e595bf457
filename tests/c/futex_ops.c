/* IORING_OP_FUTEX_WAIT / FUTEX_WAKE / FUTEX_WAITV (51-53) on the program's
 * own memory, and their interplay with futex(2) and futex_wake(2): an SQE
 * wake wakes a thread blocked in futex(2), a futex(2) wake completes a
 * FUTEX_WAIT SQE.  Prints one line per case (CQEs sorted by user_data where
 * several complete together). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <liburing.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cqe_sorted.h"

#define OP_FUTEX_WAIT 51
#define OP_FUTEX_WAKE 52
#define OP_FUTEX_WAITV 53
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U8 0x00
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_SIZE_U64 0x03
#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG
#endif
#define F32P (FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)
#define ANY 0xffffffffULL
#ifndef SYS_futex_wake
#define SYS_futex_wake 454
#endif

static struct io_uring ring;
static uint32_t word, words[3];

static struct io_uring_sqe *futex_sqe(int op, void *addr, uint64_t val, uint64_t mask,
				      uint32_t flags, unsigned long long ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (!sqe)
		exit(1);        /* never: the SQ is drained before each batch */
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->addr = (unsigned long)addr;
	sqe->off = val;           /* sqe->addr2 */
	sqe->addr3 = mask;
	sqe->fd = flags;
	sqe->user_data = ud;
	return sqe;
}

/* Submit, then print n CQEs sorted by user_data. */
static void run(const char *what, int n)
{
	struct sorted_cqe got[8];
	io_uring_submit(&ring);
	int k = reap_sorted(&ring, got, n, 5);
	printf("%s:", what);
	for (int i = 0; i < k; i++)
		printf(" [ud=%llu res=%d]", got[i].ud, got[i].res);
	printf("%s\n", k < n ? " (missing)" : "");
}

static int pending(void)
{
	struct io_uring_cqe *cqe;
	return io_uring_peek_cqe(&ring, &cqe) == -EAGAIN;
}

static long sys_futex(void *addr, int op, int val)
{
	long r = syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
	return r < 0 ? -errno : r;
}

static void *blocked_waiter(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0)
		syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init(16, &ring, 0))
		return 1;

	/* io_futex_prep's checks. */
	struct io_uring_sqe *sqe = futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, F32P, 1);
	sqe->len = 1;
	run("wait with len set", 1);
	sqe = futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, F32P, 1);
	sqe->rw_flags = 1;    /* sqe->futex_flags */
	run("wait with futex_flags set", 1);
	sqe = futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, F32P, 1);
	sqe->buf_index = 1;
	run("wait with buf_index set", 1);
	futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, FUTEX2_SIZE_U8 | FUTEX2_PRIVATE, 1);
	run("wait with 8-bit size", 1);
	futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, FUTEX2_SIZE_U64 | FUTEX2_PRIVATE, 1);
	run("wait with 64-bit size", 1);
	futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, F32P | 0x40, 1);
	run("wait with unknown flag", 1);
	futex_sqe(OP_FUTEX_WAIT, &word, 1ULL << 32, ANY, F32P, 1);
	run("wait value over 32 bits", 1);
	futex_sqe(OP_FUTEX_WAIT, &word, 0, 1ULL << 32, F32P, 1);
	run("wait mask over 32 bits", 1);
	futex_sqe(OP_FUTEX_WAKE, &word, 1, 1ULL << 32, F32P, 1);
	run("wake mask over 32 bits", 1);

	/* Issue-time results. */
	word = 5;
	futex_sqe(OP_FUTEX_WAIT, &word, 4, ANY, F32P, 1);
	run("wait on a changed value", 1);
	futex_sqe(OP_FUTEX_WAIT, (char *)&words[0] + 1, 0, ANY, F32P, 1);
	run("wait unaligned", 1);
	futex_sqe(OP_FUTEX_WAIT, (void *)16, 0, ANY, F32P, 1);
	run("wait unmapped", 1);
	futex_sqe(OP_FUTEX_WAKE, (void *)16, 1, ANY, F32P, 1);
	run("wake unmapped", 1);
	futex_sqe(OP_FUTEX_WAKE, (char *)&words[0] + 1, 1, ANY, F32P, 1);
	run("wake unaligned", 1);
	futex_sqe(OP_FUTEX_WAKE, &word, 1, 0, F32P, 1);
	run("wake with mask 0", 1);
	futex_sqe(OP_FUTEX_WAKE, &word, 1, ANY, F32P, 1);
	run("wake with no waiter", 1);

	/* SQE wakes SQE, with masks. */
	word = 0;
	futex_sqe(OP_FUTEX_WAIT, &word, 0, 0x1, F32P, 10);
	io_uring_submit(&ring);
	printf("wait pending: %d\n", pending());
	futex_sqe(OP_FUTEX_WAKE, &word, 1, 0x2, F32P, 11);
	run("wake with another bit", 1);
	futex_sqe(OP_FUTEX_WAKE, &word, 0, ANY, F32P, 12);
	run("wake 0 (strict)", 1);
	futex_sqe(OP_FUTEX_WAKE, &word, 5, 0x3, F32P, 13);
	run("wake with the bit", 2);

	/* futex(2) wakes SQEs. */
	for (int i = 0; i < 3; i++)
		futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, F32P, 20 + i);
	io_uring_submit(&ring);
	printf("futex(FUTEX_WAKE) shared op: %ld\n", sys_futex(&word, FUTEX_WAKE, 5));
	printf("futex(FUTEX_WAKE_PRIVATE, 2): %ld\n", sys_futex(&word, FUTEX_WAKE_PRIVATE, 2));
	run("two woken", 2);
	printf("futex(FUTEX_WAKE_PRIVATE, 0): %ld\n", sys_futex(&word, FUTEX_WAKE_PRIVATE, 0));
	run("one more woken by nr 0", 1);
	futex_sqe(OP_FUTEX_WAIT, &word, 0, 0x4, F32P, 25);
	io_uring_submit(&ring);
	long r = syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x8);
	printf("futex(FUTEX_WAKE_BITSET_PRIVATE, other bit): %ld\n", r);
	r = syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x4);
	printf("futex(FUTEX_WAKE_BITSET_PRIVATE, the bit): %ld\n", r);
	run("woken by bitset", 1);
	futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, F32P, 26);
	io_uring_submit(&ring);
	r = syscall(SYS_futex_wake, &word, ANY, 1, F32P);
	printf("futex_wake(2): %ld\n", r);
	run("woken by futex_wake(2)", 1);

	/* A shared (not FUTEX2_PRIVATE) wait and wakes. */
	futex_sqe(OP_FUTEX_WAIT, &word, 0, ANY, FUTEX2_SIZE_U32, 27);
	io_uring_submit(&ring);
	printf("private wake of a shared wait: %ld\n", sys_futex(&word, FUTEX_WAKE_PRIVATE, 1));
	printf("shared wake: %ld\n", sys_futex(&word, FUTEX_WAKE, 1));
	run("shared wait woken", 1);

	/* An SQE wakes a thread blocked in futex(2). */
	word = 0;
	pthread_t t;
	pthread_create(&t, NULL, blocked_waiter, NULL);
	int woke = 0;
	while (!woke) {
		/* Until the thread is asleep in futex(2) there is no one to wake. */
		futex_sqe(OP_FUTEX_WAKE, &word, 1, ANY, F32P, 30);
		io_uring_submit(&ring);
		struct io_uring_cqe *cqe;
		io_uring_wait_cqe(&ring, &cqe);
		woke = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (!woke)
			usleep(1000);
		else
			__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	}
	/* It may have been woken before the store: wake it once more. */
	sys_futex(&word, FUTEX_WAKE_PRIVATE, 1);
	pthread_join(t, NULL);
	printf("FUTEX_WAKE SQE woke the futex(2) waiter: %d\n", woke);

	/* FUTEX_WAITV. */
	struct futex_waitv wv[3];
	memset(wv, 0, sizeof(wv));
	for (int i = 0; i < 3; i++) {
		words[i] = 0;
		wv[i].uaddr = (unsigned long)&words[i];
		wv[i].flags = F32P;
	}
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 40)->len = 3;
	io_uring_submit(&ring);
	printf("waitv pending: %d\n", pending());
	printf("futex(FUTEX_WAKE_PRIVATE) of the second: %ld\n",
	       sys_futex(&words[1], FUTEX_WAKE_PRIVATE, 1));
	run("waitv woken", 1);
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 41)->len = 3;
	io_uring_submit(&ring);
	futex_sqe(OP_FUTEX_WAKE, &words[2], 1, ANY, F32P, 42);
	run("waitv woken by an SQE", 2);
	words[2] = 7;
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 43)->len = 3;
	run("waitv with a changed value", 1);
	words[2] = 0;
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 44)->len = 0;
	run("waitv of none", 1);
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 45)->len = 129;
	run("waitv of 129", 1);
	sqe = futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 46);
	sqe->len = 3;
	sqe->fd = F32P;
	run("waitv with fd set", 1);
	sqe = futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 47);
	sqe->len = 3;
	sqe->addr3 = 1;
	run("waitv with addr3 set", 1);
	wv[1].__reserved = 1;
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 48)->len = 3;
	run("waitv entry with reserved set", 1);
	wv[1].__reserved = 0;
	wv[1].flags = FUTEX2_SIZE_U8;
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 49)->len = 3;
	run("waitv entry with 8-bit size", 1);
	wv[1].flags = F32P;
	futex_sqe(OP_FUTEX_WAITV, (void *)16, 0, 0, 0, 50)->len = 3;
	run("waitv unreadable array", 1);

	/* Cancellation and links. */
	futex_sqe(OP_FUTEX_WAIT, &word, 1, ANY, F32P, 60);
	io_uring_submit(&ring);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_cancel64(sqe, 60, 0);
	sqe->user_data = 61;
	run("cancel a futex wait", 2);
	futex_sqe(OP_FUTEX_WAITV, wv, 0, 0, 0, 62)->len = 3;
	io_uring_submit(&ring);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_cancel64(sqe, 62, 0);
	sqe->user_data = 63;
	run("cancel a futex waitv", 2);
	futex_sqe(OP_FUTEX_WAIT, &word, 1, ANY, F32P, 64)->flags |= IOSQE_IO_LINK;
	struct __kernel_timespec ts = { 0, 20 * 1000 * 1000 };
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_link_timeout(sqe, &ts, 0);
	sqe->user_data = 65;
	run("futex wait with a link timeout", 2);
	futex_sqe(OP_FUTEX_WAIT, &word, 1, ANY, F32P, 66)->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 67;
	io_uring_submit(&ring);
	printf("futex(FUTEX_WAKE_PRIVATE): %ld\n", sys_futex(&word, FUTEX_WAKE_PRIVATE, 1));
	run("woken wait, then its link", 2);
	futex_sqe(OP_FUTEX_WAIT, &word, 9, ANY, F32P, 68)->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 69;
	run("failed wait breaks its link", 2);

	sqe = futex_sqe(OP_FUTEX_WAKE, &word, 1, ANY, F32P, 70);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	run("wake with buffer select", 1);
	return 0;
}
