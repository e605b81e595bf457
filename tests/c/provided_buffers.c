/* Provided buffers: PROVIDE_BUFFERS / REMOVE_BUFFERS (legacy groups), buffer
 * rings (IORING_REGISTER_PBUF_RING, UNREGISTER_PBUF_RING, PBUF_STATUS), and
 * IOSQE_BUFFER_SELECT reads from a file and a pipe. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

static struct io_uring r;

#include "pbuf.h"

/* Submit what is queued and print one CQE; return its res. */
static int one(const char *tag, int *flags_out)
{
	struct io_uring_cqe *c;
	io_uring_submit(&r);
	if (io_uring_wait_cqe(&r, &c))
		FAIL("wait %s", tag);
	int res = c->res;
	unsigned f = c->flags;
	printf("%s: user_data=%llu res=%d flags=%#x", tag, (unsigned long long)c->user_data, res, f);
	if (f & IORING_CQE_F_BUFFER)
		printf(" bid=%u%s", f >> IORING_CQE_BUFFER_SHIFT, f & CQE_F_BUF_MORE ? " buf_more" : "");
	printf("\n");
	io_uring_cqe_seen(&r, c);
	if (flags_out)
		*flags_out = f;
	return res;
}

static struct io_uring_sqe *provide(unsigned long long ud, void *addr, int len, int nr,
				    int bgid, int bid)
{
	struct io_uring_sqe *s = get(ud);
	io_uring_prep_provide_buffers(s, addr, len, nr, bgid, bid);
	return s;
}

static struct io_uring_sqe *remove_bufs(unsigned long long ud, int nr, int bgid)
{
	struct io_uring_sqe *s = get(ud);
	io_uring_prep_remove_buffers(s, nr, bgid);
	return s;
}

static void read_select(unsigned long long ud, int fd, unsigned len, int bgid, unsigned long long off)
{
	struct io_uring_sqe *s = get(ud);
	io_uring_prep_read(s, fd, NULL, len, off);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = bgid;
}

static void show(const char *tag, const char *base, int res, int flags)
{
	if (res <= 0 || !(flags & IORING_CQE_F_BUFFER))
		return;
	printf("%s data: %.*s\n", tag, res, base);
}

static char pool[64 * 1024] __attribute__((aligned(4096)));

static void legacy_groups(void)
{
	/* Counts: provide answers 0, remove the number removed. */
	provide(1, pool, 64, 4, 1, 10);
	one("provide 4", NULL);
	remove_bufs(2, 2, 1);
	one("remove 2 of 4", NULL);
	remove_bufs(3, 10, 1);
	one("remove 10 of 2", NULL);
	remove_bufs(4, 1, 1);
	one("remove from emptied group", NULL);
	remove_bufs(5, 1, 77);
	one("remove from unknown group", NULL);

	/* The prep checks. */
	provide(10, pool, 64, 0, 1, 0);
	one("provide nbufs 0", NULL);
	provide(11, pool, 1, 65537, 1, 0);
	one("provide nbufs 65537", NULL);
	provide(12, pool, 0, 1, 1, 0);
	one("provide len 0", NULL);
	provide(13, pool, 64, 1, 1, 65536);
	one("provide bid 65536", NULL);
	provide(14, pool, 64, 2, 1, 65535);
	one("provide bids past 65535", NULL);
	provide(15, pool, 64, 1, 1, 65535);
	one("provide bid 65535", NULL);
	provide(16, (void *)(uintptr_t)(UINT64_MAX - 10), 64, 1, 1, 0);
	one("provide wrapping", NULL);
	provide(17, (void *)(uintptr_t)(1ULL << 47), 64, 1, 1, 0);
	one("provide kernel address", NULL);
	provide(18, pool, 64, 1, 1, 0)->rw_flags = 1;
	one("provide rw_flags", NULL);
	remove_bufs(20, 0, 1);
	one("remove nbufs 0", NULL);
	remove_bufs(21, 1, 1)->addr = 8;
	one("remove with addr", NULL);
	remove_bufs(22, 65537, 1);
	one("remove nbufs 65537", NULL);
	remove_bufs(23, 65536, 1);
	one("remove all of group 1", NULL);
}

static void file_reads(int fd)
{
	int fl, res;
	char *b = pool + 4096;
	memset(b, '.', 64);
	provide(30, b, 16, 3, 2, 100);
	one("provide 3x16", NULL);
	read_select(31, fd, 8, 2, 0);
	res = one("read len 8", &fl);
	show("read len 8", b + 16 * ((fl >> 16) - 100), res, fl);
	read_select(32, fd, 0, 2, 8);
	res = one("read len 0 (whole buffer)", &fl);
	show("read len 0", b + 16 * ((fl >> 16) - 100), res, fl);
	/* READV with buffer select: one iovec whose length caps the buffer. */
	struct iovec iov = { NULL, 5 };
	struct io_uring_sqe *s = get(33);
	io_uring_prep_readv(s, fd, &iov, 1, 100);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 2;
	res = one("readv iov_len 5", &fl);
	show("readv", b + 16 * ((fl >> 16) - 100), res, fl);
	read_select(34, fd, 0, 2, 0);
	one("read from empty group", NULL);
	read_select(35, fd, 0, 99, 0);
	one("read from unknown group", NULL);
	struct iovec two[2] = { { NULL, 4 }, { NULL, 4 } };
	s = get(36);
	io_uring_prep_readv(s, fd, two, 2, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 2;
	one("readv two iovecs", NULL);
	s = get(37);
	io_uring_prep_readv(s, fd, (struct iovec *)8, 1, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 2;
	one("readv bad iovec", NULL);
	/* A selected buffer that cannot be written: the read fails, and the
	 * CQE still names the buffer it consumed. */
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	provide(38, ro, 16, 1, 2, 300);
	one("provide read-only", NULL);
	read_select(39, fd, 0, 2, 0);
	one("read into read-only buffer", NULL);
	read_select(40, fd, 0, 2, 0);
	one("group empty after the failure", NULL);
	munmap(ro, 4096);
}

static void pipe_reads(void)
{
	int p[2], fl, res;
	if (pipe(p))
		FAIL("pipe");
	char *b = pool + 8192;
	provide(50, b, 32, 1, 3, 1);
	one("provide pipe buffer", NULL);
	/* A read on an empty pipe waits, keeping the legacy buffer it picked
	 * (Linux recycles only ring buffers when a read must wait). */
	read_select(51, p[0], 0, 3, 0);
	io_uring_submit(&r);
	remove_bufs(52, 1, 3);
	one("remove while a read waits", NULL);
	provide(53, b + 32, 32, 1, 3, 2);
	one("provide another", NULL);
	if (write(p[1], "hello pipe", 10) != 10)
		FAIL("write");
	res = one("pipe read", &fl);
	show("pipe read", b + 32 * ((fl >> 16) - 1), res, fl);
	/* A waiting read cancelled: its CQE names the buffer, which is gone. */
	read_select(54, p[0], 0, 3, 0);
	io_uring_submit(&r);
	io_uring_prep_cancel64(get(55), 54, 0);
	io_uring_submit(&r);
	for (int i = 0; i < 2; i++) {
		struct io_uring_cqe *c;
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait cancel");
		printf("cancel: user_data=%llu res=%d flags=%#x\n",
		       (unsigned long long)c->user_data, c->res, c->flags);
		io_uring_cqe_seen(&r, c);
	}
	remove_bufs(56, 1, 3);
	one("remove after the cancel", NULL);
	read_select(57, p[0], 0, 3, 0);
	one("pipe read from an empty group", NULL);
	close(p[0]);
	close(p[1]);
}

static void ring_errors(void)
{
	void *mem = pool + 16384;
	printf("entries 3: %d\n", reg_ring(mem, 3, 5, 0));
	printf("entries 0: %d\n", reg_ring(mem, 0, 5, 0));
	printf("entries 65536: %d\n", reg_ring(mem, 65536, 5, 0));
	printf("unaligned: %d\n", reg_ring((char *)mem + 16, 4, 5, 0));
	printf("null address: %d\n", reg_ring(NULL, 4, 5, 0));
	printf("unknown flag: %d\n", reg_ring(mem, 4, 5, 4));
	struct pb_reg rg = { (uintptr_t)mem, 4, 5, 0, { 0, 1, 0 } };
	printf("reserved set: %d\n", reg(REG_PBUF_RING, &rg, 1));
	printf("nr_args 2: %d\n", reg(REG_PBUF_RING, &rg, 2));
	printf("null arg: %d\n", reg(REG_PBUF_RING, NULL, 1));
	void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, 4096);
	printf("unmapped: %d\n", reg_ring(gone, 4, 5, 0));
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("read-only: %d\n", reg_ring(ro, 4, 5, 0));
	munmap(ro, 4096);

	printf("register: %d\n", reg_ring(mem, 4, 5, 0));
	printf("register again: %d\n", reg_ring(mem, 4, 5, 0));
	provide(60, pool, 16, 1, 5, 0);
	one("provide to a ring group", NULL);
	remove_bufs(61, 1, 5);
	one("remove from a ring group", NULL);
	provide(62, pool, 16, 1, 9, 0);
	one("provide to group 9", NULL);
	printf("register over buffers: %d\n", reg_ring((char *)mem + 4096, 4, 9, 0));
	printf("status of a legacy group: %d\n", ring_head(9));
	printf("unregister a legacy group: %d\n", unreg_ring(9));
	remove_bufs(63, 1, 9);
	one("empty group 9", NULL);
	/* An emptied legacy group may become a ring. */
	printf("register over empty group: %d\n", reg_ring((char *)mem + 4096, 4, 9, 0));
	printf("unregister 9: %d\n", unreg_ring(9));
	printf("status unknown: %d\n", ring_head(42));
	struct pb_status st;
	memset(&st, 0, sizeof(st));
	st.buf_group = 5;
	st.resv[3] = 1;
	printf("status reserved set: %d\n", reg(REG_PBUF_STATUS, &st, 1));
	printf("status head: %d\n", ring_head(5));
	printf("unregister: %d\n", unreg_ring(5));
	printf("unregister again: %d\n", unreg_ring(5));
	struct pb_reg ur = { 0, 0, 5, 1, { 0, 0, 0 } };
	printf("unregister with flags: %d\n", reg(UNREG_PBUF_RING, &ur, 1));
}

static void ring_add(struct pb_buf *ring, unsigned mask, unsigned idx, void *addr, unsigned len,
		     unsigned bid)
{
	struct pb_buf *e = &ring[idx & mask];
	e->addr = (uintptr_t)addr;
	e->len = len;
	e->bid = bid;
}

static void set_tail(struct pb_buf *ring, unsigned tail)
{
	__atomic_store_n(&ring[0].resv, (uint16_t)tail, __ATOMIC_RELEASE);
}

static void ring_reads(int fd)
{
	struct pb_buf *ring = (struct pb_buf *)(pool + 20480);
	char *b = pool + 24576;
	int fl, res;
	memset(ring, 0, 4096);
	printf("register ring of 4: %d\n", reg_ring(ring, 4, 6, 0));
	for (unsigned i = 0; i < 4; i++)
		ring_add(ring, 3, i, b + 32 * i, 32, i);
	set_tail(ring, 4);
	for (unsigned i = 0; i < 4; i++) {
		read_select(70 + i, fd, 10, 6, 10 * i);
		res = one("ring read", &fl);
		show("ring read", b + 32 * (fl >> 16), res, fl);
	}
	printf("head after 4: %d\n", ring_head(6));
	read_select(74, fd, 10, 6, 0);
	one("ring empty", NULL);
	/* Two more entries: they wrap to slots 0 and 1. */
	ring_add(ring, 3, 4, b + 200, 20, 44);
	ring_add(ring, 3, 5, b + 300, 20, 55);
	set_tail(ring, 6);
	read_select(75, fd, 0, 6, 0);
	res = one("ring read after wrap", &fl);
	show("wrap", b + 200, res, fl);
	read_select(76, fd, 0, 6, 20);
	res = one("ring read after wrap", &fl);
	show("wrap", b + 300, res, fl);
	printf("head after 6: %d\n", ring_head(6));

	/* A pipe read waits without taking the ring's buffer. */
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	ring_add(ring, 3, 6, b + 400, 32, 66);
	set_tail(ring, 7);
	read_select(77, p[0], 0, 6, 0);
	io_uring_submit(&r);
	usleep(20000);
	printf("head while waiting: %d\n", ring_head(6));
	/* The entry is read again when the data comes: the program may still
	 * change it. */
	ring_add(ring, 3, 6, b + 400, 32, 67);
	if (write(p[1], "ring pipe", 9) != 9)
		FAIL("write");
	res = one("ring pipe read", &fl);
	show("ring pipe", b + 400, res, fl);
	printf("head after pipe read: %d\n", ring_head(6));
	/* A waiting read cancelled takes nothing from the ring. */
	ring_add(ring, 3, 7, b + 500, 32, 77);
	set_tail(ring, 8);
	read_select(90, p[0], 0, 6, 0);
	io_uring_submit(&r);
	io_uring_prep_cancel64(get(91), 90, 0);
	io_uring_submit(&r);
	for (int i = 0; i < 2; i++) {
		struct io_uring_cqe *c;
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait cancel");
		printf("ring cancel: user_data=%llu res=%d flags=%#x\n",
		       (unsigned long long)c->user_data, c->res, c->flags);
		io_uring_cqe_seen(&r, c);
	}
	printf("head after cancel: %d\n", ring_head(6));
	printf("unregister ring: %d\n", unreg_ring(6));
	read_select(78, fd, 0, 6, 0);
	one("read after unregister", NULL);

	/* Incremental consumption (IOU_PBUF_RING_INC). */
	memset(ring, 0, 4096);
	int ret = reg_ring(ring, 4, 8, PBUF_RING_INC);
	printf("register incremental: %d\n", ret);
	if (ret == 0) {
		ring_add(ring, 3, 0, b + 1000, 64, 42);
		set_tail(ring, 1);
		if (write(p[1], "0123456789", 10) != 10)
			FAIL("write");
		read_select(80, p[0], 0, 8, 0);
		one("inc pipe read 10", NULL);
		printf("inc entry: len=%u advanced=%lu head=%d\n", ring[0].len,
		       (unsigned long)(ring[0].addr - (uintptr_t)(b + 1000)), ring_head(8));
		read_select(81, fd, 16, 8, 0);
		res = one("inc file read 16", &fl);
		show("inc file", b + 1010, res, fl);
		printf("inc entry: len=%u advanced=%lu head=%d\n", ring[0].len,
		       (unsigned long)(ring[0].addr - (uintptr_t)(b + 1000)), ring_head(8));
		char big[38];
		memset(big, 'z', sizeof(big));
		if (write(p[1], big, sizeof(big)) != sizeof(big))
			FAIL("write");
		read_select(82, p[0], 0, 8, 0);
		one("inc pipe read rest", NULL);
		printf("inc entry: len=%u head=%d\n", ring[0].len, ring_head(8));
		/* End of file: nothing read, nothing consumed. */
		ring_add(ring, 3, 1, b + 2000, 64, 43);
		set_tail(ring, 2);
		close(p[1]);
		p[1] = -1;
		read_select(83, p[0], 0, 8, 0);
		one("inc pipe read at eof", NULL);
		printf("inc entry: len=%u head=%d\n", ring[1].len, ring_head(8));
		printf("unregister incremental: %d\n", unreg_ring(8));
	}
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

static void recv_select(unsigned long long ud, int fd, unsigned len, int bgid, int multishot)
{
	struct io_uring_sqe *s = get(ud);
	io_uring_prep_recv(s, fd, NULL, len, 0);
	if (multishot)
		s->ioprio |= IORING_RECV_MULTISHOT;
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = bgid;
}

/* Print CQEs until one without IORING_CQE_F_MORE, or until max of them. */
static void reap_more(const char *tag, int max, const char *base, unsigned stride)
{
	for (int i = 0; i < max; i++) {
		struct io_uring_cqe *c;
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait %s", tag);
		int res = c->res;
		unsigned f = c->flags;
		printf("%s: user_data=%llu res=%d more=%d nonempty=%d", tag,
		       (unsigned long long)c->user_data, res, !!(f & IORING_CQE_F_MORE),
		       !!(f & IORING_CQE_F_SOCK_NONEMPTY));
		if (f & IORING_CQE_F_BUFFER) {
			printf(" bid=%u", f >> IORING_CQE_BUFFER_SHIFT);
			if (res > 0)
				printf(" data=%.*s", res, base + stride * (f >> IORING_CQE_BUFFER_SHIFT));
		}
		printf("\n");
		io_uring_cqe_seen(&r, c);
		if (!(f & IORING_CQE_F_MORE))
			return;
	}
}

static void send_str(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		FAIL("send");
}

static void recv_reads(void)
{
	int sv[2], fl, res;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");
	char *b = pool + 32768;
	memset(b, 0, 8192);
	/* Legacy group: one-shot receives. */
	provide(100, b, 16, 2, 11, 0);
	one("recv provide", NULL);
	send_str(sv[1], "hello");
	recv_select(101, sv[0], 0, 11, 0);
	res = one("recv", &fl);
	show("recv", b + 16 * (fl >> 16), res, fl);
	/* Waiting for data: does it keep the buffer? */
	recv_select(102, sv[0], 0, 11, 0);
	io_uring_submit(&r);
	remove_bufs(103, 4, 11);
	one("recv remove while waiting", NULL);
	provide(104, b + 64, 16, 1, 11, 4);
	one("recv provide again", NULL);
	send_str(sv[1], "world");
	res = one("recv after wait", &fl);
	show("recv after wait", b + 16 * (fl >> 16), res, fl);
	recv_select(105, sv[0], 3, 11, 0);
	send_str(sv[1], "abcdef");
	one("recv from empty group", NULL);
	{
		char junk[16];
		if (read(sv[0], junk, sizeof(junk)) != 6)
			FAIL("drain");
	}

	/* Multishot over a ring of 4 buffers of 8 bytes. */
	struct pb_buf *ring = (struct pb_buf *)(pool + 40960);
	char *rb = pool + 45056;
	memset(ring, 0, 4096);
	printf("recv ring register: %d\n", reg_ring(ring, 4, 12, 0));
	for (unsigned i = 0; i < 4; i++)
		ring_add(ring, 3, i, rb + 8 * i, 8, i);
	set_tail(ring, 4);
	send_str(sv[1], "0123456789abcdefXYZ");
	recv_select(110, sv[0], 0, 12, 1);
	io_uring_submit(&r);
	reap_more("mshot", 3, rb, 8);
	printf("mshot head: %d\n", ring_head(12));
	send_str(sv[1], "hi");
	reap_more("mshot", 1, rb, 8);
	send_str(sv[1], "more");
	reap_more("mshot", 4, rb, 8);
	printf("mshot head at the end: %d\n", ring_head(12));
	{
		char junk[16];
		if (read(sv[0], junk, sizeof(junk)) != 4)
			FAIL("drain");
	}
	/* Refill; a per-receive cap (len 3), then the peer closes. */
	for (unsigned i = 4; i < 8; i++)
		ring_add(ring, 3, i, rb + 8 * (i & 3), 8, i & 3);
	set_tail(ring, 8);
	recv_select(111, sv[0], 3, 12, 1);
	io_uring_submit(&r);
	send_str(sv[1], "ABCDE");
	reap_more("mshot len 3", 2, rb, 8);
	shutdown(sv[1], SHUT_WR);
	reap_more("mshot len 3", 4, rb, 8);
	printf("mshot head after eof: %d\n", ring_head(12));
	/* Flags that multishot refuses. */
	recv_select(112, sv[0], 0, 12, 1);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].msg_flags = MSG_WAITALL;
	one("mshot waitall", NULL);
	struct io_uring_sqe *s = get(113);
	io_uring_prep_recv(s, sv[0], b, 16, 0);
	s->ioprio |= IORING_RECV_MULTISHOT;
	one("mshot without buffer select", NULL);
	recv_select(114, sv[0], 0, 12, 0);
	one("recv at eof", NULL);
	printf("head after recv at eof: %d\n", ring_head(12));
	provide(115, b, 16, 1, 11, 9);
	one("recv provide for eof", NULL);
	recv_select(116, sv[0], 0, 11, 0);
	one("legacy recv at eof", NULL);
	remove_bufs(117, 4, 11);
	one("legacy left after eof", NULL);
	printf("recv ring unregister: %d\n", unreg_ring(12));

	/* Legacy buffers of one byte: a multishot receive of 40 bytes fills the
	 * CQ (16 entries); the receive that finds no room ends it. */
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		FAIL("socketpair");
	provide(120, b + 4096, 1, 40, 13, 0);
	one("recv provide 40x1", NULL);
	send_str(sp[1], "abcdefghijklmnopqrstuvwxyz0123456789ABCD");
	recv_select(121, sp[0], 0, 13, 1);
	io_uring_submit(&r);
	usleep(50000);
	int more = 0, total = 0, last_res = 0, last_bid = -1, in_order = 1;
	for (;;) {
		struct io_uring_cqe *c;
		struct __kernel_timespec ts = { 1, 0 };
		if (io_uring_wait_cqe_timeout(&r, &c, &ts))
			break;
		unsigned f = c->flags;
		int bid = f & IORING_CQE_F_BUFFER ? (int)(f >> IORING_CQE_BUFFER_SHIFT) : -1;
		if (bid != total)
			in_order = 0;
		total++;
		more += !!(f & IORING_CQE_F_MORE);
		last_res = c->res;
		last_bid = bid;
		io_uring_cqe_seen(&r, c);
		if (!(f & IORING_CQE_F_MORE))
			break;
	}
	printf("cq full: cqes=%d with_more=%d last res=%d bid=%d bids_in_order=%d\n", total, more,
	       last_res, last_bid, in_order);
	remove_bufs(122, 100, 13);
	one("buffers left after cq full", NULL);
	close(sp[0]);
	close(sp[1]);
	close(sv[0]);
	close(sv[1]);
}

static void recvmsg_reads(void)
{
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(rx, (struct sockaddr *)&sin, &sl) ||
	    connect(tx, (struct sockaddr *)&sin, sizeof(sin)))
		FAIL("udp setup");
	char *b = pool + 49152;
	int fl, res;
	/* One-shot RECVMSG: the single iovec's length caps the buffer. */
	provide(130, b, 64, 2, 14, 20);
	one("recvmsg provide", NULL);
	struct sockaddr_in from;
	struct iovec iov = { NULL, 10 };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			      .msg_iovlen = 1 };
	send_str(tx, "datagram-one-long");
	struct io_uring_sqe *s = get(131);
	io_uring_prep_recvmsg(s, rx, &msg, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 14;
	res = one("recvmsg", &fl);
	show("recvmsg", b + 64 * ((fl >> 16) - 20), res, fl);
	printf("recvmsg msghdr: namelen=%u family=%d trunc=%d\n", msg.msg_namelen, from.sin_family,
	       !!(msg.msg_flags & MSG_TRUNC));
	struct iovec two[2] = { { NULL, 4 }, { NULL, 4 } };
	msg.msg_iov = two;
	msg.msg_iovlen = 2;
	s = get(132);
	io_uring_prep_recvmsg(s, rx, &msg, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 14;
	one("recvmsg two iovecs", NULL);

	/* Multishot RECVMSG: each buffer starts with struct io_uring_recvmsg_out,
	 * then msg_namelen bytes of address, then the payload. */
	struct pb_buf *ring = (struct pb_buf *)(pool + 53248);
	char *rb = pool + 57344;
	memset(ring, 0, 4096);
	printf("recvmsg ring register: %d\n", reg_ring(ring, 4, 15, 0));
	for (unsigned i = 0; i < 4; i++)
		ring_add(ring, 3, i, rb + 256 * i, 256, i);
	set_tail(ring, 4);
	struct msghdr mm = { .msg_namelen = sizeof(struct sockaddr_in) };
	s = get(133);
	io_uring_prep_recvmsg_multishot(s, rx, &mm, MSG_TRUNC);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 15;
	io_uring_submit(&r);
	send_str(tx, "abc");
	send_str(tx, "defgh");
	char big[300];
	memset(big, 'q', sizeof(big));
	if (send(tx, big, sizeof(big), 0) != sizeof(big))
		FAIL("send big");
	for (int i = 0; i < 3; i++) {
		struct io_uring_cqe *c;
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait recvmsg mshot");
		unsigned f = c->flags;
		printf("recvmsg mshot: res=%d more=%d", c->res, !!(f & IORING_CQE_F_MORE));
		if (f & IORING_CQE_F_BUFFER) {
			struct io_uring_recvmsg_out *o =
				io_uring_recvmsg_validate(rb + 256 * (f >> 16), c->res, &mm);
			if (o) {
				struct sockaddr_in *a = io_uring_recvmsg_name(o);
				unsigned plen = io_uring_recvmsg_payload_length(o, c->res, &mm);
				printf(" bid=%u namelen=%u controllen=%u payloadlen=%u flags=%#x family=%d"
				       " payload=%.*s", f >> 16, o->namelen, o->controllen, o->payloadlen,
				       o->flags, a->sin_family, plen > 8 ? 8 : (int)plen,
				       (char *)io_uring_recvmsg_payload(o, &mm));
			}
		}
		printf("\n");
		io_uring_cqe_seen(&r, c);
	}
	io_uring_prep_cancel64(get(134), 133, 0);
	io_uring_submit(&r);
	reap_more("recvmsg mshot cancel", 2, rb, 256);
	reap_more("recvmsg mshot cancel", 2, rb, 256);
	printf("recvmsg ring head: %d\n", ring_head(15));
	close(rx);
	close(tx);
}

int main(void)
{
	if (io_uring_queue_init(8, &r, 0))
		FAIL("init");
	char path[] = "/tmp/pbufXXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		FAIL("mkstemp");
	unlink(path);
	char content[256];
	for (int i = 0; i < 256; i++)
		content[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
	if (write(fd, content, sizeof(content)) != sizeof(content))
		FAIL("write file");

	legacy_groups();
	file_reads(fd);
	pipe_reads();
	ring_errors();
	ring_reads(fd);
	recv_reads();
	recvmsg_reads();
	io_uring_queue_exit(&r);
	return 0;
}
