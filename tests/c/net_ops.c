/* Network ops: SEND/RECV, SENDMSG/RECVMSG (iovecs, names, truncation,
 * SCM_RIGHTS), MSG_WAITALL, MSG_DONTWAIT, waiting receives, CONNECT, BIND,
 * LISTEN, SHUTDOWN, SEND_ZC and the errors.  Prints CQE res and flags, data
 * and msghdr fields; nothing run-specific. */
#define _GNU_SOURCE
#include <liburing.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stddef.h>
#include <sys/un.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)
#define OP_BIND 56
#define OP_LISTEN 57

static struct io_uring r;

static struct io_uring_sqe *sqe(unsigned long long ud)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&r);
	if (!s)
		FAIL("no sqe");
	io_uring_sqe_set_data64(s, ud);
	return s;
}

/* The SQE got last. */
static struct io_uring_sqe *last(void)
{
	return r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask);
}

/* Submit, then print n CQEs sorted by user_data (stable: a request's own
 * CQEs keep their order), as independent requests may complete in any order. */
static void run(const char *tag, int n)
{
	struct { unsigned long long ud; int res; unsigned flags; } got[16];
	int k = 0;
	io_uring_submit(&r);
	for (; k < n; k++) {
		struct io_uring_cqe *c;
		struct __kernel_timespec ts = { 5, 0 };
		if (io_uring_wait_cqe_timeout(&r, &c, &ts)) {
			printf("%s: missing cqe\n", tag);
			break;
		}
		got[k].ud = c->user_data;
		got[k].res = c->res;
		got[k].flags = c->flags;
		io_uring_cqe_seen(&r, c);
	}
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && got[j].ud < got[j - 1].ud; j--) {
			__typeof__(got[0]) t = got[j];
			got[j] = got[j - 1];
			got[j - 1] = t;
		}
	for (int i = 0; i < k; i++)
		printf("%s: user_data=%llu res=%d flags=%#x\n", tag, got[i].ud, got[i].res,
		       got[i].flags);
}

/* Is a CQE there within 100 ms? */
static void pending(const char *tag)
{
	struct io_uring_cqe *c;
	struct __kernel_timespec ts = { 0, 100000000 };
	io_uring_submit(&r);
	int ret = io_uring_wait_cqe_timeout(&r, &c, &ts);
	printf("%s: %s\n", tag, ret == -ETIME ? "still waiting" : "completed early");
}

static void writeall(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		FAIL("write");
}

static int late_fd;
static void *late_writer(void *arg)
{
	usleep(100000);
	writeall(late_fd, (const char *)arg);
	return NULL;
}

static int drain_fd;
static size_t drained;
static void *drainer(void *arg)
{
	static char sink[65536];
	size_t want = (size_t)(unsigned long)arg;
	usleep(100000);
	while (drained < want) {
		ssize_t n = read(drain_fd, sink, sizeof(sink));
		if (n <= 0)
			break;
		drained += n;
	}
	return NULL;
}

/* MSG_WAITALL sends of more than the socket buffer holds: the send keeps
 * its progress while the reader catches up. */
static void big_send_tests(void)
{
	int sv[2], sz = 4096;
	static char big[1 << 18];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)i;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	pthread_t th;
	drain_fd = sv[1];
	drained = 0;
	io_uring_prep_send(sqe(80), sv[0], big, sizeof(big), MSG_WAITALL);
	pthread_create(&th, NULL, drainer, (void *)(unsigned long)sizeof(big));
	run("send waitall big", 1);
	pthread_join(th, NULL);
	printf("drained: %zu\n", drained);

	struct iovec iov[2] = { { big, sizeof(big) / 2 }, { big + sizeof(big) / 2, sizeof(big) / 2 } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	drained = 0;
	io_uring_prep_sendmsg(sqe(81), sv[0], &m, MSG_WAITALL);
	pthread_create(&th, NULL, drainer, (void *)(unsigned long)sizeof(big));
	run("sendmsg waitall big", 1);
	pthread_join(th, NULL);
	printf("drained: %zu\n", drained);

	/* RECVSEND_POLL_FIRST: waits for readiness first, same result. */
	char buf[8] = {0};
	writeall(sv[1], "pf");
	io_uring_prep_recv(sqe(82), sv[0], buf, sizeof(buf), 0);
	last()->ioprio = IORING_RECVSEND_POLL_FIRST;
	run("recv poll first", 1);
	printf("poll first data: %s\n", buf);
	close(sv[0]);
	close(sv[1]);
}

static void stream_tests(void)
{
	int sv[2];
	char buf[64] = {0}, a[4] = {0}, b[16] = {0};
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("socketpair");

	io_uring_prep_send(sqe(1), sv[0], "hello", 5, 0);
	io_uring_prep_recv(sqe(2), sv[1], buf, sizeof(buf), 0);
	run("send+recv", 2);
	printf("recv data: %.5s\n", buf);

	/* A partial receive leaves data queued. */
	writeall(sv[0], "0123456789");
	io_uring_prep_recv(sqe(3), sv[1], buf, 4, 0);
	run("partial recv", 1);
	io_uring_prep_recv(sqe(4), sv[1], buf, sizeof(buf), 0);
	run("rest recv", 1);
	printf("rest data: %.6s\n", buf);

	/* SENDMSG / RECVMSG with iovecs. */
	struct iovec siov[3] = { { "ab", 2 }, { "cdef", 4 }, { "ghi", 3 } };
	struct msghdr sm = { .msg_iov = siov, .msg_iovlen = 3 };
	io_uring_prep_sendmsg(sqe(5), sv[0], &sm, 0);
	run("sendmsg iov", 1);
	struct iovec riov[2] = { { a, 3 }, { b, sizeof(b) } };
	struct msghdr rm = { .msg_iov = riov, .msg_iovlen = 2, .msg_flags = 0x1234 };
	io_uring_prep_recvmsg(sqe(6), sv[1], &rm, 0);
	run("recvmsg iov", 1);
	printf("recvmsg iov: a=%.3s b=%.6s flags=%#x controllen=%zu namelen=%u\n", a, b,
	       rm.msg_flags, rm.msg_controllen, rm.msg_namelen);

	/* MSG_WAITALL: one receive spanning two writes. */
	memset(buf, 0, sizeof(buf));
	io_uring_prep_recv(sqe(7), sv[1], buf, 8, MSG_WAITALL);
	writeall(sv[0], "1234");
	pending("waitall after 4 of 8");
	writeall(sv[0], "5678");
	run("waitall", 1);
	printf("waitall data: %.8s\n", buf);

	/* RECVMSG MSG_WAITALL over two writes too. */
	memset(buf, 0, sizeof(buf));
	struct iovec wiov = { buf, 6 };
	struct msghdr wm = { .msg_iov = &wiov, .msg_iovlen = 1 };
	io_uring_prep_recvmsg(sqe(8), sv[1], &wm, MSG_WAITALL);
	writeall(sv[0], "abc");
	pending("recvmsg waitall after 3 of 6");
	writeall(sv[0], "def");
	run("recvmsg waitall", 1);
	printf("recvmsg waitall data: %.6s\n", buf);

	/* MSG_WAITALL cut short by the peer's shutdown: the link fails. */
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		FAIL("socketpair");
	writeall(sp[0], "xy");
	shutdown(sp[0], SHUT_WR);
	io_uring_prep_recv(sqe(9), sp[1], buf, 8, MSG_WAITALL);
	last()->flags |= IOSQE_IO_LINK;
	io_uring_prep_nop(sqe(90));
	run("waitall eof", 2);
	close(sp[0]);
	close(sp[1]);

	/* Empty non-blocking socket: MSG_DONTWAIT fails at once... */
	int fl = fcntl(sv[1], F_GETFL);
	fcntl(sv[1], F_SETFL, fl | O_NONBLOCK);
	io_uring_prep_recv(sqe(10), sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	run("dontwait empty", 1);
	/* ... without it io_uring waits even on an O_NONBLOCK socket. */
	io_uring_prep_recv(sqe(11), sv[1], buf, sizeof(buf), 0);
	pending("nonblock socket recv");
	writeall(sv[0], "late");
	run("nonblock socket recv", 1);
	fcntl(sv[1], F_SETFL, fl);
	printf("still blocking: %d\n", !(fcntl(sv[1], F_GETFL) & O_NONBLOCK));

	/* A receive bounded by a link timeout. */
	io_uring_prep_recv(sqe(12), sv[1], buf, sizeof(buf), 0);
	last()->flags |= IOSQE_IO_LINK;
	struct __kernel_timespec lt = { 0, 50000000 };
	io_uring_prep_link_timeout(sqe(13), &lt, 0);
	run("recv link timeout", 2);

	/* A receive that waits until a thread writes later. */
	pthread_t th;
	late_fd = sv[0];
	memset(buf, 0, sizeof(buf));
	io_uring_prep_recv(sqe(14), sv[1], buf, sizeof(buf), 0);
	io_uring_submit(&r);
	pthread_create(&th, NULL, late_writer, "from thread");
	run("recv waits for thread", 1);
	pthread_join(th, NULL);
	printf("thread data: %s\n", buf);

	/* SHUTDOWN: the peer reads EOF; then sending fails with EPIPE. */
	io_uring_prep_shutdown(sqe(15), sv[0], SHUT_WR);
	run("shutdown", 1);
	io_uring_prep_recv(sqe(16), sv[1], buf, sizeof(buf), 0);
	run("recv after shutdown", 1);
	io_uring_prep_send(sqe(17), sv[0], "x", 1, 0);
	run("send after shutdown", 1);

	/* SCM_RIGHTS: a pipe's read end travels through SENDMSG. */
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cm;
	memset(&cm, 0, sizeof(cm));
	struct iovec one = { "F", 1 };
	struct msghdr fm = { .msg_iov = &one, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&fm);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	io_uring_prep_sendmsg(sqe(18), sv[1], &fm, 0);
	run("sendmsg scm_rights", 1);
	char one_byte;
	struct iovec rone = { &one_byte, 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } rcm;
	struct msghdr frm = { .msg_iov = &rone, .msg_iovlen = 1, .msg_control = rcm.buf,
			      .msg_controllen = sizeof(rcm.buf) };
	ssize_t n = recvmsg(sv[0], &frm, 0);
	struct cmsghdr *rc = CMSG_FIRSTHDR(&frm);
	int got = -1;
	if (rc && rc->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(rc), sizeof(int));
	writeall(p[1], "via passed fd");
	char pbuf[32] = {0};
	printf("scm_rights: n=%zd byte=%c fd passed=%d read=%zd %s\n", n, one_byte, got >= 0,
	       got >= 0 ? read(got, pbuf, sizeof(pbuf) - 1) : -1, pbuf);
	/* A bad fd in SCM_RIGHTS is EBADF. */
	int bad = 999;
	memcpy(CMSG_DATA(c), &bad, sizeof(int));
	io_uring_prep_sendmsg(sqe(19), sv[1], &fm, 0);
	run("sendmsg scm_rights bad fd", 1);
	close(p[0]);
	close(p[1]);
	if (got >= 0)
		close(got);
	close(sv[0]);
	close(sv[1]);
}

static socklen_t unaddr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static void dgram_tests(void)
{
	/* Relative path names: resolved in the program's cwd. */
	char dir[] = "/tmp/net_ops.XXXXXX";
	if (!mkdtemp(dir) || chdir(dir))
		FAIL("tmpdir");
	int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un aa, ba, from;
	socklen_t alen = unaddr(&aa, "a.sock"), blen = unaddr(&ba, "b.sock");
	io_uring_prep_rw(OP_BIND, sqe(20), a, &aa, 0, alen);
	io_uring_prep_rw(OP_BIND, sqe(21), b, &ba, 0, blen);
	run("bind unix", 2);
	struct stat st;
	printf("bound in cwd: %d %d\n", stat("a.sock", &st) == 0, stat("b.sock", &st) == 0);
	struct sockaddr_un got;
	socklen_t glen = sizeof(got);
	getsockname(a, (struct sockaddr *)&got, &glen);
	printf("getsockname: len=%u path=%s\n", glen, got.sun_path);

	/* SENDMSG with a destination name; RECVMSG reports the source. */
	struct iovec siov[2] = { { "dgr", 3 }, { "am", 2 } };
	struct msghdr sm = { .msg_name = &ba, .msg_namelen = blen, .msg_iov = siov,
			     .msg_iovlen = 2 };
	io_uring_prep_sendmsg(sqe(22), a, &sm, 0);
	run("sendmsg name", 1);
	char buf[64] = {0};
	struct iovec riov = { buf, sizeof(buf) };
	memset(&from, 0x55, sizeof(from));
	struct msghdr rm = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &riov,
			     .msg_iovlen = 1 };
	io_uring_prep_recvmsg(sqe(23), b, &rm, 0);
	run("recvmsg name", 1);
	printf("recvmsg name: data=%s namelen=%u from=%s flags=%#x\n", buf, rm.msg_namelen,
	       from.sun_path, rm.msg_flags);

	/* SEND with sqe->addr2 as the destination (sendto). */
	io_uring_prep_send(sqe(24), a, "to-b", 4, 0);
	io_uring_prep_send_set_addr(last(), (struct sockaddr *)&ba, blen);
	run("send with addr", 1);
	/* A name buffer shorter than the address: truncated, full length reported. */
	memset(buf, 0, sizeof(buf));
	memset(&from, 0, sizeof(from));
	rm.msg_namelen = 4;
	io_uring_prep_recvmsg(sqe(25), b, &rm, 0);
	run("recvmsg short name", 1);
	printf("short name: data=%s namelen=%u first=%.2s rest=%d\n", buf, rm.msg_namelen,
	       from.sun_path, from.sun_path[2]);

	/* Datagram truncation: MSG_TRUNC in msg_flags; RECV with MSG_TRUNC
	 * returns the real length. */
	sendto(a, "0123456789", 10, 0, (struct sockaddr *)&ba, blen);
	riov.iov_len = 4;
	rm.msg_name = NULL;
	io_uring_prep_recvmsg(sqe(26), b, &rm, 0);
	run("recvmsg trunc", 1);
	printf("trunc flags=%#x\n", rm.msg_flags);
	sendto(a, "0123456789", 10, 0, (struct sockaddr *)&ba, blen);
	io_uring_prep_recv(sqe(27), b, buf, 4, MSG_TRUNC);
	run("recv MSG_TRUNC", 1);
	/* Another datagram still queued after a receive. */
	sendto(a, "one", 3, 0, (struct sockaddr *)&ba, blen);
	sendto(a, "two", 3, 0, (struct sockaddr *)&ba, blen);
	io_uring_prep_recv(sqe(34), b, buf, sizeof(buf), 0);
	run("dgram recv one of two", 1);
	io_uring_prep_recv(sqe(35), b, buf, sizeof(buf), 0);
	run("dgram recv last", 1);

	/* MSG_WAITALL on a datagram socket: no retry, a short result fails
	 * the link. */
	sendto(a, "abcd", 4, 0, (struct sockaddr *)&ba, blen);
	io_uring_prep_recv(sqe(28), b, buf, 16, MSG_WAITALL);
	io_uring_sqe_set_flags(last(),
			       IOSQE_IO_LINK);
	io_uring_prep_nop(sqe(29));
	run("dgram waitall link", 2);
	/* Sending to a path that does not exist. */
	struct sockaddr_un na;
	socklen_t nlen = unaddr(&na, "missing.sock");
	io_uring_prep_send(sqe(30), a, "x", 1, 0);
	io_uring_prep_send_set_addr(last(), (struct sockaddr *)&na, nlen);
	run("send to missing path", 1);

	/* CONNECT a datagram socket by relative path, then plain SEND. */
	io_uring_prep_connect(sqe(31), a, (struct sockaddr *)&ba, blen);
	run("connect unix dgram", 1);
	io_uring_prep_send(sqe(32), a, "conn", 4, 0);
	io_uring_prep_recv(sqe(33), b, buf, sizeof(buf), 0);
	run("connected send+recv", 2);
	unlink("a.sock");
	unlink("b.sock");
	if (chdir("/") || rmdir(dir))
		FAIL("rmdir");
	close(a);
	close(b);
}

static void tcp_tests(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int l = socket(AF_INET, SOCK_STREAM, 0);
	io_uring_prep_rw(OP_BIND, sqe(40), l, &sa, 0, sizeof(sa));
	run("tcp bind", 1);
	io_uring_prep_rw(OP_LISTEN, sqe(41), l, NULL, 8, 0);
	run("tcp listen", 1);
	socklen_t slen = sizeof(sa);
	getsockname(l, (struct sockaddr *)&sa, &slen);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	io_uring_prep_connect(sqe(42), c, (struct sockaddr *)&sa, sizeof(sa));
	run("tcp connect", 1);
	printf("client still blocking: %d\n", !(fcntl(c, F_GETFL) & O_NONBLOCK));
	int s = accept(l, NULL, NULL);
	if (s < 0)
		FAIL("accept");
	char buf[64] = {0};
	io_uring_prep_send(sqe(43), c, "over tcp", 8, 0);
	run("tcp send", 1);
	io_uring_prep_recv(sqe(44), s, buf, 5, MSG_WAITALL);
	run("tcp recv waitall", 1);
	io_uring_prep_recv(sqe(45), s, buf + 5, sizeof(buf) - 5, 0);
	run("tcp recv rest", 1);
	printf("tcp data: %s\n", buf);

	/* SEND_ZC: the result carries F_MORE, then a notification. */
	io_uring_prep_send_zc(sqe(46), c, "zerocopy", 8, 0, 0);
	run("send_zc", 2);
	memset(buf, 0, sizeof(buf));
	io_uring_prep_recv(sqe(47), s, buf, 8, MSG_WAITALL);
	run("recv zc data", 1);
	printf("zc data: %s\n", buf);

	io_uring_prep_shutdown(sqe(48), c, SHUT_RDWR);
	run("tcp shutdown", 1);
	io_uring_prep_recv(sqe(49), s, buf, sizeof(buf), 0);
	run("tcp recv eof", 1);
	close(s);
	close(c);

	/* A port nobody listens on: ECONNREFUSED, on a blocking and on a
	 * non-blocking socket. */
	struct sockaddr_in dead = sa;
	int t = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(t, (struct sockaddr *)&any, sizeof(any));
	slen = sizeof(dead);
	getsockname(t, (struct sockaddr *)&dead, &slen);
	close(t);
	c = socket(AF_INET, SOCK_STREAM, 0);
	io_uring_prep_connect(sqe(50), c, (struct sockaddr *)&dead, sizeof(dead));
	run("connect refused", 1);
	close(c);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	io_uring_prep_connect(sqe(51), c, (struct sockaddr *)&dead, sizeof(dead));
	run("connect refused nonblock", 1);
	close(c);
	/* Non-blocking socket to the listener: still completes with 0. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	io_uring_prep_connect(sqe(52), c, (struct sockaddr *)&sa, sizeof(sa));
	run("connect nonblock", 1);
	close(c);
	/* LISTEN twice is fine; BIND again is EINVAL. */
	io_uring_prep_rw(OP_BIND, sqe(53), l, &sa, 0, sizeof(sa));
	run("bind again", 1);
	close(l);

	/* SEND_ZC on a unix socket: EOPNOTSUPP, still with F_MORE and a notification. */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	io_uring_prep_send_zc(sqe(54), sv[0], "z", 1, 0, 0);
	run("send_zc unix", 2);
	close(sv[0]);
	close(sv[1]);
}

static void error_tests(void)
{
	char buf[16];
	int f = open("/proc/self/exe", O_RDONLY);
	io_uring_prep_send(sqe(60), f, "x", 1, 0);
	io_uring_prep_recv(sqe(61), f, buf, sizeof(buf), 0);
	io_uring_prep_shutdown(sqe(62), f, SHUT_RD);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	io_uring_prep_connect(sqe(63), f, (struct sockaddr *)&sa, sizeof(sa));
	io_uring_prep_rw(OP_LISTEN, sqe(64), f, NULL, 1, 0);
	run("enotsock", 5);
	io_uring_prep_recv(sqe(65), 999, buf, sizeof(buf), 0);
	io_uring_prep_send(sqe(66), -1, "x", 1, 0);
	run("ebadf", 2);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	io_uring_prep_shutdown(sqe(67), sv[0], SHUT_RD);
	io_uring_sqe_set_flags(last(), 0);
	last()->off = 1;
	run("shutdown bad field", 1);
	struct msghdr m = {0};
	io_uring_prep_sendmsg(sqe(68), sv[0], &m, 0);
	last()->addr2 = 1;
	run("sendmsg addr2", 1);
	io_uring_prep_recv(sqe(69), sv[0], buf, sizeof(buf), 0);
	last()->ioprio = IORING_RECV_MULTISHOT;
	run("recv multishot without buffers", 1);
	io_uring_prep_send(sqe(70), sv[0], (void *)(1ULL << 62), 8, 0);
	run("send kernel address", 1);
	io_uring_prep_sendmsg(sqe(71), sv[0], (struct msghdr *)8, 0);
	run("sendmsg bad msghdr", 1);
	struct sockaddr_storage big;
	memset(&big, 0, sizeof(big));
	io_uring_prep_connect(sqe(72), sv[0], (struct sockaddr *)&big, sizeof(big) + 1);
	run("connect addrlen too big", 1);
	io_uring_prep_send(sqe(73), sv[0], "x", 1, 0);
	last()->ioprio = 0x80;
	run("send bad ioprio flag", 1);
	struct iovec iov = { buf, 1 };
	struct msghdr mm = { .msg_iov = &iov, .msg_iovlen = 2000 };
	io_uring_prep_recvmsg(sqe(74), sv[0], &mm, 0);
	run("recvmsg too many iovecs", 1);
	io_uring_prep_recv(sqe(75), sv[0], buf, 0x80000000u, 0);
	run("recv 2GiB length", 1);
	close(sv[0]);
	close(sv[1]);
	close(f);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init(32, &r, 0))
		FAIL("init");
	stream_tests();
	big_send_tests();
	dgram_tests();
	tcp_tests();
	error_tests();
	io_uring_queue_exit(&r);
	return 0;
}
