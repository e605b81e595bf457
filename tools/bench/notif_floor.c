/*
 * notif_floor: what seccomp user notification would cost pysentry, as the
 * floor of an accelerator it was weighed as (docs/performance.md, "Tried
 * and rejected").  The child's pread64(2) returns SECCOMP_RET_USER_NOTIF
 * (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV); this C supervisor serves it as
 * the Sentry would (its own fd on the description via pidfd_getfd, pread,
 * process_vm_writev, SECCOMP_IOCTL_NOTIF_SEND), optionally with
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6+).  Everything else runs.
 *
 *   notif_floor [sync] -- PROGRAM [ARGS...]
 *
 * E.g. notif_floor sync -- sysloop pread FILE 100000 (compare floor_tracer),
 * or notif_floor -- eintr_probe FILE (EINTR where Linux never gives it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#define SYNC_WAKE 1
int main(int argc, char **argv)
{
	int sync = argc > 1 && !strcmp(argv[1], "sync");
	int i = 1 + sync;
	if (i < argc && !strcmp(argv[i], "--")) i++;
	if (i >= argc) {
		fprintf(stderr, "usage: notif_floor [sync] -- PROGRAM [ARGS...]\n");
		return 2;
	}
	int p[2], q[2]; pipe(p); pipe(q);
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pread64, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { 4, f };
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
		if (fd < 0) { perror("seccomp"); _exit(1); }
		write(p[1], &fd, sizeof(fd));
		char c; read(q[0], &c, 1);   /* the supervisor holds it now */
		close(fd);
		execvp(argv[i], argv + i);
		_exit(127);
	}
	int cfd; read(p[0], &cfd, sizeof(cfd));
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	int lfd = syscall(SYS_pidfd_getfd, pidfd, cfd, 0);
	if (lfd < 0) { perror("getfd"); return 1; }
	write(q[1], "g", 1);
	if (sync && ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SYNC_WAKE, 0) < 0) perror("SET_FLAGS");
	static char bounce[1 << 16];
	struct seccomp_notif req; struct seccomp_notif_resp resp;
	int files[1024]; memset(files, -1, sizeof(files));
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			/* ENOENT: the call was interrupted before we got it --
			 * or the program is gone. */
			int st;
			if (errno == EINTR || (errno == ENOENT && waitpid(pid, &st, WNOHANG) == 0))
				continue;
			if (errno == ENOENT)
				return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		int fd = req.data.args[0];
		if (fd >= 0 && fd < 1024 && files[fd] < 0) {
			int pfd = syscall(SYS_pidfd_open, req.pid, 0);
			files[fd] = syscall(SYS_pidfd_getfd, pfd, fd, 0);
			close(pfd);
		}
		size_t len = req.data.args[2] > sizeof(bounce) ? sizeof(bounce) : req.data.args[2];
		ssize_t n = pread(files[fd], bounce, len, req.data.args[3]);
		if (n > 0) {
			struct iovec l = { bounce, n }, r = { (void *)req.data.args[1], n };
			n = process_vm_writev(req.pid, &l, 1, &r, 1, 0);
		}
		if (n < 0) resp.error = -errno; else resp.val = n;
		ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
	int st; waitpid(pid, &st, 0);
	return WEXITSTATUS(st);
}
