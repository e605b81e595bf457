/* IORING_OP_WAITID (50): waitid(2) on the program's children, completing
 * when a child changes state instead of blocking.  Prints one line per case:
 * the CQE and the siginfo fields Linux writes. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define OP_WAITID 50

static struct io_uring ring;

static struct io_uring_sqe *wid(int which, int id, siginfo_t *si, unsigned options,
				unsigned long long ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = OP_WAITID;
	sqe->len = which;
	sqe->fd = id;
	sqe->file_index = options;
	sqe->off = (unsigned long)si;      /* sqe->addr2 */
	sqe->user_data = ud;
	return sqe;
}

static void run(const char *what, int n)
{
	struct io_uring_cqe *cqe;
	io_uring_submit(&ring);
	printf("%s:", what);
	for (int i = 0; i < n; i++) {
		io_uring_wait_cqe(&ring, &cqe);
		printf(" [ud=%llu res=%d]", (unsigned long long)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	printf("\n");
}

static void show(siginfo_t *si, pid_t child)
{
	unsigned char *raw = (unsigned char *)si;
	printf("  signo=%d errno=%d code=%d pid=%s status=%d pad=%02x%02x%02x%02x tail=%02x\n",
	       si->si_signo, si->si_errno, si->si_code,
	       si->si_pid == child ? "child" : si->si_pid ? "other" : "0", si->si_status,
	       raw[12], raw[13], raw[14], raw[15], raw[40]);
}

static int pending(void)
{
	struct io_uring_cqe *cqe;
	return io_uring_peek_cqe(&ring, &cqe) == -EAGAIN;
}

/* A child that exits with `code` once it can read a byte from fd. */
static pid_t child_waiting_on(int fd, int code)
{
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(fd, &c, 1);
		_exit(code);
	}
	return pid;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (io_uring_queue_init(16, &ring, 0))
		return 1;
	siginfo_t si;

	memset(&si, 0xee, sizeof(si));
	wid(P_ALL, 0, &si, WEXITED, 1);
	run("no children", 1);
	show(&si, -1);

	/* A child that has already exited. */
	pid_t c1 = fork();
	if (c1 == 0)
		_exit(3);
	memset(&si, 0xee, sizeof(si));
	wid(P_PID, c1, &si, WEXITED, 2);
	run("exited child", 1);
	show(&si, c1);

	/* A child that exits later: the request waits. */
	int p[2];
	pipe(p);
	pid_t c2 = child_waiting_on(p[0], 7);
	memset(&si, 0xee, sizeof(si));
	wid(P_ALL, 0, &si, WEXITED, 3);
	io_uring_submit(&ring);
	printf("waits while the child runs: %d\n", pending());
	write(p[1], "g", 1);
	run("child exits", 1);
	show(&si, c2);
	printf("reaped: %d\n", waitpid(c2, NULL, WNOHANG));

	/* WNOHANG with a running child: 0 at once, and no pid. */
	pid_t c3 = child_waiting_on(p[0], 9);
	memset(&si, 0xee, sizeof(si));
	wid(P_PID, c3, &si, WEXITED | WNOHANG, 4);
	run("WNOHANG, child running", 1);
	show(&si, c3);

	/* WNOWAIT leaves it waitable. */
	memset(&si, 0xee, sizeof(si));
	wid(P_PID, c3, &si, WEXITED | WNOWAIT, 5);
	io_uring_submit(&ring);
	write(p[1], "g", 1);
	run("WNOWAIT", 1);
	show(&si, c3);
	memset(&si, 0xee, sizeof(si));
	wid(P_PID, c3, &si, WEXITED, 6);
	run("then reaped", 1);
	show(&si, c3);

	/* A child killed by a signal. */
	pid_t c4 = child_waiting_on(p[0], 0);
	memset(&si, 0xee, sizeof(si));
	wid(P_PID, c4, &si, WEXITED, 7);
	io_uring_submit(&ring);
	kill(c4, SIGTERM);
	run("killed child", 1);
	show(&si, c4);

	/* NULL infop. */
	pid_t c5 = fork();
	if (c5 == 0)
		_exit(1);
	wid(P_PID, c5, NULL, WEXITED, 8);
	run("NULL infop", 1);

	/* Checks. */
	wid(P_ALL, 0, &si, 0, 10);
	run("no event options", 1);
	wid(P_ALL, 0, &si, WEXITED | 0x100, 11);
	run("unknown option", 1);
	wid(9, 0, &si, WEXITED, 12);
	run("bad idtype", 1);
	wid(P_PID, 0, &si, WEXITED, 13);
	run("P_PID 0", 1);
	wid(P_PID, 1, &si, WEXITED, 14);
	run("not a child", 1);
	wid(P_ALL, 0, &si, WEXITED, 15)->addr = 1;
	run("addr set", 1);
	wid(P_ALL, 0, &si, WEXITED, 16)->buf_index = 1;
	run("buf_index set", 1);
	wid(P_ALL, 0, &si, WEXITED, 17)->rw_flags = 1;
	run("waitid_flags set", 1);

	/* Cancel a waiting one (a single cancel reports 1 for waitid). */
	pid_t c6 = child_waiting_on(p[0], 4);
	wid(P_PID, c6, &si, WEXITED, 20);
	io_uring_submit(&ring);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_cancel64(sqe, 20, 0);
	sqe->user_data = 21;
	run("cancel", 2);
	write(p[1], "g", 1);
	int st;
	waitpid(c6, &st, 0);
	printf("the cancelled wait left the child to waitpid: %d\n", WEXITSTATUS(st));

	/* A link after a wait. */
	pid_t c7 = child_waiting_on(p[0], 5);
	wid(P_PID, c7, &si, WEXITED, 22)->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 23;
	io_uring_submit(&ring);
	write(p[1], "g", 1);
	run("link after the wait", 2);
	show(&si, c7);
	return 0;
}
