/*
 * eintr_probe: 200,000 pread(2)s of a regular file while SIGALRM, whose
 * handler has no SA_RESTART, fires every millisecond.  Prints how many
 * returned EINTR: none on Linux (a regular-file read does not stop for
 * signals) and none under pysentry (a ptrace stop holds signals until the
 * call is answered); under seccomp user notification (notif_floor.c) a
 * signal that arrives before the supervisor received the notification
 * interrupts the wait, and the call fails with EINTR.
 *
 *   eintr_probe FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static volatile long alarms;
static void h(int s) { (void)s; alarms++; }
int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: eintr_probe FILE\n");
		return 2;
	}
	struct sigaction sa; memset(&sa, 0, sizeof(sa)); sa.sa_handler = h;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	int fd = open(argv[1], O_RDONLY); char buf[4096]; long eintr = 0, ok = 0;
	for (int i = 0; i < 200000; i++) {
		if (pread(fd, buf, 4096, 0) < 0) { if (errno == EINTR) eintr++; } else ok++;
	}
	printf("ok=%ld eintr=%ld alarms=%ld\n", ok, eintr, alarms);
	return 0;
}
