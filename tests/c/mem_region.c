/* IORING_REGISTER_MEM_REGION with a program-supplied region
 * (IORING_MEM_REGION_TYPE_USER) holding registered wait arguments
 * (IORING_MEM_REGION_REG_WAIT_ARG), used by io_uring_enter with
 * IORING_ENTER_EXT_ARG | IORING_ENTER_EXT_ARG_REG: argp is an offset into the
 * region.  Prints results only. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define R_MEM_REGION 34
#define REGION_TYPE_USER 1
#define REG_WAIT_ARG 1
#define ENTER_EXT_ARG_REG (1U << 6)
#define REG_WAIT_TS 1

struct region_desc {
	unsigned long long user_addr, size;
	unsigned flags, id;
	unsigned long long mmap_offset, resv[4];
};
struct mem_region_reg {
	unsigned long long region_uptr, flags, resv[2];
};
struct reg_wait {
	struct __kernel_timespec ts;
	unsigned min_wait_usec, flags;
	unsigned long long sigmask;
	unsigned sigmask_sz, pad[3];
	unsigned long long pad2[2];
};

static struct io_uring ring;

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %ld %s\n", what, r, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static long reg_region(struct region_desc *rd, unsigned long long flags)
{
	struct mem_region_reg mr = { (unsigned long)rd, flags, {0} };
	return syscall(__NR_io_uring_register, ring.ring_fd, R_MEM_REGION, &mr, 1);
}

static long wait_reg(unsigned min, unsigned long offset, size_t sz)
{
	return syscall(__NR_io_uring_enter, ring.ring_fd, 0, min,
		       IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_EXT_ARG_REG,
		       (void *)offset, sz);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	if (io_uring_queue_init_params(8, &ring, &p))
		return 1;
	long page = sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct region_desc rd;

#define TRY(name, ...) do { memset(&rd, 0, sizeof(rd)); __VA_ARGS__; show(name, reg_region(&rd, REG_WAIT_ARG)); } while (0)
	TRY("size 0", rd.user_addr = (unsigned long)mem; rd.flags = REGION_TYPE_USER);
	TRY("unaligned address", rd.user_addr = (unsigned long)mem + 8; rd.size = page;
	    rd.flags = REGION_TYPE_USER);
	TRY("unaligned size", rd.user_addr = (unsigned long)mem; rd.size = 100;
	    rd.flags = REGION_TYPE_USER);
	TRY("user flag without address", rd.size = page; rd.flags = REGION_TYPE_USER);
	TRY("address without user flag", rd.user_addr = (unsigned long)mem; rd.size = page);
	TRY("unknown region flag", rd.user_addr = (unsigned long)mem; rd.size = page;
	    rd.flags = REGION_TYPE_USER | 2);
	TRY("id set", rd.user_addr = (unsigned long)mem; rd.size = page;
	    rd.flags = REGION_TYPE_USER; rd.id = 1);
	TRY("mmap_offset set", rd.user_addr = (unsigned long)mem; rd.size = page;
	    rd.flags = REGION_TYPE_USER; rd.mmap_offset = 1);
	TRY("resv set", rd.user_addr = (unsigned long)mem; rd.size = page;
	    rd.flags = REGION_TYPE_USER; rd.resv[0] = 1);
	TRY("read-only memory", rd.user_addr = (unsigned long)ro; rd.size = page;
	    rd.flags = REGION_TYPE_USER);
	TRY("unmapped memory", rd.user_addr = 4096; rd.size = page; rd.flags = REGION_TYPE_USER);
	memset(&rd, 0, sizeof(rd));
	rd.user_addr = (unsigned long)mem;
	rd.size = page;
	rd.flags = REGION_TYPE_USER;
	show("unknown reg flag", reg_region(&rd, 2));
	struct mem_region_reg mr = { (unsigned long)&rd, REG_WAIT_ARG, { 1 } };
	show("reg resv set", syscall(__NR_io_uring_register, ring.ring_fd, R_MEM_REGION, &mr, 1));
	show("nr_args 0", syscall(__NR_io_uring_register, ring.ring_fd, R_MEM_REGION, &mr, 0));
	mr.resv[0] = 0;
	mr.region_uptr = 8;
	show("bad desc pointer", syscall(__NR_io_uring_register, ring.ring_fd, R_MEM_REGION, &mr, 1));
	show("register", reg_region(&rd, REG_WAIT_ARG));
	printf("  desc after: size=%llu flags=%u mmap_offset=%llu\n", rd.size, rd.flags,
	       rd.mmap_offset);
	show("register again", reg_region(&rd, REG_WAIT_ARG));
	syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);

	struct reg_wait *w = (struct reg_wait *)mem;
	w[0].ts.tv_nsec = 10000000;
	w[0].flags = REG_WAIT_TS;
	show("wait, slot 0 with 10ms", wait_reg(1, 0, sizeof(struct reg_wait)));
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	io_uring_submit(&ring);
	show("wait, a CQE ready", wait_reg(1, 0, sizeof(struct reg_wait)));
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&ring, &cqe) == 0)
		io_uring_cqe_seen(&ring, cqe);
	w[1].ts.tv_nsec = 5000000;
	w[1].flags = REG_WAIT_TS;
	show("wait, slot 1", wait_reg(1, sizeof(struct reg_wait), sizeof(struct reg_wait)));
	w[1].flags = 4;
	show("wait, unknown flag", wait_reg(1, sizeof(struct reg_wait), sizeof(struct reg_wait)));
	w[1].flags = 0;
	w[1].min_wait_usec = 3000;
	show("wait, no TS, min_wait", wait_reg(1, sizeof(struct reg_wait), sizeof(struct reg_wait)));
	show("wait for 0, offset 8", wait_reg(0, 8, sizeof(struct reg_wait)));
	show("wait for 0, offset 4", wait_reg(0, 4, sizeof(struct reg_wait)));
	show("wait, last slot", wait_reg(0, page - sizeof(struct reg_wait), sizeof(struct reg_wait)));
	show("wait, past the end", wait_reg(1, page - 56, sizeof(struct reg_wait)));
	show("wait, wrong size", wait_reg(1, 0, 32));
	show("MEM_REGION on an enabled ring", reg_region(&rd, REG_WAIT_ARG));

	/* A region the kernel allocates, mapped from the ring fd. */
	struct io_uring k;
	struct io_uring_params kp = { .flags = IORING_SETUP_R_DISABLED };
	if (io_uring_queue_init_params(8, &k, &kp))
		return 1;
	memset(&rd, 0, sizeof(rd));
	rd.size = 2 * page;
	struct mem_region_reg kr = { (unsigned long)&rd, REG_WAIT_ARG, {0} };
	show("kernel region", syscall(__NR_io_uring_register, k.ring_fd, R_MEM_REGION, &kr, 1));
	printf("  desc after: size=%llu flags=%u mmap_offset=%#llx\n", rd.size, rd.flags,
	       rd.mmap_offset);
	struct reg_wait *kw = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, k.ring_fd,
				   rd.mmap_offset);
	printf("mmap the region: %s\n", kw == MAP_FAILED ? strerrorname_np(errno) : "ok");
	if (kw == MAP_FAILED)
		return 0;
	syscall(__NR_io_uring_register, k.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	int slot = 2 * page / sizeof(struct reg_wait) - 2;
	kw[slot].ts.tv_nsec = 5000000;
	kw[slot].flags = REG_WAIT_TS;
	long r = syscall(__NR_io_uring_enter, k.ring_fd, 0, 1,
			 IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_EXT_ARG_REG,
			 (void *)(slot * sizeof(struct reg_wait)), sizeof(struct reg_wait));
	show("wait on a slot of the kernel region", r);
	/* 6.18 reads the last slot as slot 0 (array_index_nospec bound). */
	kw[0].ts.tv_nsec = 5000000;
	kw[0].flags = REG_WAIT_TS;
	kw[slot + 1].flags = 0x80;
	r = syscall(__NR_io_uring_enter, k.ring_fd, 0, 1,
		    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | ENTER_EXT_ARG_REG,
		    (void *)((slot + 1) * sizeof(struct reg_wait)), sizeof(struct reg_wait));
	show("wait on the last slot (read as slot 0)", r);
	return 0;
}
