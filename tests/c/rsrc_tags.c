/* Resource tags (IORING_FEAT_RSRC_TAGS): registered files and buffers with a
 * u64 tag per slot; when a tagged resource leaves its slot (an update or
 * unregister) a CQE carrying the tag comes, but only after the requests that
 * use it have completed.  Prints one line per step. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static struct io_uring ring;

/* Print every CQE waiting now, in order. */
static void drain(const char *what)
{
    struct io_uring_cqe *cqe;
    int n = 0;

    printf("%s:", what);
    while (io_uring_peek_cqe(&ring, &cqe) == 0) {
        printf(" [ud=%llu res=%d flags=%u]", (unsigned long long)cqe->user_data, cqe->res,
               cqe->flags);
        io_uring_cqe_seen(&ring, cqe);
        n++;
    }
    printf("%s\n", n ? "" : " none");
}

int main(void)
{
    struct io_uring_params p = {0};
    int a[2], b[2], c[2];
    static char buf[2][64], rbuf[8];

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (io_uring_queue_init_params(16, &ring, &p))
        return 1;
    printf("FEAT_RSRC_TAGS: %d\n", !!(p.features & IORING_FEAT_RSRC_TAGS));
    pipe(a);
    pipe(b);
    pipe(c);

    /* Files. */
    int fds[2] = {a[0], b[0]};
    __u64 tags[2] = {0, 111};
    printf("register files with tags: %d\n", io_uring_register_files_tags(&ring, fds, tags, 2));
    drain("after register");
    int nfd = c[0];
    __u64 ntag = 222;
    printf("update slot 1 (tag 111) to tag 222: %d\n",
           io_uring_register_files_update_tag(&ring, 1, &nfd, &ntag, 1));
    drain("after update");

    /* A tagged file in use by a request: its tag waits for the request. */
    __u64 t333 = 333;
    printf("slot 0 gets tag 333: %d\n", io_uring_register_files_update_tag(&ring, 0, &a[0], &t333, 1));
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, 0, rbuf, 1, 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    sqe->user_data = 7;
    io_uring_submit(&ring);
    int none = -1;
    __u64 zero = 0;
    printf("slot 0 emptied while the read waits: %d\n",
           io_uring_register_files_update_tag(&ring, 0, &none, &zero, 1));
    drain("while the read waits");
    write(a[1], "x", 1);
    struct io_uring_cqe *cqe;
    io_uring_wait_cqe(&ring, &cqe);       /* the read's CQE, then the tag's */
    drain("after the read completes");

    __u64 bad = 9;
    printf("a tag on an empty slot: %d\n", io_uring_register_files_update_tag(&ring, 0, &none, &bad, 1));
    int skip = IORING_REGISTER_FILES_SKIP;
    printf("a tag on a skipped slot: %d\n", io_uring_register_files_update_tag(&ring, 0, &skip, &bad, 1));
    printf("unregister files: %d\n", io_uring_unregister_files(&ring));
    drain("after unregister");

    /* Buffers. */
    struct iovec iov[2] = {{buf[0], 64}, {buf[1], 64}};
    __u64 btags[2] = {444, 0};
    printf("register buffers with tags: %d\n", io_uring_register_buffers_tags(&ring, iov, btags, 2));
    __u64 b555 = 555;
    printf("update buffer slot 0 (tag 444) to tag 555: %d\n",
           io_uring_register_buffers_update_tag(&ring, 0, &iov[1], &b555, 1));
    drain("after buffer update");
    struct iovec nulliov = {NULL, 0};
    printf("a tag on an empty buffer: %d\n",
           io_uring_register_buffers_update_tag(&ring, 1, &nulliov, &bad, 1));
    printf("unregister buffers: %d\n", io_uring_unregister_buffers(&ring));
    drain("after buffer unregister");
    printf("sparse buffers: %d\n", io_uring_register_buffers_sparse(&ring, 4));
    __u64 b666 = 666;
    printf("fill sparse slot 2: %d\n", io_uring_register_buffers_update_tag(&ring, 2, &iov[0], &b666, 1));
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write_fixed(sqe, b[1], buf[0], 8, 0, 2);
    sqe->user_data = 8;
    io_uring_submit_and_wait(&ring, 1);
    drain("write_fixed from slot 2");
    printf("unregister buffers: %d\n", io_uring_unregister_buffers(&ring));
    drain("after buffer unregister");
    io_uring_queue_exit(&ring);
    return 0;
}
