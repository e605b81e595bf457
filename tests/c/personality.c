/* Registered personalities and IORING_FEAT_CUR_PERSONALITY: requests run with
 * the submitter's current credentials, or with a registered set named in
 * sqe->personality.  Run as root: the program drops to uid/gid 65534 with
 * seteuid/setegid and checks what each credential set may do. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

static struct io_uring ring;

static int run(struct io_uring_sqe *sqe, int personality)
{
    struct io_uring_cqe *cqe;
    int res;

    sqe->personality = personality;
    sqe->user_data = 77;
    io_uring_submit_and_wait(&ring, 1);
    if (io_uring_peek_cqe(&ring, &cqe))
        return -1000;
    res = cqe->user_data == 77 ? cqe->res : -2000;
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

static int do_open(int personality, const char *path, int direct)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (direct)
        io_uring_prep_openat_direct(sqe, AT_FDCWD, path, O_RDONLY, 0, 0);
    else
        io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
    return run(sqe, personality);
}

static int do_mkdir(int personality, const char *path)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_mkdirat(sqe, AT_FDCWD, path, 0755);
    return run(sqe, personality);
}

static int do_statx(int personality, const char *path)
{
    static struct statx stx;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_statx(sqe, AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx);
    return run(sqe, personality);
}

static int do_unlink(int personality, const char *path, int flags)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_unlinkat(sqe, AT_FDCWD, path, flags);
    return run(sqe, personality);
}

static void show(const char *what, int res)
{
    /* An fd number is not the point: report success as "fd". */
    if (res >= 0 && strstr(what, "open") && !strstr(what, "direct"))
        printf("%s: fd\n", what);
    else
        printf("%s: %d\n", what, res);
}

int main(int argc, char **argv)
{
    struct io_uring_params p = {0};
    int root_id, other_id, id, fd, ret;

    /* argv[1]: a directory everyone may search, to work in */
    if (argc < 2 || chdir(argv[1]))
        return 1;
    if (io_uring_queue_init_params(4, &ring, &p))
        return 1;
    printf("FEAT_CUR_PERSONALITY: %d\n", !!(p.features & IORING_FEAT_CUR_PERSONALITY));
    io_uring_register_files_sparse(&ring, 2);

    /* A private directory only root may enter, with a file in it. */
    mkdir("pers.dir", 0700);
    fd = open("pers.dir/secret", O_CREAT | O_WRONLY, 0600);
    close(fd);
    fd = open("pers.secret", O_CREAT | O_WRONLY, 0600);
    close(fd);

    root_id = io_uring_register_personality(&ring);
    other_id = io_uring_register_personality(&ring);
    printf("ids: %d %d\n", root_id, other_id);
    printf("unregister %d: %d\n", other_id, io_uring_unregister_personality(&ring, other_id));
    printf("unregister again: %d\n", io_uring_unregister_personality(&ring, other_id));
    id = io_uring_register_personality(&ring);
    printf("next id is cyclic: %d\n", id);
    io_uring_unregister_personality(&ring, id);
    ret = syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_PERSONALITY, &p, 0);
    printf("register with an argument: %d\n", ret < 0 ? -errno : ret);
    show("open, unknown personality", do_open(999, "pers.secret", 0));

    if (setegid(NOBODY) || seteuid(NOBODY)) {
        printf("cannot drop to nobody\n");
        return 1;
    }
    show("as nobody: open secret", do_open(0, "pers.secret", 0));
    show("as nobody: open secret with root personality", do_open(root_id, "pers.secret", 0));
    show("as nobody: open direct", do_open(0, "pers.secret", 1));
    show("as nobody: open direct with root personality", do_open(root_id, "pers.secret", 1));
    show("as nobody: statx in private dir", do_statx(0, "pers.dir/secret"));
    show("as nobody: statx in private dir with root personality",
         do_statx(root_id, "pers.dir/secret"));
    show("as nobody: mkdir in private dir", do_mkdir(0, "pers.dir/sub"));
    show("as nobody: mkdir in private dir with root personality",
         do_mkdir(root_id, "pers.dir/sub"));
    show("as nobody: unlink in private dir", do_unlink(0, "pers.dir/sub", AT_REMOVEDIR));

    /* A personality registered as nobody keeps nobody's rights after the
     * thread is root again. */
    id = io_uring_register_personality(&ring);
    if (seteuid(0) || setegid(0))
        return 1;
    show("as root: open secret", do_open(0, "pers.secret", 0));
    show("as root: open secret with nobody personality", do_open(id, "pers.secret", 0));
    show("as root: unlink in private dir with nobody personality",
         do_unlink(id, "pers.dir/sub", AT_REMOVEDIR));
    show("as root: unlink in private dir", do_unlink(0, "pers.dir/sub", AT_REMOVEDIR));

    unlink("pers.dir/secret");
    rmdir("pers.dir");
    unlink("pers.secret");
    return 0;
}
