/* Raw-syscall ring: separate mmaps, NOP batches, errors from enter, bad SQEs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include "rawring.h"

static void reap_print(struct rawring *r, const char *tag)
{
	struct io_uring_cqe c;
	while (rawring_pop(r, &c))
		printf("%s: user_data=%llu res=%d\n", tag, (unsigned long long)c.user_data, c.res);
}

static void run_ring(unsigned flags, const char *tag)
{
	struct rawring r;
	int ret = rawring_init(&r, 8, flags);
	if (ret)
		FAIL("%s: init: %s", tag, strerror(-ret));
	for (int i = 1; i <= 3; i++) {
		struct io_uring_sqe s = nop_sqe(i);
		rawring_push(&r, &s);
	}
	ret = sys_enter(r.fd, 3, 3, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("%s: enter(3 nops, wait 3) = %d\n", tag, ret);
	reap_print(&r, tag);
	printf("%s: sq_head=%u\n", tag, *r.sq_head);

	/* An unknown opcode and an unknown sqe flag complete with -EINVAL. */
	struct io_uring_sqe s = nop_sqe(10);
	s.opcode = 200;
	rawring_push(&r, &s);
	ret = sys_enter(r.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("%s: enter(bad opcode) = %d\n", tag, ret);
	s = nop_sqe(11);
	s.flags = 1 << 7;
	rawring_push(&r, &s);
	ret = sys_enter(r.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("%s: enter(bad flag) = %d\n", tag, ret);
	reap_print(&r, tag);
	close(r.fd);
}

int main(int argc, char **argv)
{
	int strict_mmap = argc > 1 && !strcmp(argv[1], "--strict-mmap");
	run_ring(0, "plain");
	run_ring(IORING_SETUP_NO_SQARRAY, "no-sqarray");

	struct rawring r;
	if (rawring_init(&r, 4, 0))
		FAIL("init");
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	int ret = sys_enter(p[0], 0, 0, 0, NULL, 0);
	printf("enter on a pipe: %d %s\n", ret, strerrorname_np(errno));
	ret = sys_enter(999, 0, 0, 0, NULL, 0);
	printf("enter on a bad fd: %d %s\n", ret, strerrorname_np(errno));
	ret = sys_enter(r.fd, 0, 0, 1u << 31, NULL, 0);
	printf("enter with an unknown flag: %d %s\n", ret, strerrorname_np(errno));
	ret = sys_enter(r.fd, 0, 0, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, NULL, 3);
	printf("enter with a bad ext arg size: %d %s\n", ret, strerrorname_np(errno));
	ret = sys_enter(r.fd, 0, 0, 0, NULL, 0);
	printf("enter with nothing to do: %d\n", ret);
	ret = sys_enter(r.fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("getevents with min_complete 0: %d\n", ret);

	if (strict_mmap) {
		/* Linux 6.18 maps these (it masks the offset and maps the region
		 * lazily); pysentry refuses them as earlier kernels did. */
		void *m = mmap(0, 4096, PROT_READ, MAP_SHARED, r.fd, 4096);
		printf("mmap at a bad offset: %s\n", m == MAP_FAILED ? strerrorname_np(errno) : "mapped");
		m = mmap(0, 1 << 24, PROT_READ, MAP_SHARED, r.fd, IORING_OFF_SQES);
		printf("mmap of oversized sqes: %s\n", m == MAP_FAILED ? strerrorname_np(errno) : "mapped");
	}
	char b[8];
	ret = read(r.fd, b, sizeof(b));
	printf("read on the ring fd: %d %s\n", ret, strerrorname_np(errno));

	/* Both mappings of the rings show the same memory. */
	printf("cq ring mapped separately sees tail=%u head=%u\n", *r.cq_tail, *r.cq_head);

	/* An out-of-range index in the SQ array is dropped. */
	struct io_uring_sqe s = nop_sqe(20);
	unsigned slot = rawring_push(&r, &s);
	r.sq_array[slot] = 1000;
	ret = sys_enter(r.fd, 1, 0, 0, NULL, 0);
	printf("submit with a bad sq index: %d dropped=%u\n", ret, *r.sq_dropped);
	s = nop_sqe(21);
	rawring_push(&r, &s);
	ret = sys_enter(r.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("next submit: %d\n", ret);
	reap_print(&r, "after-drop");

	/* A bad index in the middle ends the batch: the entries before it are
	 * submitted, it is consumed and dropped, the rest stay queued. */
	s = nop_sqe(30);
	rawring_push(&r, &s);
	s = nop_sqe(31);
	slot = rawring_push(&r, &s);
	r.sq_array[slot] = 1000;
	s = nop_sqe(32);
	rawring_push(&r, &s);
	ret = sys_enter(r.fd, 3, 0, 0, NULL, 0);
	printf("submit 3 with a bad index second: %d dropped=%u head=%u tail=%u\n", ret,
	       *r.sq_dropped, *r.sq_head, *r.sq_tail);
	ret = sys_enter(r.fd, 1, 2, IORING_ENTER_GETEVENTS, NULL, 0);
	printf("submit the rest: %d\n", ret);
	reap_print(&r, "mid-drop");
	return 0;
}
