/*
 * reader: reads one /proc/PID file of a target at a fixed rate, the way a monitor would.
 *
 *   cc -O2 -o reader reader.c
 *   ./reader PID FILE HZ [BUFSIZE [MAXREADS]]
 *
 * FILE is relative to /proc/PID ("numa_maps", "task/1234/stat", ...); "exe" is read with
 * readlink(2), everything else with open + read(BUFSIZE) until EOF + close. BUFSIZE
 * defaults to 131072 (what cat uses; numaguard streams with 262144): seq_file files take
 * and drop their locks once per read(2), so the buffer size bounds one lock hold.
 * HZ 0 = as fast as possible. Runs until SIGTERM/SIGINT, until the target is gone or
 * (MAXREADS > 0) after MAXREADS reads (MAXREADS 0 = unbounded; -1 = none at all, for the
 * lock-count baseline of lockcount.sh), then
 * prints one line:  reads=N mean_us=.. max_us=.. bytes=..   (per open..close of the file;
 * bytes = the largest single read of the whole file)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: reader PID FILE HZ [BUFSIZE [MAXREADS]]\n");
        return 64;
    }
    long pid = strtol(argv[1], NULL, 10);
    const char *file = argv[2];
    double hz = strtod(argv[3], NULL);
    size_t bufsize = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : 131072;
    long maxreads = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
    if (bufsize == 0) bufsize = 131072;
    char path[512];
    snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
    int is_link = strcmp(file, "exe") == 0 || strcmp(file, "cwd") == 0 || strcmp(file, "root") == 0;
    char *buf = malloc(bufsize);
    if (!buf) return 1;
    memset(buf, 0, bufsize);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    long reads = 0;
    int64_t total = 0, worst = 0;
    long long bytes = 0;
    int64_t period = hz > 0 ? (int64_t)(1e9 / hz) : 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!stop && maxreads >= 0 && (maxreads == 0 || reads < maxreads)) {
        int64_t t0 = now_ns();
        long got = 0;
        if (is_link) {
            ssize_t r = readlink(path, buf, bufsize);
            if (r < 0) { if (errno == ENOENT || errno == ESRCH) break; }
            else got = r;
        } else {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) break;
            for (;;) {
                ssize_t r = read(fd, buf, bufsize);
                if (r < 0 && errno == EINTR) { if (stop) break; continue; }
                if (r <= 0) break;
                got += r;
            }
            close(fd);
        }
        int64_t d = now_ns() - t0;
        if (kill((pid_t)pid, 0) != 0) break;
        reads++;
        total += d;
        if (d > worst) worst = d;
        if (got > bytes) bytes = got; /* the largest read: the last may find the mm gone */
        if (period) {
            next.tv_nsec += period % 1000000000LL;
            next.tv_sec += period / 1000000000LL;
            while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
            while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
        }
    }
    printf("reads=%ld mean_us=%.1f max_us=%.1f bytes=%lld\n", reads,
           reads ? (double)total / 1000.0 / (double)reads : 0.0, (double)worst / 1000.0, bytes);
    return 0;
}
