/*
 * ptrace_cost: what each call a tracer can make at a seccomp stop costs,
 * to choose the cheapest way to serve a stop (platform/native/trap.c).
 *
 *   ptrace_cost [N] [FILE]
 *
 * A child stops at a seccomp stop (SECCOMP_RET_TRACE on pread64) and stays
 * there; the tracer then times N rounds of each call against that one stop
 * and prints the median per call:
 *
 *   PTRACE_GET_SYSCALL_INFO, PTRACE_PEEKUSER, PTRACE_POKEUSER,
 *   PTRACE_GETEVENTMSG, PTRACE_GETREGS, PTRACE_SETREGS,
 *   PTRACE_SETREGSET (NT_PRSTATUS, the 16 words up to orig_rax: a partial
 *   write always starts at r15), PTRACE_SET_SYSCALL_INFO (Linux 6.16),
 *   preadv2(2) of 4 KiB from FILE (page-cached), process_vm_writev(2) and a
 *   pwrite(2) to /proc/PID/mem of 4 KiB into the stopped child, and
 *   getppid(2) as the price of any syscall;
 *
 * then the three ways of answering a served stop (the call skipped,
 * orig_rax = -1, and its result in rax): GET_SYSCALL_INFO + two POKEUSERs
 * (what trap.c does), GETREGS + SETREGS, GET_SYSCALL_INFO +
 * SET_SYSCALL_INFO + one POKEUSER.  Register writes put back what was read
 * (the stop is answered with the values it has), so every round does the
 * same work.  Run it under `taskset -c N`; the context switches of a real
 * stop are not included (tools/bench.py's floor rows have those).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SET_SYSCALL_INFO
#define PTRACE_SET_SYSCALL_INFO 0x4212
#endif

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double d = *(const double *)a - *(const double *)b;
	return d < 0 ? -1 : d > 0;
}

static char child_buf[4096] __attribute__((aligned(4096)));

enum { GSI, PEEK, POKE, EVMSG, GETREGS, SETREGS, SETREGSET16, SSI, PREAD, PVW, PROCMEM, GETPPID,
       ANS_POKE2, ANS_REGS, ANS_SSI, NKINDS };
static const char *names[NKINDS] = {
	"PTRACE_GET_SYSCALL_INFO", "PTRACE_PEEKUSER", "PTRACE_POKEUSER", "PTRACE_GETEVENTMSG",
	"PTRACE_GETREGS", "PTRACE_SETREGS", "PTRACE_SETREGSET, 16 words",
	"PTRACE_SET_SYSCALL_INFO", "preadv2 4 KiB", "process_vm_writev 4 KiB",
	"pwrite /proc/PID/mem 4 KiB", "getppid",
	"answer: GET_SYSCALL_INFO + 2 POKEUSER", "answer: GETREGS + SETREGS",
	"answer: GET_SYSCALL_INFO + SET_SYSCALL_INFO + POKEUSER",
};

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	const char *path = argc > 2 ? argv[2] : "/proc/self/exe";
	if (n <= 0) {
		fprintf(stderr, "usage: ptrace_cost [N] [FILE]\n");
		return 2;
	}
	int file = open(path, O_RDONLY);
	if (file < 0) {
		perror(path);
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pread64, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { 4, f };
		child_buf[0] = 1;     /* fault the page in */
		raise(SIGSTOP);       /* until seized */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			_exit(127);
		syscall(__NR_pread64, 0, child_buf, sizeof(child_buf), 0);
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, WUNTRACED) != pid ||
	    ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)) {
		perror("seize");
		return 1;
	}
	kill(pid, SIGCONT);
	/* The SIGSTOP's group-stop ends; then the seccomp stop. */
	for (;;) {
		if (waitpid(pid, &status, __WALL) != pid) {
			perror("waitpid");
			return 1;
		}
		if (WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_SECCOMP)
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			fprintf(stderr, "child ended before its stop\n");
			return 1;
		}
		ptrace(PTRACE_CONT, pid, 0, 0);
	}
	char mempath[64];
	snprintf(mempath, sizeof(mempath), "/proc/%d/mem", pid);
	int mem = open(mempath, O_RDWR);
	if (mem < 0) {
		perror(mempath);
		return 1;
	}
	double *t = calloc((size_t)n * NKINDS, sizeof(double));
	if (!t)
		return 1;
	static char bounce[4096];
	struct __ptrace_syscall_info info;
	struct user_regs_struct r;
	unsigned long msg;
	const long orax = offsetof(struct user_regs_struct, orig_rax);
	const long rax = offsetof(struct user_regs_struct, rax);
	int bad = 0;
	for (long i = 0; i < n; i++) {
		double a, b;
#define TIME(kind, call) do { a = now(); bad |= (call) < 0; b = now(); t[(kind) * n + i] = b - a; } while (0)
		TIME(GSI, ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info));
		long v = ptrace(PTRACE_PEEKUSER, pid, rax, 0);
		TIME(PEEK, (errno = 0, ptrace(PTRACE_PEEKUSER, pid, rax, 0), errno ? -1 : 0));
		TIME(POKE, ptrace(PTRACE_POKEUSER, pid, rax, v));
		TIME(EVMSG, ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg));
		TIME(GETREGS, ptrace(PTRACE_GETREGS, pid, 0, &r));
		TIME(SETREGS, ptrace(PTRACE_SETREGS, pid, 0, &r));
		struct iovec iov = { &r, 16 * sizeof(long) };
		TIME(SETREGSET16, ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &iov));
		TIME(SSI, ptrace(PTRACE_SET_SYSCALL_INFO, pid, sizeof(info), &info));
		struct iovec fiov = { bounce, sizeof(bounce) };
		TIME(PREAD, preadv2(file, &fiov, 1, 0, 0));
		struct iovec local = { bounce, sizeof(bounce) }, remote = { child_buf, sizeof(bounce) };
		TIME(PVW, process_vm_writev(pid, &local, 1, &remote, 1, 0));
		TIME(PROCMEM, pwrite(mem, bounce, sizeof(bounce), (off_t)(uintptr_t)child_buf));
		TIME(GETPPID, getppid());
		long ov = r.orig_rax;
		a = now();
		bad |= ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) < 0;
		bad |= ptrace(PTRACE_POKEUSER, pid, orax, ov) < 0;
		bad |= ptrace(PTRACE_POKEUSER, pid, rax, v) < 0;
		t[ANS_POKE2 * n + i] = now() - a;
		a = now();
		bad |= ptrace(PTRACE_GETREGS, pid, 0, &r) < 0;
		bad |= ptrace(PTRACE_SETREGS, pid, 0, &r) < 0;
		t[ANS_REGS * n + i] = now() - a;
		a = now();
		bad |= ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) < 0;
		bad |= ptrace(PTRACE_SET_SYSCALL_INFO, pid, sizeof(info), &info) < 0;
		bad |= ptrace(PTRACE_POKEUSER, pid, rax, v) < 0;
		t[ANS_SSI * n + i] = now() - a;
	}
	if (bad)
		fprintf(stderr, "ptrace_cost: a call failed (figures for it are not valid)\n");
	for (int k = 0; k < NKINDS; k++) {
		qsort(t + k * n, n, sizeof(double), cmp);
		printf("%-56s %7.3f us\n", names[k], t[k * n + n / 2] * 1e6);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
	return bad;
}
