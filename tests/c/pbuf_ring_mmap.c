/* IOU_PBUF_RING_MMAP: a provided-buffer ring the kernel allocates, which the
 * program maps from the ring fd at IORING_OFF_PBUF_RING | bgid <<
 * IORING_OFF_PBUF_SHIFT and fills as usual; reads select its buffers.
 * Prints results only. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PBUF_RING_MMAP 1
#define OFF_PBUF_RING 0x80000000ULL
#define OFF_PBUF_SHIFT 16

static struct io_uring ring;

/* struct io_uring_buf_reg and io_uring_buf_status, as liburing 2.3's header
 * lacks their newer fields. */
struct buf_reg {
	unsigned long long ring_addr;
	unsigned ring_entries;
	unsigned short bgid, flags;
	unsigned long long resv[3];
};
struct buf_status {
	unsigned buf_group, head, resv[8];
};

static long reg(unsigned long long addr, unsigned entries, unsigned short bgid, unsigned short flags)
{
	struct buf_reg r = { .ring_addr = addr, .ring_entries = entries, .bgid = bgid,
			     .flags = flags };
	return syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_PBUF_RING, &r, 1);
}

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %ld %s\n", what, r, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static void *map(unsigned bgid, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ring.ring_fd,
		    OFF_PBUF_RING | ((unsigned long long)bgid << OFF_PBUF_SHIFT));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init(8, &ring, 0))
		return 1;
	show("MMAP with a ring address", reg(0x10000, 8, 1, PBUF_RING_MMAP));
	show("MMAP, 8 entries", reg(0, 8, 1, PBUF_RING_MMAP));
	show("again", reg(0, 8, 1, PBUF_RING_MMAP));
	void *m = map(2, 4096);
	printf("map a group without a ring: %s\n", m == MAP_FAILED ? strerrorname_np(errno) : "ok");
	m = map(1, 2 * 4096);
	printf("map two pages of a one-page ring: %s\n", m == MAP_FAILED ? strerrorname_np(errno) : "ok");
	struct io_uring_buf_ring *br = map(1, 4096);
	printf("map the ring: %s\n", br == MAP_FAILED ? strerrorname_np(errno) : "ok");
	if (br == MAP_FAILED)
		return 0;
	printf("tail starts at %u\n", br->tail);
	static char bufs[2][16];
	io_uring_buf_ring_init(br);
	io_uring_buf_ring_add(br, bufs[0], sizeof(bufs[0]), 7, io_uring_buf_ring_mask(8), 0);
	io_uring_buf_ring_add(br, bufs[1], sizeof(bufs[1]), 9, io_uring_buf_ring_mask(8), 1);
	io_uring_buf_ring_advance(br, 2);

	int p[2];
	pipe(p);
	for (int i = 0; i < 3; i++) {
		write(p[1], i ? "second" : "first", i ? 6 : 5);
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, p[0], NULL, 16, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 1;
		io_uring_submit(&ring);
		struct io_uring_cqe *cqe;
		io_uring_wait_cqe(&ring, &cqe);
		int bid = cqe->flags & IORING_CQE_F_BUFFER ? cqe->flags >> IORING_CQE_BUFFER_SHIFT : -1;
		printf("read %d: res=%d bid=%d data=%.*s\n", i, cqe->res, bid,
		       cqe->res > 0 ? cqe->res : 0, bid == 7 ? bufs[0] : bid == 9 ? bufs[1] : "");
		io_uring_cqe_seen(&ring, cqe);
		if (cqe->res < 0) {
			char drain[16];
			read(p[0], drain, sizeof(drain));
		}
	}
	struct buf_status st = { .buf_group = 1 };
	show("status", syscall(__NR_io_uring_register, ring.ring_fd, 26, &st, 1));
	printf("  head=%u\n", st.head);
	show("unregister", syscall(__NR_io_uring_register, ring.ring_fd, IORING_UNREGISTER_PBUF_RING,
				   &(struct buf_reg){ .bgid = 1 }, 1));
	m = map(1, 4096);
	printf("map after unregister: %s\n", m == MAP_FAILED ? strerrorname_np(errno) : "ok");
	show("MMAP, 1024 entries", reg(0, 1024, 3, PBUF_RING_MMAP));
	m = map(3, 4 * 4096);
	printf("map its 4 pages: %s\n", m == MAP_FAILED ? strerrorname_np(errno) : "ok");
	return 0;
}
