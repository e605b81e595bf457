/* io_uring_setup(2) parameter validation, printed case by case. */
#define _GNU_SOURCE
#include <fcntl.h>
#include "rawring.h"

static void try(const char *name, unsigned entries, unsigned flags, unsigned cq, int resv)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.cq_entries = cq;
	if (resv)
		p.resv[1] = 1;
	int fd = sys_setup(entries, &p);
	if (fd < 0) {
		printf("%s: errno=%s\n", name, strerrorname_np(errno));
		return;
	}
	printf("%s: ok sq_entries=%u cq_entries=%u\n", name, p.sq_entries, p.cq_entries);
	close(fd);
}

int main(void)
{
	try("zero-entries", 0, 0, 0, 0);
	try("entries-3", 3, 0, 0, 0);
	try("entries-1", 1, 0, 0, 0);
	try("entries-32768", 32768, 0, 0, 0);
	try("entries-32769", 32769, 0, 0, 0);
	try("entries-32769-clamp", 32769, IORING_SETUP_CLAMP, 0, 0);
	try("cqsize-0", 4, IORING_SETUP_CQSIZE, 0, 0);
	try("cqsize-100", 4, IORING_SETUP_CQSIZE, 100, 0);
	try("cqsize-smaller-than-sq", 8, IORING_SETUP_CQSIZE, 4, 0);
	try("cqsize-huge", 4, IORING_SETUP_CQSIZE, 1 << 20, 0);
	try("cqsize-huge-clamp", 4, IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP, 1 << 20, 0);
	try("resv-nonzero", 4, 0, 0, 1);
	try("unknown-flag", 4, 1u << 31, 0, 0);
	try("taskrun-flag-alone", 4, IORING_SETUP_TASKRUN_FLAG, 0, 0);
	int fd = sys_setup(4, NULL);
	printf("null-params: errno=%s\n", fd < 0 ? strerrorname_np(errno) : "none");
	fd = sys_setup(4, (void *)8);
	printf("bad-params: errno=%s\n", fd < 0 ? strerrorname_np(errno) : "none");
	/* The returned fd is close-on-exec, as io_uring fds are. */
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	fd = sys_setup(4, &p);
	printf("cloexec: %d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	return 0;
}
