/*
 * sysloop: the cost of one trapped syscall, as a loop of N identical calls.
 *
 *   sysloop pread FILE [N]     4 KiB pread(2) at offset 0 of a regular file
 *                              (pysentry passes it through to the host; with
 *                              PYSENTRY_SERVE_FILES=1 the Sentry serves it)
 *   sysloop read-host [N]      1-byte read(2) from /dev/zero (the Sentry
 *                              passes it through to the host)
 *
 * Output: one line of key=value pairs on stdout, e.g.
 *   mode=pread calls=20000 secs=0.4 us_per_call=20.00
 * N/10 untimed calls come first (fault in, warm caches).
 * Exit status: 0 ok, 1 I/O error, 2 usage error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char buf[4096];
	const char *mode = argc > 1 ? argv[1] : "";
	int pread_mode = !strcmp(mode, "pread");
	if (!pread_mode && strcmp(mode, "read-host")) {
		fprintf(stderr, "usage: sysloop pread FILE [N] | sysloop read-host [N]\n");
		return 2;
	}
	const char *path = pread_mode ? (argc > 2 ? argv[2] : NULL) : "/dev/zero";
	const char *nstr = argc > (pread_mode ? 3 : 2) ? argv[pread_mode ? 3 : 2] : "20000";
	long n = atol(nstr);
	if (!path || n <= 0) {
		fprintf(stderr, "sysloop: a file and a positive count are needed\n");
		return 2;
	}
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	size_t len = pread_mode ? sizeof(buf) : 1;
	double t0 = 0;
	for (long i = -(n / 10); i < n; i++) {
		if (i == 0)
			t0 = mono_now();
		ssize_t r = pread_mode ? pread(fd, buf, len, 0) : read(fd, buf, len);
		if (r != (ssize_t)len) {
			perror("read");
			return 1;
		}
	}
	double secs = mono_now() - t0;
	printf("mode=%s calls=%ld secs=%.6f us_per_call=%.2f\n", mode, n, secs, secs * 1e6 / n);
	return 0;
}
