/* Provided-buffer rings for the test programs: the register ABI spelled out
 * (so an older liburing header will do) and helpers that register,
 * unregister and read the head of a buffer ring of the program's ring `r`,
 * which the including file defines before it includes this one, with FAIL. */
#ifndef PBUF_H
#define PBUF_H
#include <liburing.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REG_PBUF_RING 22
#define UNREG_PBUF_RING 23
#define REG_PBUF_STATUS 26
#define PBUF_RING_INC 2
#define CQE_F_BUF_MORE (1U << 4)

struct pb_reg {
	uint64_t ring_addr;
	uint32_t ring_entries;
	uint16_t bgid;
	uint16_t flags;
	uint64_t resv[3];
};

struct pb_status {
	uint32_t buf_group;
	uint32_t head;
	uint32_t resv[8];
};

struct pb_buf {
	uint64_t addr;
	uint32_t len;
	uint16_t bid;
	uint16_t resv;           /* bufs[0].resv is the ring's tail */
};

/* io_uring_register on `r`: the result, or -errno. */
static int reg(unsigned op, void *arg, unsigned nr)
{
	int ret = syscall(__NR_io_uring_register, r.ring_fd, op, arg, nr);
	return ret < 0 ? -errno : ret;
}

static int reg_ring(void *addr, unsigned entries, unsigned bgid, unsigned flags)
{
	struct pb_reg rg = { (uintptr_t)addr, entries, bgid, flags, { 0, 0, 0 } };
	return reg(REG_PBUF_RING, &rg, 1);
}

static int unreg_ring(unsigned bgid)
{
	struct pb_reg rg = { 0, 0, bgid, 0, { 0, 0, 0 } };
	return reg(UNREG_PBUF_RING, &rg, 1);
}

/* The ring's head as IORING_REGISTER_PBUF_STATUS reports it, or -errno. */
static int ring_head(unsigned bgid)
{
	struct pb_status st;
	memset(&st, 0, sizeof(st));
	st.buf_group = bgid;
	int ret = reg(REG_PBUF_STATUS, &st, 1);
	return ret < 0 ? ret : (int)st.head;
}

/* The next SQE of `r`, with its user_data set. */
static struct io_uring_sqe *get(unsigned long long ud)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&r);
	if (!s)
		FAIL("no sqe");
	s->user_data = ud;
	return s;
}
#endif
