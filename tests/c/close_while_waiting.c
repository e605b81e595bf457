/* Another thread closes the ring fd while this one waits in io_uring_enter:
 * the ring lives until the wait ends, and the pending timeout still completes. */
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static struct io_uring ring;

static void *closer(void *arg)
{
    usleep(20000);
    printf("close: %d\n", close(ring.ring_fd));
    fflush(stdout);
    return NULL;
}

int main(void)
{
    struct __kernel_timespec ts = {0, 100 * 1000 * 1000};
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    pthread_t t;
    int ret;

    if (io_uring_queue_init(4, &ring, 0))
        return 1;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_timeout(sqe, &ts, 0, 0);
    sqe->user_data = 42;
    io_uring_submit(&ring);
    pthread_create(&t, NULL, closer, NULL);
    ret = io_uring_wait_cqe(&ring, &cqe);
    printf("wait: %d user_data=%llu res=%d\n", ret, ret ? 0ULL : (unsigned long long)cqe->user_data,
           ret ? 0 : cqe->res);
    pthread_join(t, NULL);
    return 0;
}
