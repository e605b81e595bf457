/* SENDMSG/RECVMSG on a compat ring (set up through int 0x80): struct
 * compat_msghdr, compat iovecs and compat control messages (SCM_RIGHTS out,
 * IP_PKTINFO in).  All memory the ring reads lies below 4 GiB. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

struct msghdr32 {
	uint32_t name; int32_t namelen; uint32_t iov; uint32_t iovlen;
	uint32_t control; uint32_t controllen; uint32_t flags;
};
struct iovec32 { uint32_t base; uint32_t len; };
struct cmsg32 { uint32_t len; int32_t level; int32_t type; };

static long int80(long nr, long a, long b, long c, long d)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
			 : "memory");
	return ret;
}

static int ring_fd;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;
static char *low;               /* scratch memory below 4 GiB */

static void *low_alloc(size_t n)
{
	static size_t used;
	void *p = low + used;
	used += (n + 15) & ~15UL;
	return p;
}

static void setup(void)
{
	low = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		   -1, 0);
	if (low == MAP_FAILED)
		FAIL("mmap low");
	struct io_uring_params *p = low_alloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	ring_fd = int80(425, 8, (long)p, 0, 0);
	if (ring_fd < 0)
		FAIL("int80 setup: %d", ring_fd);
	size_t sz = p->sq_off.array + p->sq_entries * 4;
	size_t csz = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
	if (csz > sz)
		sz = csz;
	char *rp = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
			IORING_OFF_SQ_RING);
	sqes = mmap(NULL, p->sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
	if (rp == MAP_FAILED || sqes == MAP_FAILED)
		FAIL("mmap ring");
	sq_tail = (unsigned *)(rp + p->sq_off.tail);
	sq_mask = (unsigned *)(rp + p->sq_off.ring_mask);
	sq_array = (unsigned *)(rp + p->sq_off.array);
	cq_head = (unsigned *)(rp + p->cq_off.head);
	cq_tail = (unsigned *)(rp + p->cq_off.tail);
	cq_mask = (unsigned *)(rp + p->cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)(rp + p->cq_off.cqes);
}

/* Submit one SQE and wait for its CQE. */
static void run(const char *tag, struct io_uring_sqe *s)
{
	unsigned t = *sq_tail, i = t & *sq_mask;
	sqes[i] = *s;
	sq_array[i] = i;
	__atomic_store_n(sq_tail, t + 1, __ATOMIC_RELEASE);
	long r = syscall(__NR_io_uring_enter, ring_fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (r != 1)
		FAIL("enter: %ld", r);
	unsigned h = *cq_head;
	if (h == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
		FAIL("no cqe");
	struct io_uring_cqe *c = &cqes[h & *cq_mask];
	printf("%s: user_data=%llu res=%d flags=%#x\n", tag, (unsigned long long)c->user_data,
	       c->res, c->flags);
	__atomic_store_n(cq_head, h + 1, __ATOMIC_RELEASE);
}

static struct io_uring_sqe msg_sqe(int op, int fd, void *msg, unsigned ud)
{
	struct io_uring_sqe s;
	memset(&s, 0, sizeof(s));
	s.opcode = op;
	s.fd = fd;
	s.addr = (unsigned long)msg;
	s.len = 1;
	s.user_data = ud;
	return s;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();

	/* SENDMSG: compat msghdr, two compat iovecs, an autobound peer's
	 * name and an SCM_RIGHTS compat cmsg. */
	int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un *bn = low_alloc(sizeof(*bn));
	memset(bn, 0, sizeof(*bn));
	bn->sun_family = AF_UNIX;
	if (bind(b, (struct sockaddr *)bn, sizeof(sa_family_t)))   /* autobind */
		FAIL("bind");
	socklen_t bl = sizeof(*bn);
	getsockname(b, (struct sockaddr *)bn, &bl);
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	char *d1 = low_alloc(8), *d2 = low_alloc(8);
	memcpy(d1, "com", 3);
	memcpy(d2, "pat", 3);
	struct iovec32 *iov = low_alloc(2 * sizeof(*iov));
	iov[0] = (struct iovec32){ (uint32_t)(unsigned long)d1, 3 };
	iov[1] = (struct iovec32){ (uint32_t)(unsigned long)d2, 3 };
	struct cmsg32 *cm = low_alloc(sizeof(*cm) + 4);
	cm->len = sizeof(*cm) + 4;
	cm->level = SOL_SOCKET;
	cm->type = SCM_RIGHTS;
	memcpy(cm + 1, &p[0], 4);
	struct msghdr32 *m = low_alloc(sizeof(*m));
	*m = (struct msghdr32){ (uint32_t)(unsigned long)bn, bl, (uint32_t)(unsigned long)iov, 2,
				(uint32_t)(unsigned long)cm, sizeof(*cm) + 4, 0 };
	struct io_uring_sqe s = msg_sqe(IORING_OP_SENDMSG, a, m, 1);
	run("compat sendmsg", &s);

	char buf[16] = {0};
	struct iovec riov = { buf, sizeof(buf) };
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr al; } ctl;
	struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(b, &rm, 0);
	struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
	int got = -1;
	if (rc && rc->cmsg_level == SOL_SOCKET && rc->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(rc), 4);
	char pb[8] = {0};
	if (write(p[1], "fd!", 3) != 3)
		FAIL("write");
	printf("received: n=%zd data=%s fd=%d read=%zd %s\n", n, buf, got >= 0,
	       got >= 0 ? read(got, pb, 3) : -1, pb);

	/* A compat cmsg longer than the control buffer: EINVAL. */
	m->controllen = sizeof(*cm) + 2;
	s = msg_sqe(IORING_OP_SENDMSG, a, m, 2);
	run("compat sendmsg bad cmsg", &s);

	/* RECVMSG over UDP with IP_PKTINFO: the cmsg comes back in the compat
	 * layout, msg_namelen/msg_controllen/msg_flags are written back. */
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(u, (struct sockaddr *)&ua, sizeof(ua));
	socklen_t ul = sizeof(ua);
	getsockname(u, (struct sockaddr *)&ua, &ul);
	int on = 1;
	setsockopt(u, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	sendto(v, "udp-data", 8, 0, (struct sockaddr *)&ua, sizeof(ua));
	char *rb1 = low_alloc(8), *rb2 = low_alloc(16);
	memset(rb1, 0, 8);
	memset(rb2, 0, 16);
	iov[0] = (struct iovec32){ (uint32_t)(unsigned long)rb1, 4 };
	iov[1] = (struct iovec32){ (uint32_t)(unsigned long)rb2, 16 };
	struct sockaddr_in *from = low_alloc(sizeof(*from));
	memset(from, 0, sizeof(*from));
	unsigned char *rctl = low_alloc(64);
	memset(rctl, 0xee, 64);
	*m = (struct msghdr32){ (uint32_t)(unsigned long)from, sizeof(*from),
				(uint32_t)(unsigned long)iov, 2, (uint32_t)(unsigned long)rctl, 64,
				0x5555 };
	s = msg_sqe(IORING_OP_RECVMSG, u, m, 3);
	run("compat recvmsg", &s);
	struct cmsg32 *rcm = (struct cmsg32 *)rctl;
	struct in_pktinfo pi;
	memcpy(&pi, rcm + 1, sizeof(pi));
	printf("compat recvmsg: data=%.4s%.4s namelen=%d family=%d loopback=%d controllen=%u "
	       "flags=%#x cmsg len=%u level=%d type=%d ifindex=%d dst=%s\n", rb1, rb2, m->namelen,
	       from->sin_family, from->sin_addr.s_addr == htonl(INADDR_LOOPBACK), m->controllen,
	       m->flags, rcm->len, rcm->level, rcm->type, pi.ipi_ifindex,
	       inet_ntoa(pi.ipi_addr));

	/* A control buffer too small for the cmsg: MSG_CTRUNC. */
	sendto(v, "again", 5, 0, (struct sockaddr *)&ua, sizeof(ua));
	*m = (struct msghdr32){ 0, 0, (uint32_t)(unsigned long)iov, 2,
				(uint32_t)(unsigned long)rctl, 8, 0 };
	s = msg_sqe(IORING_OP_RECVMSG, u, m, 4);
	run("compat recvmsg ctrunc", &s);
	printf("ctrunc: controllen=%u flags=%#x\n", m->controllen, m->flags);
	/* Room for the header and part of the data: the cmsg is cut. */
	sendto(v, "third", 5, 0, (struct sockaddr *)&ua, sizeof(ua));
	memset(rctl, 0xee, 64);
	*m = (struct msghdr32){ 0, 0, (uint32_t)(unsigned long)iov, 2,
				(uint32_t)(unsigned long)rctl, 18, 0 };
	s = msg_sqe(IORING_OP_RECVMSG, u, m, 5);
	run("compat recvmsg partial cmsg", &s);
	printf("partial: controllen=%u flags=%#x cmsg len=%u byte17=%#x byte18=%#x\n",
	       m->controllen, m->flags, rcm->len, rctl[17], rctl[18]);
	return 0;
}
