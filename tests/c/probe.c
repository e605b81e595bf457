/* IORING_REGISTER_PROBE: which opcodes the kernel (or the Sentry) supports.
 *   probe            prints support for the stage-1 opcodes (same everywhere)
 *   probe --all      prints the full list of supported opcode numbers
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct io_uring r;
	if (io_uring_queue_init(4, &r, 0))
		return 1;
	struct io_uring_probe *p = io_uring_get_probe_ring(&r);
	if (!p) {
		printf("probe failed\n");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "--all")) {
		printf("supported:");
		for (int op = 0; op < p->ops_len; op++)
			if (p->ops[op].flags & IO_URING_OP_SUPPORTED)
				printf(" %d", op);
		printf("\n");
		return 0;
	}
	static const int ops[] = { IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV,
				   IORING_OP_FSYNC, IORING_OP_READ, IORING_OP_WRITE };
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		printf("op %d supported: %d\n", ops[i], io_uring_opcode_supported(p, ops[i]));
	io_uring_free_probe(p);

	/* The probe buffer must be zeroed; a dirty one is EINVAL. */
	size_t sz = sizeof(struct io_uring_probe) + 4 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *dirty = calloc(1, sz);
	dirty->resv = 1;
	int ret = syscall(__NR_io_uring_register, r.ring_fd, IORING_REGISTER_PROBE, dirty, 4);
	printf("dirty probe buffer: %d %s\n", ret, ret < 0 ? strerrorname_np(errno) : "");
	ret = syscall(__NR_io_uring_register, r.ring_fd, IORING_REGISTER_PROBE, (void *)8, 4);
	printf("bad probe pointer: %d %s\n", ret, ret < 0 ? strerrorname_np(errno) : "");
	ret = syscall(__NR_io_uring_register, 1, IORING_REGISTER_PROBE, dirty, 4);
	printf("register on a non-ring fd: %d %s\n", ret, ret < 0 ? strerrorname_np(errno) : "");
	ret = syscall(__NR_io_uring_register, r.ring_fd, 9999, NULL, 0);
	printf("unknown register opcode: %d %s\n", ret, ret < 0 ? strerrorname_np(errno) : "");
	return 0;
}
