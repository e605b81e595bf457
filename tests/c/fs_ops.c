/* RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT, LINKAT, STATX and the xattr ops.
 *
 * Usage: fs_ops DIR.  The path ops run inside DIR (a fresh directory per
 * run); the xattr ops in a temporary directory made under the cwd, since
 * tmpfs may refuse user.* attributes.  Nothing run-specific is printed:
 * inode numbers and times are only compared, never shown. */
#define _GNU_SOURCE
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)
#define BAD_PTR ((void *)8)

static struct io_uring r;

static struct io_uring_sqe *sqe(void)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&r);
	if (!s)
		FAIL("no sqe");
	return s;
}

/* Submit what was prepared, print its completion as "tag: user_data=7 res=N". */
static int run(const char *tag)
{
	struct io_uring_cqe *c;
	struct io_uring_sqe *s = r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask);
	s->user_data = 7;
	if (io_uring_submit(&r) != 1)
		FAIL("submit %s", tag);
	if (io_uring_wait_cqe(&r, &c))
		FAIL("wait %s", tag);
	int res = c->res;
	printf("%s: user_data=%llu res=%d\n", tag, (unsigned long long)c->user_data, res);
	io_uring_cqe_seen(&r, c);
	return res;
}

static void put_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		FAIL("create %s: %s", path, strerror(errno));
	close(fd);
}

static void show_file(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("  %s: %s\n", path, strerror(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	printf("  %s: \"%s\"\n", path, buf);
}

static void show_kind(const char *path)
{
	struct stat st;
	if (lstat(path, &st)) {
		printf("  %s: %s\n", path, strerror(errno));
		return;
	}
	const char *k = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir"
		: S_ISLNK(st.st_mode) ? "symlink" : S_ISCHR(st.st_mode) ? "chardev" : "other";
	printf("  %s: %s mode=%04o nlink=%lu\n", path, k, st.st_mode & 07777,
	       S_ISDIR(st.st_mode) ? 0UL : (unsigned long)st.st_nlink);
}

static void test_rename(int dfd)
{
	put_file("a", "hello");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "a", AT_FDCWD, "b", 0);
	run("rename a b");
	show_kind("a");
	show_file("b");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "missing", AT_FDCWD, "x", 0);
	run("rename missing");

	put_file("c", "world");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "c", RENAME_NOREPLACE);
	run("rename NOREPLACE onto existing");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "c", RENAME_EXCHANGE);
	run("rename EXCHANGE");
	show_file("b");
	show_file("c");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "nothere", RENAME_EXCHANGE);
	run("rename EXCHANGE missing target");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "c",
			       RENAME_EXCHANGE | RENAME_NOREPLACE);
	run("rename EXCHANGE|NOREPLACE");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "c", 1 << 5);
	run("rename unknown flag");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "missing", AT_FDCWD, "c", 1 << 5);
	run("rename unknown flag missing source");

	/* dirfds: old relative to one directory, new to another */
	mkdir("d1", 0755);
	mkdir("d2", 0755);
	put_file("d1/f", "in d1");
	int d1 = open("d1", O_RDONLY | O_DIRECTORY), d2 = open("d2", O_PATH | O_DIRECTORY);
	io_uring_prep_renameat(sqe(), d1, "f", d2, "g", 0);
	run("rename across dirfds");
	show_file("d2/g");
	io_uring_prep_renameat(sqe(), d2, "g", dfd, "moved", 0);
	run("rename to the run dir fd");
	show_file("moved");
	io_uring_prep_renameat(sqe(), 9999, "moved", AT_FDCWD, "x", 0);
	run("rename bad olddirfd");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "moved", 9999, "x", 0);
	run("rename bad newdirfd");
	int f = open("moved", O_RDONLY);
	io_uring_prep_renameat(sqe(), f, "moved", AT_FDCWD, "x", 0);
	run("rename olddirfd not a dir");
	io_uring_prep_renameat(sqe(), 9999, "/nonexistent-fs-ops/a", AT_FDCWD, "x", 0);
	run("rename absolute path ignores dirfd");
	close(f);
	close(d1);
	close(d2);

	/* directories */
	put_file("d1/keep", "k");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "d2", AT_FDCWD, "d1", 0);
	run("rename dir onto non-empty dir");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "moved", AT_FDCWD, "d2", 0);
	run("rename file onto dir");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "d2", AT_FDCWD, "moved", 0);
	run("rename dir onto file");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "d2", AT_FDCWD, "d2/sub", 0);
	run("rename dir into itself");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "moved/", AT_FDCWD, "x", 0);
	run("rename file with trailing slash");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "d2/", AT_FDCWD, "d3/", 0);
	run("rename dir with trailing slashes");
	show_kind("d3");

	/* a symlink is renamed itself, not its target */
	symlink("c", "lnk");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "lnk", AT_FDCWD, "lnk2", 0);
	run("rename symlink");
	show_kind("lnk2");
	show_kind("c");

	io_uring_prep_renameat(sqe(), AT_FDCWD, "c", AT_FDCWD, "w", RENAME_WHITEOUT);
	int wres = run("rename WHITEOUT");
	if (wres == 0)
		show_kind("c");

	/* prep checks */
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "x", 0);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].buf_index = 1;
	run("rename reserved buf_index");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "x", 0);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].splice_fd_in = 1;
	run("rename reserved splice_fd_in");
	io_uring_prep_renameat(sqe(), 0, "b", AT_FDCWD, "x", 0);
	io_uring_sqe_set_flags(r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask),
			       IOSQE_FIXED_FILE);
	run("rename fixed file");
	io_uring_prep_renameat(sqe(), AT_FDCWD, BAD_PTR, AT_FDCWD, "x", 0);
	run("rename bad oldpath pointer");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, BAD_PTR, 0);
	run("rename bad newpath pointer");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "", AT_FDCWD, "x", 0);
	run("rename empty oldpath");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "b", AT_FDCWD, "", 0);
	run("rename empty newpath");
}

static void test_unlink(int dfd)
{
	put_file("u1", "x");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "u1", 0);
	run("unlink file");
	show_kind("u1");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "u1", 0);
	run("unlink missing");
	mkdir("ud", 0755);
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "ud", 0);
	run("unlink dir");
	put_file("uf", "x");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "uf", AT_REMOVEDIR);
	run("rmdir file");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "uf/", 0);
	run("unlink file with trailing slash");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "uf/x", 0);
	run("unlink under a file");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "nodir/x", 0);
	run("unlink under a missing dir");
	put_file("ud/inside", "x");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "ud", AT_REMOVEDIR);
	run("rmdir non-empty");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, ".", AT_REMOVEDIR);
	run("rmdir dot");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "ud/..", AT_REMOVEDIR);
	run("rmdir dotdot");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "/", AT_REMOVEDIR);
	run("rmdir root");

	/* relative to a dirfd */
	int ud = open("ud", O_RDONLY | O_DIRECTORY);
	io_uring_prep_unlinkat(sqe(), ud, "inside", 0);
	run("unlink via dirfd");
	show_kind("ud/inside");
	close(ud);
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "ud/", AT_REMOVEDIR);
	run("rmdir empty with trailing slash");
	show_kind("ud");
	io_uring_prep_unlinkat(sqe(), 9999, "uf", 0);
	run("unlink bad dirfd");

	/* symlinks are removed, never followed */
	mkdir("tdir", 0755);
	symlink("tdir", "ldir");
	symlink("uf", "lfile");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "ldir", AT_REMOVEDIR);
	run("rmdir symlink to dir");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "ldir/", AT_REMOVEDIR);
	run("rmdir symlink to dir with slash");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "lfile", 0);
	run("unlink symlink");
	show_kind("lfile");
	show_kind("uf");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "ldir/", 0);
	run("unlink symlink to dir with slash");

	/* prep checks */
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "uf", 0x100);
	run("unlink unknown flag");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "uf", 0);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].off = 1;
	run("unlink reserved off");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "uf", 0);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].len = 1;
	run("unlink reserved len");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, BAD_PTR, 0);
	run("unlink bad pointer");
	io_uring_prep_unlinkat(sqe(), AT_FDCWD, "", 0);
	run("unlink empty path");
	io_uring_prep_unlinkat(sqe(), 0, "uf", 0);
	io_uring_sqe_set_flags(r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask),
			       IOSQE_FIXED_FILE);
	run("unlink fixed file");
	show_kind("uf");
	(void)dfd;
}

static void test_mkdir(int dfd)
{
	umask(022);
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m1", 0777);
	run("mkdir umask 022");
	show_kind("m1");
	umask(077);
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m2", 0777);
	run("mkdir umask 077");
	show_kind("m2");
	umask(0);
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m3", 01777);
	run("mkdir umask 0 sticky");
	show_kind("m3");
	umask(022);
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m4", 0x10000 | 0700);
	run("mkdir mode above 16 bits");
	show_kind("m4");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m1", 0755);
	run("mkdir existing");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "nodir/m", 0755);
	run("mkdir missing parent");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "uf/m", 0755);
	run("mkdir under a file");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m5/", 0755);
	run("mkdir trailing slash");
	show_kind("m5");
	int m1 = open("m1", O_PATH | O_DIRECTORY);
	io_uring_prep_mkdirat(sqe(), m1, "sub", 0750);
	run("mkdir via dirfd");
	show_kind("m1/sub");
	close(m1);
	io_uring_prep_mkdirat(sqe(), dfd, "m6", 0700);
	run("mkdir via run dir fd");
	show_kind("m6");
	symlink("m1", "lm");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "lm", 0755);
	run("mkdir onto symlink");
	symlink("nothere", "dangling");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "dangling", 0755);
	run("mkdir onto dangling symlink");
	show_kind("nothere");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "lm/viasym", 0755);
	run("mkdir through symlinked dir");
	show_kind("m1/viasym");

	/* the directory part may pass through /proc magic links */
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "/proc/self/cwd/m8", 0700);
	run("mkdir via /proc/self/cwd");
	show_kind("m8");
	char viafd[64];
	snprintf(viafd, sizeof(viafd), "/proc/self/fd/%d/m8", dfd);
	io_uring_prep_renameat(sqe(), AT_FDCWD, viafd, AT_FDCWD, "m9", 0);
	run("rename via /proc/self/fd");
	show_kind("m9");

	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m7", 0755);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].off = 1;
	run("mkdir reserved off");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "m7", 0755);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].rw_flags = 1;
	run("mkdir reserved rw_flags");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, BAD_PTR, 0755);
	run("mkdir bad pointer");
	io_uring_prep_mkdirat(sqe(), AT_FDCWD, "", 0755);
	run("mkdir empty path");
	show_kind("m7");
}

static void test_symlink(int dfd)
{
	char buf[64];
	io_uring_prep_symlinkat(sqe(), "some/target text", AT_FDCWD, "s1");
	run("symlink");
	ssize_t n = readlink("s1", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("  s1 -> \"%s\"\n", buf);
	io_uring_prep_symlinkat(sqe(), "x", AT_FDCWD, "s1");
	run("symlink existing");
	io_uring_prep_symlinkat(sqe(), "x", AT_FDCWD, "nodir/s");
	run("symlink missing parent");
	int m1 = open("m1", O_RDONLY | O_DIRECTORY);
	io_uring_prep_symlinkat(sqe(), "../c", m1, "s2");
	run("symlink via dirfd");
	show_kind("m1/s2");
	show_file("m1/s2");
	close(m1);
	io_uring_prep_symlinkat(sqe(), "x", dfd, "s3/");
	run("symlink trailing slash");
	io_uring_prep_symlinkat(sqe(), "", AT_FDCWD, "s4");
	run("symlink empty target");
	io_uring_prep_symlinkat(sqe(), BAD_PTR, AT_FDCWD, "s4");
	run("symlink bad target pointer");
	io_uring_prep_symlinkat(sqe(), "x", AT_FDCWD, BAD_PTR);
	run("symlink bad linkpath pointer");
	io_uring_prep_symlinkat(sqe(), "x", AT_FDCWD, "s4");
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].len = 1;
	run("symlink reserved len");
	io_uring_prep_symlinkat(sqe(), "x", AT_FDCWD, "s4");
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].rw_flags = 1;
	run("symlink reserved rw_flags");
	io_uring_prep_symlinkat(sqe(), "x", 0, "s4");
	io_uring_sqe_set_flags(r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask),
			       IOSQE_FIXED_FILE);
	run("symlink fixed file");
	show_kind("s4");
}

static void test_link(int dfd)
{
	put_file("h1", "hard");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "h1", AT_FDCWD, "h2", 0);
	run("link");
	show_kind("h1");
	show_file("h2");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "h1", AT_FDCWD, "h2", 0);
	run("link existing");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "missing", AT_FDCWD, "h3", 0);
	run("link missing");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "m1", AT_FDCWD, "h3", 0);
	run("link dir");
	/* the old path is looked up before the new one */
	io_uring_prep_linkat(sqe(), AT_FDCWD, "missing", 9999, "h3", 0);
	run("link missing with bad newdirfd");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "missing", 9999, "h3", AT_SYMLINK_FOLLOW);
	run("link missing FOLLOW with bad newdirfd");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "h1", 9999, "h3", 0);
	run("link bad newdirfd");
	io_uring_prep_renameat(sqe(), AT_FDCWD, "missing", 9999, "h3", 0);
	run("rename missing with bad newdirfd");
	int m1 = open("m1", O_RDONLY | O_DIRECTORY);
	io_uring_prep_linkat(sqe(), dfd, "h1", m1, "h4", 0);
	run("link via dirfds");
	show_kind("m1/h4");
	close(m1);

	/* a symlink is linked itself unless AT_SYMLINK_FOLLOW */
	symlink("h1", "hs");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "hs", AT_FDCWD, "hs-nofollow", 0);
	run("link symlink");
	show_kind("hs-nofollow");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "hs", AT_FDCWD, "hs-follow", AT_SYMLINK_FOLLOW);
	run("link symlink FOLLOW");
	show_kind("hs-follow");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "dangling", AT_FDCWD, "hd", AT_SYMLINK_FOLLOW);
	run("link dangling symlink FOLLOW");

	/* AT_EMPTY_PATH: the file olddirfd refers to */
	int fd = open("h1", O_RDONLY);
	io_uring_prep_linkat(sqe(), fd, "", AT_FDCWD, "h-empty", AT_EMPTY_PATH);
	run("link AT_EMPTY_PATH");
	show_kind("h1");
	io_uring_prep_linkat(sqe(), fd, "", AT_FDCWD, "h-empty2", 0);
	run("link empty path without AT_EMPTY_PATH");
	io_uring_prep_linkat(sqe(), r.ring_fd, "", AT_FDCWD, "h-ring", AT_EMPTY_PATH);
	run("link AT_EMPTY_PATH ring fd");
	close(fd);

	/* An O_TMPFILE file given a name through /proc/self/fd (a magic link). */
	fd = open(".", O_TMPFILE | O_RDWR, 0600);
	if (fd >= 0) {
		if (write(fd, "anon", 4) != 4)
			FAIL("write tmpfile");
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		io_uring_prep_linkat(sqe(), AT_FDCWD, proc, AT_FDCWD, "from-tmpfile",
				     AT_SYMLINK_FOLLOW);
		run("link O_TMPFILE via /proc/self/fd");
		show_file("from-tmpfile");
		io_uring_prep_linkat(sqe(), fd, "", AT_FDCWD, "from-tmpfile2", AT_EMPTY_PATH);
		run("link O_TMPFILE AT_EMPTY_PATH");
		show_file("from-tmpfile2");
		close(fd);
	} else {
		printf("O_TMPFILE: %s\n", strerror(errno));
	}

	io_uring_prep_linkat(sqe(), AT_FDCWD, "h1", AT_FDCWD, "h5", 0x100);
	run("link unknown flag");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "h1", AT_FDCWD, "h5", 0);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].buf_index = 1;
	run("link reserved buf_index");
	io_uring_prep_linkat(sqe(), AT_FDCWD, BAD_PTR, AT_FDCWD, "h5", 0);
	run("link bad oldpath pointer");
	io_uring_prep_linkat(sqe(), AT_FDCWD, "h1", AT_FDCWD, "", 0);
	run("link empty newpath");
	io_uring_prep_linkat(sqe(), 0, "h1", AT_FDCWD, "h5", 0);
	io_uring_sqe_set_flags(r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask),
			       IOSQE_FIXED_FILE);
	run("link fixed file");
	show_kind("h5");
}

/* Compare an io_uring statx with statx(2) and stat(2) of the same file. */
static void check_statx(const char *tag, const struct statx *x, int dirfd, const char *path,
			int flags, unsigned mask)
{
	struct statx y;
	struct stat st;
	memset(&y, 0, sizeof(y));
	if (statx(dirfd, path, flags, mask, &y))
		FAIL("statx(2) %s: %s", tag, strerror(errno));
	int same = !memcmp(x, &y, sizeof(y));
	if (fstatat(dirfd, path, &st, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		FAIL("fstatat %s: %s", tag, strerror(errno));
	printf("  %s: same as statx(2)=%d mode=%o size=%llu nlink=%u uid=%u gid=%u "
	       "ino=stat:%d dev=stat:%d mtime=stat:%d blocks=stat:%d basic=%d\n", tag, same,
	       x->stx_mode, (unsigned long long)x->stx_size, x->stx_nlink, x->stx_uid, x->stx_gid,
	       x->stx_ino == st.st_ino,
	       makedev(x->stx_dev_major, x->stx_dev_minor) == st.st_dev,
	       x->stx_mtime.tv_sec == st.st_mtim.tv_sec &&
	       x->stx_mtime.tv_nsec == (unsigned)st.st_mtim.tv_nsec,
	       x->stx_blocks == (unsigned long long)st.st_blocks,
	       (x->stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
}

static void test_statx(int dfd)
{
	struct statx x;
	char big[1234];
	memset(big, 'z', sizeof(big));
	int fd = open("st", O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, big, sizeof(big)) != sizeof(big))
		FAIL("create st");
	fchmod(fd, 0640);
	close(fd);

	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), AT_FDCWD, "st", 0, STATX_BASIC_STATS | STATX_BTIME, &x);
	if (run("statx file") == 0)
		check_statx("st", &x, AT_FDCWD, "st", 0, STATX_BASIC_STATS | STATX_BTIME);
	symlink("st", "st-link");
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), AT_FDCWD, "st-link", 0, STATX_ALL, &x);
	if (run("statx through symlink") == 0)
		check_statx("st-link", &x, AT_FDCWD, "st-link", 0, STATX_ALL);
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), AT_FDCWD, "st-link", AT_SYMLINK_NOFOLLOW, STATX_ALL, &x);
	if (run("statx symlink NOFOLLOW") == 0)
		check_statx("st-link nofollow", &x, AT_FDCWD, "st-link", AT_SYMLINK_NOFOLLOW,
			    STATX_ALL);
	fd = open("st", O_RDONLY);
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), fd, "", AT_EMPTY_PATH, STATX_ALL, &x);
	if (run("statx AT_EMPTY_PATH fd") == 0)
		check_statx("fd", &x, fd, "", AT_EMPTY_PATH, STATX_ALL);
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), AT_FDCWD, "", AT_EMPTY_PATH, STATX_ALL, &x);
	if (run("statx AT_EMPTY_PATH cwd") == 0)
		check_statx("cwd", &x, AT_FDCWD, "", AT_EMPTY_PATH, STATX_ALL);
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), dfd, "m1", 0, STATX_ALL, &x);
	if (run("statx via dirfd") == 0)
		check_statx("m1", &x, dfd, "m1", 0, STATX_ALL);
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), AT_FDCWD, "m1/", 0, STATX_ALL, &x);
	if (run("statx dir trailing slash") == 0)
		check_statx("m1/", &x, AT_FDCWD, "m1/", 0, STATX_ALL);
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), AT_FDCWD, "/proc/self/exe", 0, STATX_ALL, &x);
	if (run("statx /proc/self/exe") == 0)
		check_statx("exe", &x, AT_FDCWD, "/proc/self/exe", 0, STATX_ALL);
	memset(&x, 0, sizeof(x));
	io_uring_prep_statx(sqe(), AT_FDCWD, "st", 0, 0, &x);
	if (run("statx empty mask") == 0)
		check_statx("st mask 0", &x, AT_FDCWD, "st", 0, 0);

	io_uring_prep_statx(sqe(), AT_FDCWD, "missing", 0, STATX_ALL, &x);
	run("statx missing");
	io_uring_prep_statx(sqe(), AT_FDCWD, "st/", 0, STATX_ALL, &x);
	run("statx file trailing slash");
	io_uring_prep_statx(sqe(), AT_FDCWD, "st", 0, STATX_ALL, BAD_PTR);
	run("statx bad buffer");
	io_uring_prep_statx(sqe(), AT_FDCWD, "missing", 0, STATX_ALL, BAD_PTR);
	run("statx bad buffer missing file");
	io_uring_prep_statx(sqe(), AT_FDCWD, BAD_PTR, 0, STATX_ALL, &x);
	run("statx bad path pointer");
	io_uring_prep_statx(sqe(), AT_FDCWD, "", 0, STATX_ALL, &x);
	run("statx empty path");
	io_uring_prep_statx(sqe(), AT_FDCWD, "st", 0, 0x80000000u, &x);
	run("statx reserved mask");
	io_uring_prep_statx(sqe(), AT_FDCWD, "st", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
			    STATX_ALL, &x);
	run("statx both sync types");
	io_uring_prep_statx(sqe(), AT_FDCWD, "missing", 0x2, STATX_ALL, &x);
	run("statx unknown flag");
	io_uring_prep_statx(sqe(), 9999, "st", 0, STATX_ALL, &x);
	run("statx bad dirfd");
	io_uring_prep_statx(sqe(), fd, "st", 0, STATX_ALL, &x);
	run("statx dirfd not a dir");
	io_uring_prep_statx(sqe(), 9999, "", AT_EMPTY_PATH, STATX_ALL, &x);
	run("statx AT_EMPTY_PATH bad fd");
	io_uring_prep_statx(sqe(), AT_FDCWD, "st", 0, STATX_ALL, &x);
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].buf_index = 1;
	run("statx reserved buf_index");
	io_uring_prep_statx(sqe(), 0, "st", 0, STATX_ALL, &x);
	io_uring_sqe_set_flags(r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask),
			       IOSQE_FIXED_FILE);
	run("statx fixed file");
	close(fd);
}

static void test_xattr(void)
{
	char tmpl[] = "fs_ops-xattr-XXXXXX", path[64], lpath[64], val[128], name[300];
	char *big = calloc(1, 65537);
	if (!mkdtemp(tmpl))
		FAIL("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/x", tmpl);
	snprintf(lpath, sizeof(lpath), "%s/l", tmpl);
	put_file(path, "data");
	symlink("x", lpath);
	int fd = open(path, O_RDWR);

	io_uring_prep_fsetxattr(sqe(), fd, "user.a", "v1", 0, 2);
	if (run("fsetxattr") == -EOPNOTSUPP)
		printf("  (no user xattrs here)\n");
	memset(val, 0, sizeof(val));
	io_uring_prep_fgetxattr(sqe(), fd, "user.a", val, sizeof(val));
	run("fgetxattr");
	printf("  value \"%s\"\n", val);
	io_uring_prep_fgetxattr(sqe(), fd, "user.a", NULL, 0);
	run("fgetxattr size 0");
	io_uring_prep_fgetxattr(sqe(), fd, "user.a", val, 1);
	run("fgetxattr small buffer");
	io_uring_prep_fgetxattr(sqe(), fd, "user.none", val, sizeof(val));
	run("fgetxattr missing");
	io_uring_prep_fsetxattr(sqe(), fd, "user.a", "v2", XATTR_CREATE, 2);
	run("fsetxattr CREATE existing");
	io_uring_prep_fsetxattr(sqe(), fd, "user.new", "v2", XATTR_REPLACE, 2);
	run("fsetxattr REPLACE missing");
	io_uring_prep_fsetxattr(sqe(), fd, "user.a", "longer", XATTR_REPLACE, 6);
	run("fsetxattr REPLACE");
	memset(val, 0, sizeof(val));
	ssize_t n = fgetxattr(fd, "user.a", val, sizeof(val));
	printf("  fgetxattr(2): %zd \"%s\"\n", n, n > 0 ? val : "");
	io_uring_prep_fsetxattr(sqe(), fd, "user.empty", "", 0, 0);
	run("fsetxattr empty value");
	io_uring_prep_fgetxattr(sqe(), fd, "user.empty", val, sizeof(val));
	run("fgetxattr empty value");
	io_uring_prep_fsetxattr(sqe(), fd, "user.a", "v", 4, 1);
	run("fsetxattr unknown flag");
	io_uring_prep_fsetxattr(sqe(), fd, "", "v", 0, 1);
	run("fsetxattr empty name");
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[255] = 0;
	io_uring_prep_fsetxattr(sqe(), fd, name, "v", 0, 1);
	run("fsetxattr 255-byte name");
	name[255] = 'n';
	name[256] = 0;
	io_uring_prep_fsetxattr(sqe(), fd, name, "v", 0, 1);
	run("fsetxattr 256-byte name");
	io_uring_prep_fgetxattr(sqe(), fd, name, val, sizeof(val));
	run("fgetxattr 256-byte name");
	io_uring_prep_fsetxattr(sqe(), fd, "user.big", big, 0, 65537);
	run("fsetxattr value over XATTR_SIZE_MAX");
	io_uring_prep_fsetxattr(sqe(), fd, "user.big", BAD_PTR, 0, 4);
	run("fsetxattr bad value pointer");
	io_uring_prep_fsetxattr(sqe(), fd, BAD_PTR, "v", 0, 1);
	run("fsetxattr bad name pointer");
	io_uring_prep_fsetxattr(sqe(), fd, "bogus.a", "v", 0, 1);
	run("fsetxattr unknown namespace");
	io_uring_prep_fgetxattr(sqe(), fd, "user.a", BAD_PTR, 16);
	run("fgetxattr bad value pointer");
	io_uring_prep_fgetxattr(sqe(), fd, "user.a", val, sizeof(val));
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].xattr_flags = 1;
	run("fgetxattr flags");
	io_uring_prep_fgetxattr(sqe(), 9999, "user.a", val, sizeof(val));
	run("fgetxattr bad fd");
	io_uring_prep_fgetxattr(sqe(), 0, "user.a", val, sizeof(val));
	io_uring_sqe_set_flags(r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask),
			       IOSQE_FIXED_FILE);
	run("fgetxattr fixed file");
	io_uring_prep_fgetxattr(sqe(), fd, "user.a", big, 70000);
	run("fgetxattr buffer over XATTR_SIZE_MAX");
	/* an io_uring fd is an anonymous inode: no user.* attributes there */
	io_uring_prep_fgetxattr(sqe(), r.ring_fd, "user.a", val, sizeof(val));
	run("fgetxattr ring fd");
	io_uring_prep_fsetxattr(sqe(), r.ring_fd, "user.a", "v", 0, 1);
	run("fsetxattr ring fd");
	io_uring_prep_fgetxattr(sqe(), r.ring_fd, "trusted.a", val, sizeof(val));
	run("fgetxattr ring fd trusted");

	/* path variants: resolved from the cwd, following symlinks */
	io_uring_prep_setxattr(sqe(), "user.b", "value-b", lpath, 0, 7);
	run("setxattr through symlink");
	memset(val, 0, sizeof(val));
	io_uring_prep_getxattr(sqe(), "user.b", val, path, sizeof(val));
	run("getxattr");
	printf("  value \"%s\"\n", val);
	memset(val, 0, sizeof(val));
	n = getxattr(path, "user.b", val, sizeof(val));
	printf("  getxattr(2): %zd \"%s\"\n", n, n > 0 ? val : "");
	io_uring_prep_getxattr(sqe(), "user.b", val, lpath, 3);
	run("getxattr small buffer");
	io_uring_prep_getxattr(sqe(), "user.none", val, path, sizeof(val));
	run("getxattr missing attribute");
	io_uring_prep_getxattr(sqe(), "user.b", val, "no/such/file", sizeof(val));
	run("getxattr missing file");
	io_uring_prep_getxattr(sqe(), "user.b", val, "", sizeof(val));
	run("getxattr empty path");
	io_uring_prep_getxattr(sqe(), "user.b", val, BAD_PTR, sizeof(val));
	run("getxattr bad path pointer");
	io_uring_prep_setxattr(sqe(), "user.c", "v", "no/such/file", 0, 1);
	run("setxattr missing file");
	io_uring_prep_setxattr(sqe(), "user.c", "v", path, 8, 1);
	run("setxattr unknown flag");
	io_uring_prep_setxattr(sqe(), "user.c", "v", path, XATTR_REPLACE, 1);
	run("setxattr REPLACE missing");
	io_uring_prep_setxattr(sqe(), "user.c", "v", path, 0, 1);
	io_uring_sqe_set_flags(r.sq.sqes + ((r.sq.sqe_tail - 1) & *r.sq.kring_mask),
			       IOSQE_FIXED_FILE);
	run("setxattr fixed file");
	/* sqe->fd plays no part in the path variants */
	io_uring_prep_getxattr(sqe(), "user.b", val, path, sizeof(val));
	r.sq.sqes[(r.sq.sqe_tail - 1) & *r.sq.kring_mask].fd = 9999;
	run("getxattr ignores fd");

	close(fd);
	unlink(lpath);
	unlink(path);
	rmdir(tmpl);
	free(big);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		FAIL("usage: fs_ops DIR");
	if (io_uring_queue_init(8, &r, 0))
		FAIL("init");
	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		FAIL("open %s: %s", argv[1], strerror(errno));
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		FAIL("getcwd");
	if (chdir(argv[1]))
		FAIL("chdir");
	test_rename(dfd);
	test_unlink(dfd);
	test_mkdir(dfd);
	test_symlink(dfd);
	test_link(dfd);
	test_statx(dfd);
	if (chdir(cwd))
		FAIL("chdir back");
	test_xattr();
	io_uring_queue_exit(&r);
	return 0;
}
