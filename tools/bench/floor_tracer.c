/*
 * floor_tracer: the least a ptrace + seccomp sandbox can pay per trapped
 * syscall, to set pysentry's figures against.
 *
 *   floor_tracer [--regs] -- PROGRAM [ARGS...]
 *
 * The child installs a seccomp filter that returns SECCOMP_RET_TRACE for
 * read(2) and pread64(2) (everything else is allowed) and execs PROGRAM.
 * The tracer waits for each seccomp stop and resumes it with PTRACE_CONT:
 * the syscall then runs on the host.  With --regs it also does what any
 * real tracer must at a stop: PTRACE_GET_SYSCALL_INFO, PTRACE_GETREGS and
 * PTRACE_SETREGS (the registers written back unchanged).
 *
 * No CPU placement of its own: run it under `taskset -c N` for the pinned
 * figure.  Exit status: the program's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void install_filter(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_read, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pread64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		perror("seccomp");
		_exit(127);
	}
}

int main(int argc, char **argv)
{
	int regs = 0, i = 1;
	if (i < argc && !strcmp(argv[i], "--regs")) {
		regs = 1;
		i++;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: floor_tracer [--regs] -- PROGRAM [ARGS...]\n");
		return 2;
	}
	int go[2];
	if (pipe(go))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)   /* wait until seized */
			_exit(127);
		install_filter();
		execvp(argv[i], argv + i);
		perror(argv[i]);
		_exit(127);
	}
	if (ptrace(PTRACE_SEIZE, pid, 0,
		   PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL) != 0) {
		perror("PTRACE_SEIZE");
		return 1;
	}
	if (write(go[1], "g", 1) != 1)
		return 1;
	close(go[1]);
	close(go[0]);
	struct __ptrace_syscall_info info;
	struct user_regs_struct r;
	for (;;) {
		int status;
		pid_t w = waitpid(-1, &status, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		if (WIFSIGNALED(status))
			return 128 + WTERMSIG(status);
		int sig = 0;
		if (status >> 16 == PTRACE_EVENT_SECCOMP) {
			if (regs) {
				ptrace(PTRACE_GET_SYSCALL_INFO, w, sizeof(info), &info);
				ptrace(PTRACE_GETREGS, w, 0, &r);
				ptrace(PTRACE_SETREGS, w, 0, &r);
			}
		} else if (!(status >> 16)) {
			sig = WSTOPSIG(status);   /* signal-delivery stop: deliver it */
		}
		ptrace(PTRACE_CONT, w, 0, sig);
	}
}
