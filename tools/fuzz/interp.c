/* The fuzzer's interpreter: runs generated programs (tools/fuzz/gen.py).
 *
 *   interp [-j N] FILE FILE holds programs separated by "program NAME" lines;
 *                      each runs in a forked child, in a fresh directory
 *                      ./NAME/, up to N at once (default 1), and its output
 *                      follows a "== NAME" line, in program order.
 * Steps, one per line (see tests/c/fuzzlib.h):
 *   setup ENTRIES FLAGS CQ_ENTRIES
 *   sqe OP FLAGS IOPRIO FD OFF ADDR LEN RW_FLAGS UD BUF_INDEX PERSONALITY SPLICE_FD_IN ADDR3
 *   submit TO_SUBMIT MIN_COMPLETE FLAGS
 *   reap QUIET_MS
 *   register OPCODE ARG NR
 *   scribble KIND VALUE
 *   write FD N
 *   exit            (with requests in flight)
 */
#include "../../tests/c/fuzzlib.h"
#include <sys/wait.h>

/* FUZZ_SETTLE_MS=N: sleep N ms after every step, so that work Linux does
 * asynchronously (io-wq workers, task work) has finished before the next
 * step; fuzz.py uses it to show a divergence is only that timing. */
static int settle_ms;

static void run_program(char *text)
{
    char *save, *line;
    fz_init();
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long long a[13] = { 0 };
        char cmd[16] = "", *tok, *tsave;
        int n = 0;
        for (tok = strtok_r(line, " ", &tsave); tok; tok = strtok_r(NULL, " ", &tsave)) {
            if (n == 0)
                snprintf(cmd, sizeof cmd, "%s", tok);
            else if (n <= 13)   /* full 64-bit patterns: negative or unsigned */
                a[n - 1] = tok[0] == '-' ? strtoll(tok, NULL, 0) : (long long)strtoull(tok, NULL, 0);
            n++;
        }
        if (n < 1)
            continue;
        if (!strcmp(cmd, "setup"))
            fz_setup(a[0], a[1], a[2]);
        else if (!strcmp(cmd, "sqe"))
            fz_sqe(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]);
        else if (!strcmp(cmd, "submit"))
            fz_submit(a[0], a[1], a[2]);
        else if (!strcmp(cmd, "reap"))
            fz_reap(a[0]);
        else if (!strcmp(cmd, "register"))
            fz_register(a[0], a[1], a[2]);
        else if (!strcmp(cmd, "scribble"))
            fz_scribble(a[0], a[1]);
        else if (!strcmp(cmd, "write"))
            fz_write(a[0], a[1]);
        else if (!strcmp(cmd, "exit"))
            fz_finish(1);
        if (settle_ms && strcmp(cmd, "sqe"))
            usleep(settle_ms * 1000);
    }
    fz_finish(0);
}

#define MAXPROGS 4096

static char *names[MAXPROGS], *texts[MAXPROGS];
static int statuses[MAXPROGS];
static unsigned long long afters[MAXPROGS];

/* Reap one child of the running set: its status, and what requests left in
 * flight did to the files once the process was gone, as the parent sees it. */
static void reap_one(pid_t *pids, int *running, int n)
{
    int st;
    pid_t pid = waitpid(-1, &st, 0);
    if (pid < 0)
        FAIL("waitpid");
    for (int i = 0; i < n; i++)
        if (pids[i] == pid) {
            statuses[i] = st;
            char path[128];
            snprintf(path, sizeof path, "%s/f0", names[i]);
            afters[i] = fz_file_hash(path);
            pids[i] = 0;
            (*running)--;
            return;
        }
}

int main(int argc, char **argv)
{
    /* -j N: run up to N programs at once (each its own process, directory,
     * ring and output file).  The programs mostly wait -- for CQEs, for
     * quiet periods -- so they overlap well; the output is in program order
     * either way. */
    int par = 1;
    if (getenv("FUZZ_SETTLE_MS"))
        settle_ms = atoi(getenv("FUZZ_SETTLE_MS"));
    if (argc > 3 && !strcmp(argv[1], "-j")) {
        par = atoi(argv[2]);
        argv += 2;
        argc -= 2;
    }
    if (argc < 2 || par < 1)
        FAIL("usage: interp [-j N] FILE");
    FILE *f = fopen(argv[1], "r");
    if (!f)
        FAIL("open %s", argv[1]);
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    int nprog = 0;
    char *p = buf;
    while ((p = strstr(p, "program ")) != NULL && nprog < MAXPROGS) {
        char name[64];
        sscanf(p + 8, "%63s", name);
        char *body = strchr(p, '\n');
        if (!body)
            break;
        body++;
        char *next = strstr(body, "\nprogram ");
        size_t len = next ? (size_t)(next + 1 - body) : strlen(body);
        names[nprog] = strdup(name);
        texts[nprog++] = strndup(body, len);
        p = next ? next + 1 : body + len;
    }
    static pid_t pids[MAXPROGS];
    int running = 0;
    for (int i = 0; i < nprog; i++) {
        while (running >= par)
            reap_one(pids, &running, nprog);
        char out[128];
        snprintf(out, sizeof out, "%s.out", names[i]);
        pid_t pid = fork();
        if (pid < 0)
            FAIL("fork");
        if (pid == 0) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0)
                FAIL("open %s", out);
            close(fd);
            if (mkdir(names[i], 0755) || chdir(names[i]))
                FAIL("mkdir %s", names[i]);
            setvbuf(stdout, NULL, _IOFBF, 1 << 16);
            /* A guard against a hang; programs sharing the machine (and,
             * sandboxed, one Sentry) with others at once get longer. */
            alarm(par > 1 ? 30 : 10);
            run_program(texts[i]);
            fflush(stdout);
            _exit(0);
        }
        pids[i] = pid;
        running++;
    }
    while (running)
        reap_one(pids, &running, nprog);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    for (int i = 0; i < nprog; i++) {
        char out[128], line[4096];
        snprintf(out, sizeof out, "%s.out", names[i]);
        printf("== %s\n", names[i]);
        FILE *o = fopen(out, "r");
        while (o && fgets(line, sizeof line, o))
            fputs(line, stdout);
        if (o)
            fclose(o);
        int st = statuses[i];
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            printf("status %#x\n", st);
        printf("after f0 %016llx\n", afters[i]);
    }
    fflush(stdout);
    return 0;
}
