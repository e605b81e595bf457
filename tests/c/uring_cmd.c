/* IORING_OP_URING_CMD (46) on sockets and on files without a uring_cmd
 * handler, and IORING_OP_RECV_ZC (58) on a ring without a zero-copy receive
 * queue.  Prints each CQE's result. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OP_URING_CMD 46
#define OP_RECV_ZC 58
/* socket commands and their SQE fields (liburing 2.3's header predates them) */
#define SOCKET_URING_OP_SIOCINQ 0
#define SOCKET_URING_OP_SIOCOUTQ 1
#define SOCKET_URING_OP_GETSOCKOPT 2
#define SOCKET_URING_OP_SETSOCKOPT 3
#define SQE_U32(sqe, off) (*(__u32 *)((char *)(sqe) + (off)))
#define SQE_U64(sqe, off) (*(__u64 *)((char *)(sqe) + (off)))

static struct io_uring ring;

static const char *res(int r)
{
	static char buf[64];
	if (r < 0)
		snprintf(buf, sizeof(buf), "%d %s", r, strerrorname_np(-r));
	else
		snprintf(buf, sizeof(buf), "%d", r);
	return buf;
}

static int run(struct io_uring_sqe *sqe)
{
	struct io_uring_cqe *cqe;
	(void)sqe;
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe))
		exit(1);
	int r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return r;
}

static struct io_uring_sqe *cmd(int fd, unsigned op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (!sqe)
		exit(1);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	return sqe;
}

static int sockopt(int fd, unsigned op, int level, int optname, void *val, int len)
{
	struct io_uring_sqe *sqe = cmd(fd, op);
	SQE_U32(sqe, 16) = level;
	SQE_U32(sqe, 20) = optname;
	SQE_U32(sqe, 44) = len;
	SQE_U64(sqe, 48) = (unsigned long)val;
	return run(sqe);
}

static void socket_cmds(const char *name, int fd)
{
	int v = 0;
	printf("%s SIOCINQ: %s\n", name, res(run(cmd(fd, SOCKET_URING_OP_SIOCINQ))));
	printf("%s SIOCOUTQ: %s\n", name, res(run(cmd(fd, SOCKET_URING_OP_SIOCOUTQ))));
	int r = sockopt(fd, SOCKET_URING_OP_GETSOCKOPT, SOL_SOCKET, SO_TYPE, &v, sizeof(v));
	printf("%s GETSOCKOPT SO_TYPE: %s value=%d\n", name, res(r), v);
	r = sockopt(fd, SOCKET_URING_OP_GETSOCKOPT, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
	printf("%s GETSOCKOPT TCP_NODELAY: %s\n", name, res(r));
	v = 12345;
	r = sockopt(fd, SOCKET_URING_OP_GETSOCKOPT, SOL_SOCKET, SO_RCVBUF, &v, 2);
	printf("%s GETSOCKOPT short optlen: %s\n", name, res(r));
	v = 1;
	r = sockopt(fd, SOCKET_URING_OP_SETSOCKOPT, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
	v = 0;
	socklen_t l = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l);
	printf("%s SETSOCKOPT SO_KEEPALIVE: %s now=%d\n", name, res(r), v);
	v = 1;
	r = sockopt(fd, SOCKET_URING_OP_SETSOCKOPT, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
	printf("%s SETSOCKOPT TCP_NODELAY: %s\n", name, res(r));
	r = sockopt(fd, SOCKET_URING_OP_SETSOCKOPT, SOL_SOCKET, SO_KEEPALIVE, (void *)8, 4);
	printf("%s SETSOCKOPT bad pointer: %s\n", name, res(r));
	r = sockopt(fd, SOCKET_URING_OP_GETSOCKOPT, SOL_SOCKET, SO_TYPE, (void *)8, 4);
	printf("%s GETSOCKOPT bad pointer: %s\n", name, res(r));
	printf("%s TX_TIMESTAMP: %s\n", name, res(run(cmd(fd, 4))));
	printf("%s cmd 5: %s\n", name, res(run(cmd(fd, 5))));
	printf("%s cmd 99: %s\n", name, res(run(cmd(fd, 99))));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init(8, &ring, 0))
		return 1;

	/* A connected TCP pair with data waiting each way. */
	int lst = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	bind(lst, (struct sockaddr *)&a, sizeof(a));
	listen(lst, 1);
	getsockname(lst, (struct sockaddr *)&a, &al);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	int s = accept(lst, NULL, NULL);
	write(c, "hello", 5);
	usleep(20000);
	socket_cmds("tcp", s);
	printf("tcp listener SIOCINQ: %s\n", res(run(cmd(lst, SOCKET_URING_OP_SIOCINQ))));

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	socket_cmds("udp", u);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[1], "abc", 3);
	socket_cmds("unix", sv[0]);

	/* A registered socket. */
	io_uring_register_files(&ring, &s, 1);
	struct io_uring_sqe *fsqe = cmd(0, SOCKET_URING_OP_SIOCINQ);
	fsqe->flags = IOSQE_FIXED_FILE;
	printf("fixed tcp SIOCINQ: %s\n", res(run(fsqe)));
	int fv = 0;
	fsqe = cmd(0, SOCKET_URING_OP_GETSOCKOPT);
	fsqe->flags = IOSQE_FIXED_FILE;
	SQE_U32(fsqe, 16) = SOL_SOCKET;
	SQE_U32(fsqe, 20) = SO_KEEPALIVE;
	SQE_U32(fsqe, 44) = sizeof(fv);
	SQE_U64(fsqe, 48) = (unsigned long)&fv;
	int fr = run(fsqe);
	printf("fixed tcp GETSOCKOPT SO_KEEPALIVE: %s value=%d\n", res(fr), fv);

	/* Files without a uring_cmd handler. */
	int p[2];
	pipe(p);
	printf("pipe: %s\n", res(run(cmd(p[0], 0))));
	int f = open("/proc/self/status", O_RDONLY);
	printf("proc file: %s\n", res(run(cmd(f, 0))));
	printf("bad fd: %s\n", res(run(cmd(999, 0))));
	struct io_uring_sqe *sqe = cmd(s, 0);
	sqe->__pad1 = 1;
	printf("pad1: %s\n", res(run(sqe)));
	sqe = cmd(s, 0);
	sqe->uring_cmd_flags = 1U << 5;
	printf("unknown cmd flag: %s\n", res(run(sqe)));
	sqe = cmd(s, 0);
	sqe->uring_cmd_flags = 1;        /* IORING_URING_CMD_FIXED */
	sqe->buf_index = 3;
	printf("FIXED, no buffers: %s\n", res(run(sqe)));
	sqe = cmd(s, 0);
	sqe->flags = IOSQE_BUFFER_SELECT;
	printf("BUFFER_SELECT: %s\n", res(run(sqe)));
	sqe = cmd(s, 0);
	sqe->ioprio = 1;
	printf("ioprio: %s\n", res(run(sqe)));

	/* RECV_ZC without a zero-copy receive queue. */
	sqe = io_uring_get_sqe(&ring);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = OP_RECV_ZC;
	sqe->fd = s;
	printf("RECV_ZC: %s\n", res(run(sqe)));
	sqe = io_uring_get_sqe(&ring);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = OP_RECV_ZC;
	sqe->fd = p[0];
	sqe->ioprio = IORING_RECV_MULTISHOT;
	printf("RECV_ZC on a pipe: %s\n", res(run(sqe)));
	sqe = io_uring_get_sqe(&ring);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = OP_RECV_ZC;
	sqe->fd = 999;
	printf("RECV_ZC bad fd: %s\n", res(run(sqe)));
	char buf[8];
	printf("data still there: %zd\n", read(s, buf, sizeof(buf)));
	return 0;
}
