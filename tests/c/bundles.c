/* SEND with provided buffers and send/recv bundles (IORING_RECVSEND_BUNDLE,
 * IORING_FEAT_RECVSEND_BUNDLE): SEND with IOSQE_BUFFER_SELECT from a legacy
 * group and from a buffer ring, bundle sends and receives (one-shot and
 * multishot, a plain and an incremental ring), and the cases Linux refuses.
 * Every CQE is printed with the bytes that moved, so a native and a
 * sandboxed run must print the same thing. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

#define RECVSEND_BUNDLE (1U << 4)
#define FEAT_RECVSEND_BUNDLE (1U << 14)

static struct io_uring r;
static int sv[2];                /* sv[0]: the ring's socket; sv[1]: the peer */

#include "pbuf.h"

static char pool[64 * 1024] __attribute__((aligned(4096)));
static char rbuf[64 * 1024] __attribute__((aligned(4096)));  /* receive buffers */

/* Where the buffer with this id lives: set by whoever provides it. */
static char *bid_addr[256];
static char *rx_at;              /* where received data starts, if not there */

/* Print one CQE; for a receive (rx) the bytes from its first buffer on
 * (bundles: consecutive buffers of one region). */
static void print_cqe(const char *tag, struct io_uring_cqe *c, int rx)
{
	unsigned f = c->flags;
	printf("%s: user_data=%llu res=%d flags=%#x", tag, (unsigned long long)c->user_data, c->res, f);
	if (f & IORING_CQE_F_BUFFER)
		printf(" bid=%u%s", f >> IORING_CQE_BUFFER_SHIFT, f & CQE_F_BUF_MORE ? " buf_more" : "");
	if (f & IORING_CQE_F_MORE)
		printf(" more");
	if (rx && c->res > 0 && f & IORING_CQE_F_BUFFER && bid_addr[(f >> 16) & 255])
		printf(" data=%.*s", c->res, rx_at ? rx_at : bid_addr[(f >> 16) & 255]);
	printf("\n");
}

/* Submit and print CQEs until one without IORING_CQE_F_MORE. */
static int run(const char *tag, int rx)
{
	struct io_uring_cqe *c;
	int res;
	io_uring_submit(&r);
	for (;;) {
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait %s", tag);
		res = c->res;
		unsigned f = c->flags;
		print_cqe(tag, c, rx);
		io_uring_cqe_seen(&r, c);
		if (!(f & IORING_CQE_F_MORE))
			return res;
	}
}

/* What the peer received: everything queued now. */
static void peer_got(const char *tag)
{
	char b[512];
	int n = recv(sv[1], b, sizeof(b), MSG_DONTWAIT);
	if (n < 0)
		printf("%s peer: %s\n", tag, strerror(errno));
	else
		printf("%s peer: %d %.*s\n", tag, n, n, b);
}

static void peer_send(const char *s)
{
	if (send(sv[1], s, strlen(s), 0) != (ssize_t)strlen(s))
		FAIL("peer send");
}

static void drain_ring_socket(void)
{
	char b[512];
	while (recv(sv[0], b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

static struct io_uring_sqe *send_sel(unsigned long long ud, unsigned len, int bgid, unsigned ioprio)
{
	struct io_uring_sqe *s = get(ud);
	io_uring_prep_send(s, sv[0], NULL, len, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = bgid;
	s->ioprio = ioprio;
	return s;
}

static struct io_uring_sqe *recv_sel(unsigned long long ud, unsigned len, int bgid, unsigned ioprio)
{
	struct io_uring_sqe *s = get(ud);
	io_uring_prep_recv(s, sv[0], NULL, len, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = bgid;
	s->ioprio = ioprio;
	return s;
}

static void provide(unsigned long long ud, char *addr, int len, int nr, int bgid, int bid)
{
	io_uring_prep_provide_buffers(get(ud), addr, len, nr, bgid, bid);
	run("provide", 0);
	for (int i = 0; i < nr; i++)
		bid_addr[(bid + i) & 255] = addr + i * len;
}

/* A buffer ring of 16 entries; add() appends a buffer and publishes it. */
struct bring {
	struct pb_buf *e;
	unsigned tail, bgid;
};

static void bring_init(struct bring *b, void *mem, unsigned bgid, unsigned flags)
{
	b->e = mem;
	b->tail = 0;
	b->bgid = bgid;
	memset(mem, 0, 4096);
	int ret = reg_ring(mem, 16, bgid, flags);
	if (ret)
		FAIL("register ring %u: %d", bgid, ret);
}

static void bring_add(struct bring *b, char *addr, unsigned len, unsigned bid)
{
	struct pb_buf *e = &b->e[b->tail & 15];
	e->addr = (uintptr_t)addr;
	e->len = len;
	e->bid = bid;
	bid_addr[bid & 255] = addr;
	b->tail++;
	__atomic_store_n(&b->e[0].resv, (uint16_t)b->tail, __ATOMIC_RELEASE);
}

static void send_select(void)
{
	/* Legacy group 1: two 8-byte buffers. */
	memcpy(pool, "AAAAAAAABBBBBBBB", 16);
	provide(1, pool, 8, 2, 1, 10);
	send_sel(2, 0, 1, 0);
	run("send legacy len 0", 0);
	peer_got("send legacy len 0");
	send_sel(3, 4, 1, 0);
	run("send legacy len 4", 0);
	peer_got("send legacy len 4");
	send_sel(4, 0, 1, 0);
	run("send legacy empty", 0);
	send_sel(5, 0, 77, 0);
	run("send unknown group", 0);
	/* sqe->len is an int to Linux even when it only caps the buffer: 2 GiB
	 * or more is EINVAL at prep, before the file is looked at. */
	send_sel(11, 0x80000000u, 1, 0);
	run("send select len 2G", 0);
	send_sel(12, 0xffffffffu, 1, 0)->fd = 0;
	run("send select len -1 on stdin", 0);
	recv_sel(13, 0xffffffffu, 1, 0);
	run("recv select len -1", 0);
	recv_sel(14, 0x80000000u, 1, RECVSEND_BUNDLE);
	run("recv bundle len 2G", 0);

	/* Ring group 2. */
	struct bring b;
	bring_init(&b, pool + 4096, 2, 0);
	memcpy(pool + 8192, "ringone.ringtwo.", 16);
	bring_add(&b, pool + 8192, 8, 20);
	bring_add(&b, pool + 8200, 8, 21);
	send_sel(6, 0, 2, 0);
	run("send ring len 0", 0);
	peer_got("send ring len 0");
	send_sel(7, 3, 2, 0);
	run("send ring len 3", 0);
	peer_got("send ring len 3");
	printf("send ring head: %d entry len=%u\n", ring_head(2), b.e[1].len);
	send_sel(8, 0, 2, 0);
	run("send ring empty", 0);

	/* SENDMSG does not select buffers; SEND_ZC neither. */
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	struct io_uring_sqe *s = get(9);
	io_uring_prep_sendmsg(s, sv[0], &mh, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 2;
	run("sendmsg buffer select", 0);
	s = get(10);
	io_uring_prep_send_zc(s, sv[0], NULL, 0, 0, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 2;
	run("send_zc buffer select", 0);
	printf("unregister 2: %d\n", unreg_ring(2));
}

static void send_bundles(void)
{
	struct bring b;
	bring_init(&b, pool + 4096, 3, 0);
	memcpy(pool + 8192, "one..two..three", 15);
	bring_add(&b, pool + 8192, 5, 30);
	bring_add(&b, pool + 8197, 5, 31);
	bring_add(&b, pool + 8202, 5, 32);
	send_sel(20, 0, 3, RECVSEND_BUNDLE);
	run("send bundle len 0", 0);
	peer_got("send bundle len 0");
	printf("send bundle head: %d\n", ring_head(3));

	/* A length that ends inside the second buffer. */
	memcpy(pool + 8208, "aaaabbbbccccdddd", 16);
	bring_add(&b, pool + 8208, 4, 33);
	bring_add(&b, pool + 8212, 4, 34);
	bring_add(&b, pool + 8216, 4, 35);
	bring_add(&b, pool + 8220, 4, 36);
	send_sel(21, 6, 3, RECVSEND_BUNDLE);
	run("send bundle len 6", 0);
	peer_got("send bundle len 6");
	printf("send bundle head: %d\n", ring_head(3));
	/* Exactly two buffers' worth. */
	memcpy(pool + 8224, "eeeeffffgggg", 12);
	bring_add(&b, pool + 8224, 4, 37);
	bring_add(&b, pool + 8228, 4, 38);
	bring_add(&b, pool + 8232, 4, 39);
	send_sel(22, 8, 3, RECVSEND_BUNDLE);
	run("send bundle len 8", 0);
	peer_got("send bundle len 8");
	printf("send bundle head: %d\n", ring_head(3));
	send_sel(23, 0, 3, RECVSEND_BUNDLE);
	run("send bundle empty ring", 0);
	printf("unregister 3: %d\n", unreg_ring(3));

	/* Incremental ring: a bundle send. */
	bring_init(&b, pool + 4096, 4, PBUF_RING_INC);
	memcpy(pool + 8192, "incr-one.incr-two.", 18);
	bring_add(&b, pool + 8192, 9, 40);
	bring_add(&b, pool + 8201, 9, 41);
	send_sel(24, 0, 4, RECVSEND_BUNDLE);
	run("send bundle inc", 0);
	peer_got("send bundle inc");
	printf("send bundle inc head: %d\n", ring_head(4));
	/* A bundle length that ends inside a buffer of an incremental ring. */
	bring_add(&b, pool + 8192, 9, 42);
	bring_add(&b, pool + 8201, 9, 43);
	send_sel(34, 12, 4, RECVSEND_BUNDLE);
	run("send bundle inc len 12", 0);
	peer_got("send bundle inc len 12");
	printf("send bundle inc head: %d entry len=%u\n", ring_head(4), b.e[3].len);
	bring_add(&b, pool + 8192, 9, 44);
	send_sel(25, 4, 4, 0);
	run("send inc len 4", 0);
	peer_got("send inc len 4");
	printf("inc entry: len=%u head=%d\n", b.e[4].len, ring_head(4));
	printf("unregister 4: %d\n", unreg_ring(4));

	/* A legacy group takes one buffer per bundle. */
	memcpy(pool, "legacy1.legacy2.", 16);
	provide(26, pool, 8, 2, 5, 50);
	send_sel(27, 0, 5, RECVSEND_BUNDLE);
	run("send bundle legacy", 0);
	peer_got("send bundle legacy");
	send_sel(28, 0, 5, RECVSEND_BUNDLE);
	run("send bundle legacy 2", 0);
	peer_got("send bundle legacy 2");
	send_sel(29, 0, 5, RECVSEND_BUNDLE);
	run("send bundle legacy empty", 0);
	send_sel(30, 0, 78, RECVSEND_BUNDLE);
	run("send bundle unknown group", 0);

	/* Refused: no buffer select, SENDMSG, SEND_ZC. */
	struct io_uring_sqe *s = get(31);
	io_uring_prep_send(s, sv[0], "x", 1, 0);
	s->ioprio = RECVSEND_BUNDLE;
	run("send bundle without select", 0);
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	s = get(32);
	io_uring_prep_sendmsg(s, sv[0], &mh, 0);
	s->ioprio = RECVSEND_BUNDLE;
	run("sendmsg bundle", 0);
	s = get(33);
	io_uring_prep_send_zc(s, sv[0], "x", 1, 0, 0);
	s->ioprio = RECVSEND_BUNDLE;
	run("send_zc bundle", 0);
	peer_got("after refusals");
}

/* Fill the ring socket's send buffer: sends must then wait. */
static void fill_socket(void)
{
	static char junk[4096];
	memset(junk, '.', sizeof(junk));
	while (send(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	while (send(sv[0], junk, 1, MSG_DONTWAIT) > 0)
		;
}

/* Read everything the peer has, after what earlier calls read (the waiting
 * send may finish during either); print the last n bytes. */
static char drained[1 << 20];
static size_t drained_len;

static void peer_drain_tail(const char *tag, int n)
{
	int k;
	while ((k = recv(sv[1], drained + drained_len, sizeof(drained) - drained_len,
			 MSG_DONTWAIT)) > 0)
		drained_len += k;
	if (n && drained_len >= (size_t)n)
		printf("%s peer tail: %.*s\n", tag, n, drained + drained_len - n);
}

static void waiting_sends(void)
{
	struct bring b;
	int one = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	bring_init(&b, pool + 4096, 10, 0);
	memcpy(pool + 8192, "wait1wait2wait3", 15);
	bring_add(&b, pool + 8192, 5, 110);
	bring_add(&b, pool + 8197, 5, 111);
	bring_add(&b, pool + 8202, 5, 112);
	/* A bundle send that waits keeps the buffers it took. */
	fill_socket();
	send_sel(60, 0, 10, RECVSEND_BUNDLE);
	io_uring_submit(&r);
	struct io_uring_cqe *c;
	printf("send bundle waiting: %s head=%d\n",
	       io_uring_peek_cqe(&r, &c) ? "no cqe" : "cqe", ring_head(10));
	peer_drain_tail("send bundle waited", 0);
	run("send bundle waited", 0);
	peer_drain_tail("send bundle waited", 15);
	/* Cancelled while waiting: the CQE names the buffers taken. */
	memcpy(pool + 8208, "gonegone", 8);
	bring_add(&b, pool + 8208, 4, 113);
	bring_add(&b, pool + 8212, 4, 114);
	fill_socket();
	send_sel(61, 0, 10, RECVSEND_BUNDLE);
	io_uring_submit(&r);
	io_uring_prep_cancel64(get(62), 61, 0);
	io_uring_submit(&r);
	for (int i = 0; i < 2; i++) {
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait cancel");
		print_cqe("send bundle cancel", c, 0);
		io_uring_cqe_seen(&r, c);
	}
	printf("send bundle cancel head: %d\n", ring_head(10));
	peer_drain_tail("send bundle cancel", 0);
	printf("unregister 10: %d\n", unreg_ring(10));
}

static void recv_bundles(void)
{
	struct bring b;
	bring_init(&b, pool + 4096, 6, 0);
	for (int i = 0; i < 8; i++)
		bring_add(&b, rbuf + 5 * i, 5, 60 + i);
	/* Data queued before the receive: two buffers' worth.  (Linux's
	 * first selection may take one buffer or more, depending on the
	 * iovec array its message header cache holds; the data sizes here
	 * give one answer whichever it is.) */
	peer_send("0123456789");
	recv_sel(40, 0, 6, RECVSEND_BUNDLE);
	run("recv bundle len 0", 1);
	printf("recv bundle head: %d\n", ring_head(6));
	drain_ring_socket();
	peer_send("abcdefghijklmnopq");
	recv_sel(41, 7, 6, RECVSEND_BUNDLE);
	run("recv bundle len 7", 1);
	printf("recv bundle head: %d\n", ring_head(6));
	drain_ring_socket();
	peer_send("ABCDEFGHIJKLMNOPQ");
	recv_sel(46, 10, 6, RECVSEND_BUNDLE);
	run("recv bundle len 10", 1);
	printf("recv bundle head: %d\n", ring_head(6));
	drain_ring_socket();
	/* A receive that waits for its data. */
	recv_sel(42, 0, 6, RECVSEND_BUNDLE);
	io_uring_submit(&r);
	peer_send("waitedwait");
	run("recv bundle waited", 1);
	printf("recv bundle head: %d\n", ring_head(6));
	drain_ring_socket();
	/* More data than the ring holds. */
	for (int i = 0; i < 4; i++)
		bring_add(&b, rbuf + 64 + 5 * i, 5, 100 + i);
	peer_send("zzzzzyyyyyxxxxxwwwwwvvv");
	recv_sel(43, 0, 6, RECVSEND_BUNDLE);
	run("recv bundle ring short", 1);
	recv_sel(44, 0, 6, RECVSEND_BUNDLE);
	run("recv bundle ring empty", 1);
	drain_ring_socket();
	printf("unregister 6: %d\n", unreg_ring(6));

	/* Multishot bundles: data queued, then more, then the peer closes. */
	bring_init(&b, pool + 4096, 7, 0);
	for (int i = 0; i < 12; i++)
		bring_add(&b, rbuf + 4 * i, 4, 70 + i);
	peer_send("mshot-bundle");
	recv_sel(45, 0, 7, RECVSEND_BUNDLE | IORING_RECV_MULTISHOT);
	io_uring_submit(&r);
	struct io_uring_cqe *c;
	if (io_uring_wait_cqe(&r, &c))
		FAIL("wait mshot");
	print_cqe("recv mshot bundle", c, 1);
	io_uring_cqe_seen(&r, c);
	peer_send("second");
	if (io_uring_wait_cqe(&r, &c))
		FAIL("wait mshot");
	print_cqe("recv mshot bundle", c, 1);
	io_uring_cqe_seen(&r, c);
	shutdown(sv[1], SHUT_WR);
	run("recv mshot bundle", 1);
	printf("recv mshot head: %d\n", ring_head(7));
	printf("unregister 7: %d\n", unreg_ring(7));
}

static void recv_bundles_more(void)
{
	/* Incremental ring. */
	struct bring b;
	bring_init(&b, pool + 4096, 8, PBUF_RING_INC);
	bring_add(&b, rbuf, 8, 80);
	bring_add(&b, rbuf + 8, 8, 81);
	peer_send("0123456789abcdef");
	recv_sel(50, 0, 8, RECVSEND_BUNDLE);
	run("recv bundle inc", 1);
	printf("recv bundle inc head: %d entry len=%u\n", ring_head(8), b.e[1].len);
	bring_add(&b, rbuf + 16, 16, 82);
	peer_send("ghijkl");
	recv_sel(58, 0, 8, RECVSEND_BUNDLE);
	run("recv bundle inc part", 1);
	printf("recv bundle inc head: %d entry len=%u\n", ring_head(8), b.e[2].len);
	peer_send("XY");
	recv_sel(51, 0, 8, RECVSEND_BUNDLE);
	rx_at = rbuf + 22;       /* the incremental buffer moved on */
	run("recv bundle inc rest", 1);
	rx_at = NULL;
	printf("recv bundle inc head: %d\n", ring_head(8));
	drain_ring_socket();
	printf("unregister 8: %d\n", unreg_ring(8));

	/* Legacy group: one buffer. */
	provide(52, rbuf, 4, 3, 9, 90);
	peer_send("legacyrecv");
	recv_sel(53, 0, 9, RECVSEND_BUNDLE);
	run("recv bundle legacy", 1);
	drain_ring_socket();
	recv_sel(54, 0, 79, RECVSEND_BUNDLE);
	run("recv bundle unknown group", 1);

	/* Without buffer select, and on RECVMSG. */
	char plain[16];
	memset(plain, 0, sizeof(plain));
	peer_send("plainbundle");
	struct io_uring_sqe *s = get(55);
	io_uring_prep_recv(s, sv[0], plain, 5, 0);
	s->ioprio = RECVSEND_BUNDLE;
	int res = run("recv bundle without select", 0);
	if (res > 0)
		printf("recv bundle without select data: %.*s\n", res, plain);
	drain_ring_socket();
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	s = get(56);
	io_uring_prep_recvmsg(s, sv[0], &mh, 0);
	s->ioprio = RECVSEND_BUNDLE;
	run("recvmsg bundle", 0);
	s = get(57);
	io_uring_prep_recvmsg(s, sv[0], &mh, 0);
	s->ioprio = RECVSEND_BUNDLE;
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 9;
	run("recvmsg bundle select", 0);
}

/* A connected TCP pair on loopback (sv[0] the ring's end). */
static void tcp_pair(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sin, &sl))
		FAIL("listen");
	sv[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(sv[1], (struct sockaddr *)&sin, sizeof(sin)))
		FAIL("connect");
	sv[0] = accept(l, NULL, NULL);
	if (sv[0] < 0)
		FAIL("accept");
	close(l);
}

static void more_recv_bundles(void)
{
	struct bring b;
	struct io_uring_cqe *c;
	/* Multishot: a round that empties the group is the last CQE. */
	bring_init(&b, pool + 4096, 11, 0);
	for (int i = 0; i < 3; i++)
		bring_add(&b, rbuf + 4 * i, 4, 120 + i);
	peer_send("abcdefgh");
	recv_sel(70, 0, 11, RECVSEND_BUNDLE | IORING_RECV_MULTISHOT);
	io_uring_submit(&r);
	if (io_uring_wait_cqe(&r, &c))
		FAIL("wait");
	print_cqe("mshot bundle", c, 1);
	io_uring_cqe_seen(&r, c);
	peer_send("ijklmnop");
	run("mshot bundle", 1);
	printf("mshot bundle head: %d\n", ring_head(11));
	drain_ring_socket();
	/* Multishot, a buffer a round: the round that takes the last is the
	 * last CQE, though data may follow. */
	bring_add(&b, rbuf + 12, 4, 123);
	bring_add(&b, rbuf + 16, 4, 124);
	bring_add(&b, rbuf + 20, 4, 125);
	recv_sel(71, 0, 11, RECVSEND_BUNDLE | IORING_RECV_MULTISHOT);
	io_uring_submit(&r);
	peer_send("qrst");
	if (io_uring_wait_cqe(&r, &c))
		FAIL("wait");
	print_cqe("mshot bundle dry", c, 1);
	io_uring_cqe_seen(&r, c);
	peer_send("uvwx");
	if (io_uring_wait_cqe(&r, &c))
		FAIL("wait");
	print_cqe("mshot bundle dry", c, 1);
	io_uring_cqe_seen(&r, c);
	peer_send("yz");
	run("mshot bundle dry", 1);
	drain_ring_socket();
	/* POLL_FIRST: the first issue waits even with data queued. */
	for (int i = 0; i < 4; i++)
		bring_add(&b, rbuf + 32 + 4 * i, 4, 126 + i);
	peer_send("pollfirst!");
	recv_sel(72, 0, 11, RECVSEND_BUNDLE | IORING_RECVSEND_POLL_FIRST);
	run("recv bundle poll first", 1);
	drain_ring_socket();

	/* Multishot with sqe->len: a cap on each round's buffers. */
	for (int i = 0; i < 6; i++)
		bring_add(&b, rbuf + 96 + 4 * i, 4, 190 + i);
	peer_send("capped-multishot");
	recv_sel(80, 10, 11, RECVSEND_BUNDLE | IORING_RECV_MULTISHOT);
	io_uring_submit(&r);
	for (int i = 0; i < 2; i++) {
		if (io_uring_wait_cqe(&r, &c))
			FAIL("wait");
		print_cqe("mshot bundle len 10", c, 1);
		io_uring_cqe_seen(&r, c);
	}
	shutdown(sv[1], SHUT_WR);
	run("mshot bundle len 10", 1);
	printf("mshot bundle len 10 head: %d\n", ring_head(11));
	close(sv[0]);
	close(sv[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");

	/* MSG_WAITALL: a receive short of the buffers picked waits for the
	 * rest, in the same buffers. */
	for (int i = 0; i < 4; i++)
		bring_add(&b, rbuf + 64 + 5 * i, 5, 180 + i);
	peer_send("1234567");
	struct io_uring_sqe *s = recv_sel(79, 10, 11, RECVSEND_BUNDLE);
	s->msg_flags = MSG_WAITALL;
	io_uring_submit(&r);
	usleep(50000);
	printf("recv bundle waitall: %s head=%d\n",
	       io_uring_peek_cqe(&r, &c) ? "no cqe" : "cqe", ring_head(11));
	peer_send("890");
	run("recv bundle waitall", 1);
	printf("recv bundle waitall head: %d\n", ring_head(11));
	drain_ring_socket();
	printf("unregister 11: %d\n", unreg_ring(11));
	close(sv[0]);
	close(sv[1]);

	/* TCP: the peer's FIN after the data counts as one byte of msg_inq. */
	tcp_pair();
	bring_init(&b, pool + 4096, 12, 0);
	for (int i = 0; i < 8; i++)
		bring_add(&b, rbuf + 4 * i, 4, 130 + i);
	peer_send("tcp-bundle-data!");
	shutdown(sv[1], SHUT_WR);
	usleep(100000);
	recv_sel(73, 0, 12, RECVSEND_BUNDLE);
	run("tcp recv bundle", 1);
	recv_sel(74, 0, 12, RECVSEND_BUNDLE);
	run("tcp recv bundle eof", 1);
	printf("tcp recv bundle head: %d\n", ring_head(12));
	printf("unregister 12: %d\n", unreg_ring(12));
	/* A send bundle on TCP. */
	bring_init(&b, pool + 4096, 13, 0);
	memcpy(pool + 8192, "tcpsend.", 8);
	bring_add(&b, pool + 8192, 4, 140);
	bring_add(&b, pool + 8196, 4, 141);
	send_sel(75, 0, 13, RECVSEND_BUNDLE);
	run("tcp send bundle", 0);
	usleep(100000);
	peer_got("tcp send bundle");
	printf("unregister 13: %d\n", unreg_ring(13));
	close(sv[0]);
	close(sv[1]);

	/* Datagrams: one per receive, spread over the buffers; a longer one
	 * is cut.  (sqe->len sets the number of buffers: without it Linux's
	 * first pick depends on its message header cache.) */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		FAIL("socketpair");
	bring_init(&b, pool + 4096, 14, 0);
	for (int i = 0; i < 8; i++)
		bring_add(&b, rbuf + 5 * i, 5, 150 + i);
	peer_send("dgram-8!");
	peer_send("second datagram");
	recv_sel(76, 12, 14, RECVSEND_BUNDLE);
	run("dgram recv bundle", 1);
	recv_sel(77, 12, 14, RECVSEND_BUNDLE);
	run("dgram recv bundle cut", 1);
	printf("dgram recv bundle head: %d\n", ring_head(14));
	printf("unregister 14: %d\n", unreg_ring(14));
	/* A send bundle is one datagram. */
	bring_init(&b, pool + 4096, 15, 0);
	memcpy(pool + 8192, "onetwothree", 11);
	bring_add(&b, pool + 8192, 3, 160);
	bring_add(&b, pool + 8195, 3, 161);
	bring_add(&b, pool + 8198, 5, 162);
	send_sel(78, 0, 15, RECVSEND_BUNDLE);
	run("dgram send bundle", 0);
	printf("unregister 15: %d\n", unreg_ring(15));
	char d[64];
	int n = recv(sv[1], d, sizeof(d), MSG_DONTWAIT);
	printf("dgram send bundle peer: %d %.*s\n", n, n > 0 ? n : 0, d);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	if (io_uring_queue_init_params(64, &r, &p))
		FAIL("init");
	printf("features: %#x bundle: %d\n", p.features, !!(p.features & FEAT_RECVSEND_BUNDLE));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");
	send_select();
	send_bundles();
	recv_bundles();
	close(sv[0]);
	close(sv[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");
	recv_bundles_more();
	close(sv[0]);
	close(sv[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");
	waiting_sends();
	close(sv[0]);
	close(sv[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");
	more_recv_bundles();
	return 0;
}
