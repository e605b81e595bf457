/* The fuzzer's interpreter: runs generated programs (tools/fuzz/gen.py).
 *
 *   interp FILE        FILE holds programs separated by "program NAME" lines;
 *                      each runs in a forked child, in a fresh directory
 *                      ./NAME/, and its output follows a "== NAME" line.
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
    }
    fz_finish(0);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        FAIL("usage: interp FILE");
    FILE *f = fopen(argv[1], "r");
    if (!f)
        FAIL("open %s", argv[1]);
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    char *p = buf;
    while ((p = strstr(p, "program ")) != NULL) {
        char name[64];
        sscanf(p + 8, "%63s", name);
        char *body = strchr(p, '\n');
        if (!body)
            break;
        body++;
        char *next = strstr(body, "\nprogram ");
        size_t len = next ? (size_t)(next + 1 - body) : strlen(body);
        char *text = strndup(body, len);
        p = next ? next + 1 : body + len;
        printf("== %s\n", name);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (mkdir(name, 0755) || chdir(name))
                FAIL("mkdir %s", name);
            alarm(10);
            run_program(text);
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            printf("status %#x\n", st);
        /* What requests left in flight did to the files once the process
         * was gone, as the parent sees it. */
        char path[128];
        snprintf(path, sizeof path, "%s/f0", name);
        printf("after f0 %016llx\n", (unsigned long long)fz_file_hash(path));
        fflush(stdout);
        free(text);
    }
    return 0;
}
