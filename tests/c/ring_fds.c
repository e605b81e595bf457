/* Registered ring fds: IORING_REGISTER_RING_FDS / UNREGISTER_RING_FDS, and
 * io_uring_enter(IORING_ENTER_REGISTERED_RING) / io_uring_register(opcode |
 * IORING_REGISTER_USE_REGISTERED_RING) naming a ring by its registered
 * index.  Registrations belong to the thread that made them.
 * Prints one line per case. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IORING_FEAT_REG_REG_RING
#define IORING_FEAT_REG_REG_RING (1U << 13)
#endif
#ifndef IORING_REGISTER_USE_REGISTERED_RING
#define IORING_REGISTER_USE_REGISTERED_RING (1U << 31)
#endif

static struct io_uring ring, ring2;

static const char *res(long r)
{
	static char buf[64];
	if (r < 0)
		snprintf(buf, sizeof(buf), "%ld %s", r, strerrorname_np(errno));
	else
		snprintf(buf, sizeof(buf), "%ld", r);
	return buf;
}

static long enter(unsigned fd, unsigned to_submit, unsigned min, unsigned flags)
{
	return syscall(__NR_io_uring_enter, fd, to_submit, min, flags, NULL, 0);
}

static long reg(unsigned fd, unsigned op, void *arg, unsigned nr)
{
	return syscall(__NR_io_uring_register, fd, op, arg, nr);
}

static long reg_rings(struct io_uring_rsrc_update *u, unsigned nr)
{
	return reg(ring.ring_fd, IORING_REGISTER_RING_FDS, u, nr);
}

static long unreg_rings(struct io_uring_rsrc_update *u, unsigned nr)
{
	return reg(ring.ring_fd, IORING_UNREGISTER_RING_FDS, u, nr);
}

/* Queue a NOP on r without submitting it. */
static void queue_nop(struct io_uring *r, unsigned long long ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
	io_uring_sq_ready(r);
	/* liburing 2.3 publishes the tail in __io_uring_flush_sq, called by
	 * io_uring_submit; do it by hand for raw enter calls. */
	*r->sq.ktail = r->sq.sqe_tail;
	r->sq.sqe_head = r->sq.sqe_tail;
}

static void reap(struct io_uring *r, const char *what)
{
	struct io_uring_cqe *cqe;
	printf("%s:", what);
	while (io_uring_peek_cqe(r, &cqe) == 0) {
		printf(" [ud=%llu res=%d]", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(r, cqe);
	}
	printf("\n");
}

static void *thread_main(void *arg)
{
	(void)arg;
	printf("thread: enter index 0: %s\n", res(enter(0, 0, 0, IORING_ENTER_REGISTERED_RING)));
	struct io_uring_probe *probe = calloc(1, sizeof(*probe) + 4 * sizeof(probe->ops[0]));
	printf("thread: register via index 0: %s\n",
	       res(reg(0, IORING_REGISTER_PROBE | IORING_REGISTER_USE_REGISTERED_RING, probe, 4)));
	struct io_uring_rsrc_update u = { .offset = 0, .data = ring.ring_fd };
	printf("thread: register at its own slot 0: %s", res(reg_rings(&u, 1)));
	printf(" offset=%u\n", u.offset);
	queue_nop(&ring, 300);
	printf("thread: enter index 0: %s\n",
	       res(enter(0, 1, 1, IORING_ENTER_REGISTERED_RING | IORING_ENTER_GETEVENTS)));
	reap(&ring, "thread: cqes");
	return NULL;
}

static void *thread2_main(void *arg)
{
	(void)arg;
	queue_nop(&ring, 301);
	printf("thread2: enter by fd: %s\n", res(enter(ring.ring_fd, 1, 1, IORING_ENTER_GETEVENTS)));
	reap(&ring, "thread2: cqes");
	printf("thread2: enter index 0: %s\n", res(enter(0, 0, 0, IORING_ENTER_REGISTERED_RING)));
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		/* After execve: the slots are gone, the thread's state is not. */
		printf("after exec: enter slot 5: %s\n",
		       res(enter(5, 0, 0, IORING_ENTER_REGISTERED_RING)));
		return 0;
	}
	struct io_uring_params p = {0};
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init_params(8, &ring, &p) || io_uring_queue_init(8, &ring2, 0))
		return 1;
	printf("FEAT_REG_REG_RING: %d\n", !!(p.features & IORING_FEAT_REG_REG_RING));

	printf("enter index 0 before registering: %s\n",
	       res(enter(0, 0, 0, IORING_ENTER_REGISTERED_RING)));

	/* liburing's own helper: the first free slot. */
	printf("io_uring_register_ring_fd: %d\n", io_uring_register_ring_fd(&ring));
	printf("liburing enter_ring_fd: %d int_flags: %d\n", ring.enter_ring_fd, ring.int_flags);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 1;
	printf("submit_and_wait via the registered ring: %d\n", io_uring_submit_and_wait(&ring, 1));
	reap(&ring, "cqes");

	/* Explicit slots, the automatic slot (offset -1), and the checks. */
	struct io_uring_rsrc_update u[3];
	memset(u, 0, sizeof(u));
	u[0].offset = 5;
	u[0].data = ring2.ring_fd;
	printf("register ring2 at slot 5: %s", res(reg_rings(u, 1)));
	printf(" offset=%u\n", u[0].offset);
	u[0].offset = 5;
	u[0].data = ring.ring_fd;
	printf("slot 5 again: %s\n", res(reg_rings(u, 1)));
	u[0].offset = -1U;
	u[0].data = ring2.ring_fd;
	printf("offset -1: %s", res(reg_rings(u, 1)));
	printf(" offset=%u\n", u[0].offset);
	u[0].offset = 16;
	printf("offset 16: %s\n", res(reg_rings(u, 1)));
	u[0].offset = 3;
	u[0].resv = 1;
	printf("resv set: %s\n", res(reg_rings(u, 1)));
	u[0].resv = 0;
	u[0].data = 1;
	printf("not a ring fd: %s\n", res(reg_rings(u, 1)));
	u[0].data = 999;
	printf("closed fd: %s\n", res(reg_rings(u, 1)));
	printf("nr 0: %s\n", res(reg_rings(u, 0)));
	printf("nr 17: %s\n", res(reg_rings(u, 17)));
	printf("bad pointer: %s\n", res(reg_rings((void *)8, 1)));
	u[0].offset = 3;
	u[0].data = ring2.ring_fd;
	u[1].offset = 4;
	u[1].data = 1;
	printf("second of two fails: %s", res(reg_rings(u, 2)));
	printf(" offsets=%u,%u\n", u[0].offset, u[1].offset);

	/* Entering and registering by index. */
	queue_nop(&ring2, 2);
	printf("enter ring2 by slot 5: %s\n",
	       res(enter(5, 1, 1, IORING_ENTER_REGISTERED_RING | IORING_ENTER_GETEVENTS)));
	reap(&ring2, "ring2 cqes");
	printf("enter slot 7 (empty): %s\n", res(enter(7, 0, 0, IORING_ENTER_REGISTERED_RING)));
	printf("enter slot 16: %s\n", res(enter(16, 0, 0, IORING_ENTER_REGISTERED_RING)));
	struct io_uring_probe *probe = calloc(1, sizeof(*probe) + 4 * sizeof(probe->ops[0]));
	printf("probe via slot 5: %s\n",
	       res(reg(5, IORING_REGISTER_PROBE | IORING_REGISTER_USE_REGISTERED_RING, probe, 4)));
	printf("probe via slot 7: %s\n",
	       res(reg(7, IORING_REGISTER_PROBE | IORING_REGISTER_USE_REGISTERED_RING, probe, 4)));
	printf("probe via slot 16: %s\n",
	       res(reg(16, IORING_REGISTER_PROBE | IORING_REGISTER_USE_REGISTERED_RING, probe, 4)));

	/* Another thread has no registrations of its own, then makes one. */
	pthread_t t;
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);

	/* A thread that has submitted by fd has io_uring state, but no slots. */
	pthread_create(&t, NULL, thread2_main, NULL);
	pthread_join(t, NULL);

	/* A forked child does not inherit them. */
	pid_t pid = fork();
	if (pid == 0) {
		printf("child: enter slot 5: %s\n", res(enter(5, 0, 0, IORING_ENTER_REGISTERED_RING)));
		exit(0);
	}
	waitpid(pid, NULL, 0);

	/* The registration keeps the ring alive after its fd is closed. */
	int fd2 = ring2.ring_fd;
	close(fd2);
	printf("enter closed fd: %s\n", res(enter(fd2, 0, 0, 0)));
	queue_nop(&ring2, 3);
	printf("enter ring2 by slot 5 after close: %s\n",
	       res(enter(5, 1, 1, IORING_ENTER_REGISTERED_RING | IORING_ENTER_GETEVENTS)));
	reap(&ring2, "ring2 cqes");

	/* execve drops the registrations. */
	pid = fork();
	if (pid == 0) {
		struct io_uring_rsrc_update cu = { .offset = 5, .data = ring.ring_fd };
		printf("child: register slot 5: %s\n", res(reg_rings(&cu, 1)));
		printf("child: enter slot 5: %s\n", res(enter(5, 0, 0, IORING_ENTER_REGISTERED_RING)));
		execl("/proc/self/exe", argv[0], "exec", NULL);
		exit(1);
	}
	waitpid(pid, NULL, 0);

	/* Unregistering. */
	memset(u, 0, sizeof(u));
	u[0].offset = 5;
	u[0].data = 1;
	printf("unregister with data set: %s\n", res(unreg_rings(u, 1)));
	u[0].data = 0;
	u[0].offset = 16;
	printf("unregister offset 16: %s\n", res(unreg_rings(u, 1)));
	u[0].offset = 5;
	u[1].offset = 9;     /* empty: not an error */
	u[2].offset = 3;
	printf("unregister 5, 9, 3: %s\n", res(unreg_rings(u, 3)));
	printf("enter slot 5 after unregister: %s\n",
	       res(enter(5, 0, 0, IORING_ENTER_REGISTERED_RING)));
	u[0].offset = 0;
	u[1].offset = 16;
	printf("unregister 0 then 16: %s\n", res(unreg_rings(u, 2)));
	printf("nr 0: %s\n", res(unreg_rings(u, 0)));
	printf("liburing unregister (slot already empty): %d\n", io_uring_unregister_ring_fd(&ring));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 4;
	printf("submit_and_wait by fd again: %d\n", io_uring_submit_and_wait(&ring, 1));
	reap(&ring, "cqes");
	return 0;
}
