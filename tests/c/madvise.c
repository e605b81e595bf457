/* IORING_OP_MADVISE acts on the submitter's own memory. */
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static struct io_uring ring;

static int advise(const char *what, void *addr, unsigned len, int advice)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    struct io_uring_cqe *cqe;
    int res;
    io_uring_prep_madvise(sqe, addr, len, advice);
    sqe->user_data = 5;
    if (io_uring_submit_and_wait(&ring, 1) != 1 || io_uring_wait_cqe(&ring, &cqe))
        return -1000;
    res = cqe->res;
    printf("%s: user_data=%llu res=%d\n", what, (unsigned long long)cqe->user_data, res);
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

int main(void)
{
    char *p;
    if (io_uring_queue_init(4, &ring, 0))
        return 1;
    p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 'a', 8192);
    advise("dontneed", p, 4096, MADV_DONTNEED);
    printf("after dontneed: first page %d, second page %c\n", p[0], p[4096]);
    advise("willneed", p, 8192, MADV_WILLNEED);
    advise("bad advice", p, 4096, 12345);
    advise("unaligned", p + 1, 4096, MADV_DONTNEED);
    advise("unmapped", (void *)4096, 4096, MADV_WILLNEED);
    io_uring_queue_exit(&ring);
    return 0;
}
