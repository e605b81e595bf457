/* IORING_SETUP_R_DISABLED, IORING_REGISTER_RESTRICTIONS, ENABLE_RINGS. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

/* Raw wrappers: Debian's liburing 2.3 does not export these two. */
static int reg(struct io_uring *r, unsigned op, void *arg, unsigned nr)
{
	int ret = syscall(__NR_io_uring_register, r->ring_fd, op, arg, nr);
	return ret < 0 ? -errno : ret;
}
#define io_uring_register_restrictions(r, res, n) reg(r, IORING_REGISTER_RESTRICTIONS, res, n)
#define io_uring_enable_rings(r) reg(r, IORING_REGISTER_ENABLE_RINGS, NULL, 0)

static int one(struct io_uring *r, struct io_uring_sqe *s, unsigned long long ud)
{
	struct io_uring_cqe *c;
	s->user_data = ud;
	int ret = io_uring_submit(r);
	if (ret < 0)
		return ret;
	if (io_uring_wait_cqe(r, &c))
		FAIL("wait");
	ret = c->res;
	io_uring_cqe_seen(r, c);
	return ret;
}

int main(void)
{
	struct io_uring r;
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED;
	if (io_uring_queue_init_params(8, &r, &p))
		FAIL("init");
	io_uring_prep_nop(io_uring_get_sqe(&r));
	printf("submit while disabled: %d\n", io_uring_submit(&r));

	struct io_uring_restriction res[4];
	memset(res, 0, sizeof(res));
	res[0].opcode = IORING_RESTRICTION_SQE_OP;
	res[0].sqe_op = IORING_OP_NOP;
	res[1].opcode = IORING_RESTRICTION_SQE_OP;
	res[1].sqe_op = IORING_OP_READ;
	res[2].opcode = IORING_RESTRICTION_REGISTER_OP;
	res[2].register_op = IORING_REGISTER_PROBE;
	res[3].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[3].sqe_flags = IOSQE_IO_LINK;
	printf("register restrictions: %d\n", io_uring_register_restrictions(&r, res, 4));
	printf("register them again: %d\n", io_uring_register_restrictions(&r, res, 4));
	printf("enable: %d\n", io_uring_enable_rings(&r));
	printf("enable again: %d\n", io_uring_enable_rings(&r));
	/* The NOP queued while disabled is submitted now. */
	struct io_uring_cqe *c;
	printf("queued nop submitted: %d\n", io_uring_submit_and_wait(&r, 1));
	io_uring_wait_cqe(&r, &c);
	printf("queued nop res: %d\n", c->res);
	io_uring_cqe_seen(&r, c);

	struct io_uring_sqe *s = io_uring_get_sqe(&r);
	io_uring_prep_nop(s);
	printf("allowed nop: %d\n", one(&r, s, 1));
	s = io_uring_get_sqe(&r);
	io_uring_prep_fsync(s, 0, 0);
	printf("forbidden fsync: %d\n", one(&r, s, 2));
	s = io_uring_get_sqe(&r);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_IO_DRAIN;
	printf("forbidden flag: %d\n", one(&r, s, 3));
	s = io_uring_get_sqe(&r);
	io_uring_prep_nop(s);
	s->flags |= IOSQE_IO_LINK;
	printf("allowed flag: %d\n", one(&r, s, 4));
	int fds[1] = { 0 };
	printf("forbidden register: %d\n", io_uring_register_files(&r, fds, 1));
	struct io_uring_probe *pr = io_uring_get_probe_ring(&r);
	printf("allowed register (probe): %s\n", pr ? "ok" : "failed");

	struct io_uring r2;
	if (io_uring_queue_init(4, &r2, 0))
		FAIL("init2");
	printf("restrictions on an enabled ring: %d\n", io_uring_register_restrictions(&r2, res, 1));
	printf("enable an enabled ring: %d\n", io_uring_enable_rings(&r2));

	/* Reserved fields are not checked; an empty list restricts everything;
	 * a bad entry fails the call and registers nothing. */
	struct io_uring r3;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED;
	if (io_uring_queue_init_params(4, &r3, &p))
		FAIL("init3");
	memset(res, 0xA5, sizeof(res));
	res[0].opcode = IORING_RESTRICTION_SQE_OP;
	res[0].sqe_op = IORING_OP_NOP;
	res[1].opcode = 99;
	printf("bad restriction entry: %d\n", io_uring_register_restrictions(&r3, res, 2));
	printf("garbage in reserved fields: %d\n", io_uring_register_restrictions(&r3, res, 1));
	printf("enable r3: %d\n", io_uring_enable_rings(&r3));
	s = io_uring_get_sqe(&r3);
	io_uring_prep_nop(s);
	printf("r3 nop: %d\n", one(&r3, s, 5));

	struct io_uring r4;
	if (io_uring_queue_init_params(4, &r4, &p))
		FAIL("init4");
	printf("empty restrictions: %d\n", io_uring_register_restrictions(&r4, res, 0));
	printf("enable r4: %d\n", io_uring_enable_rings(&r4));
	s = io_uring_get_sqe(&r4);
	io_uring_prep_nop(s);
	printf("r4 nop: %d\n", one(&r4, s, 6));
	printf("r4 probe: %d\n", io_uring_register_probe(&r4, NULL, 0));
	return 0;
}
