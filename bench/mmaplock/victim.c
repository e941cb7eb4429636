/*
 * victim: a latency-critical process with many mappings that changes its address space
 * on a fixed period, to measure how /proc readers of it delay it (issue 13).
 *
 *   cc -O2 -o victim victim.c
 *   ./victim [MAPPINGS [SECONDS [PERIOD_US]]]     defaults 32768 8 200
 *
 * Setup: one anonymous region of MAPPINGS pages, every page written (resident), every
 * other page made read-only, so the VMAs never merge: MAPPINGS separate mappings.
 * Then prints "PID ready" on stdout and waits for SIGUSR1 (so the reader can start first).
 * Measurement: every PERIOD_US (absolute-time sleep, no drift), one iteration =
 * mmap of one anonymous page + write of one byte (page fault) + munmap, timed with
 * CLOCK_MONOTONIC. mmap and munmap take the mmap lock for writing, the fault takes the
 * VMA lock (or the mmap lock for reading on fallback): a reader holding the mmap lock
 * for reading delays the iteration by as long as it holds it.
 * At the end prints one line:
 *   iters=N p50_us=.. p99_us=.. p999_us=.. max_us=.. over1ms=.. over100us=.. late=.. nivcsw=..
 *   over1ms_blocked=.. over1ms_preempted=.. over1ms_stolen=.. over1ms_running=..
 * late = iterations whose start was more than one period behind schedule (the process
 * itself was descheduled, not blocked in the lock: a sign of CPU contention).
 * nivcsw = involuntary context switches during the measurement (getrusage): times a task
 * of higher priority (an RT kernel thread, under SCHED_FIFO) took the CPU from it.
 * Each iteration over 1 ms is put in one class, from the thread's context switches
 * (getrusage) and CPU time (CLOCK_THREAD_CPUTIME_ID) read around it, outside its timed part:
 *   blocked    it slept (a voluntary switch): waiting for a lock, such as its mmap lock
 *              held by a reader (a writer spins on a reader-held lock for at most a few
 *              hundred µs, then sleeps);
 *   preempted  a higher-priority task took the CPU (an involuntary switch);
 *   stolen     no switch, and it got under half the iteration as CPU time: its vCPU was not
 *              running (hypervisor steal, excluded from task time with
 *              CONFIG_PARAVIRT_TIME_ACCOUNTING);
 *   running    no switch, on CPU most of the time: kernel work in its own context, or
 *              interrupts (charged to it without CONFIG_IRQ_TIME_ACCOUNTING).
 * With DUMP=path in the environment, every latency (ns) is also written there, one a line.
 * With SLOW=path, every iteration over 100 µs is written there as "START_NS LATENCY_NS CLASS"
 * (START on CLOCK_MONOTONIC, as perf -k CLOCK_MONOTONIC stamps events; CLASS one of the
 * above, or "-" when under 1 ms), to match stalls with what happened at that moment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const int64_t *sorted, long n, double p) {
    long i = (long)(p * (double)(n - 1) + 0.5);
    if (i >= n) i = n - 1;
    return (double)sorted[i] / 1000.0;
}

int main(int argc, char **argv) {
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 32768;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 8.0;
    long period_us = argc > 3 ? strtol(argv[3], NULL, 10) : 200;
    long page = sysconf(_SC_PAGESIZE);
    if (count < 2 || seconds <= 0 || period_us <= 0) {
        fprintf(stderr, "usage: victim [MAPPINGS>=2 [SECONDS [PERIOD_US]]]\n");
        return 64;
    }

    char *base = mmap(NULL, (size_t)count * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) { perror("victim: mmap"); return 1; }
    madvise(base, (size_t)count * page, MADV_NOHUGEPAGE);
    for (long i = 0; i < count; i++) base[i * page] = (char)i;
    for (long i = 1; i < count; i += 2) {
        if (mprotect(base + i * page, page, PROT_READ) != 0) {
            perror("victim: mprotect (vm.max_map_count too low?)");
            return 1;
        }
    }

    long max_iters = (long)(seconds * 1e6 / (double)period_us) + 1;
    int64_t *lat = calloc((size_t)max_iters, sizeof *lat);
    int64_t *start = calloc((size_t)max_iters, sizeof *start);
    char *class = calloc((size_t)max_iters, 1);
    if (!lat || !start || !class) { perror("victim: calloc"); return 1; }
    /* Fault the sample buffers in now, not during the measurement. */
    memset(lat, 0, (size_t)max_iters * sizeof *lat);
    memset(start, 0, (size_t)max_iters * sizeof *start);
    memset(class, '-', (size_t)max_iters);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("%ld ready\n", (long)getpid());
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);

    struct rusage ru0, ru1, before, after;
    struct timespec cpu0, cpu1;
    getrusage(RUSAGE_SELF, &ru0);
    long n = 0, late = 0, blocked = 0, preempted = 0, stolen = 0, running = 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    int64_t end = now_ns() + (int64_t)(seconds * 1e9);
    for (;;) {
        next.tv_nsec += period_us * 1000;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
        int64_t sched = (int64_t)next.tv_sec * 1000000000LL + next.tv_nsec;
        int64_t t0 = now_ns();
        if (t0 >= end || n >= max_iters) break;
        if (t0 - sched > period_us * 1000LL) {
            late++;
            /* Behind schedule: restart the schedule from now instead of bursting to catch up. */
            clock_gettime(CLOCK_MONOTONIC, &next);
        }
        getrusage(RUSAGE_THREAD, &before);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
        t0 = now_ns();
        volatile char *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("victim: mmap in loop"); return 1; }
        p[0] = 1;
        munmap((void *)p, (size_t)page);
        lat[n] = now_ns() - t0;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
        getrusage(RUSAGE_THREAD, &after);
        start[n] = t0;
        if (lat[n] > 1000000) {
            int64_t on_cpu = ((int64_t)cpu1.tv_sec - cpu0.tv_sec) * 1000000000LL + (cpu1.tv_nsec - cpu0.tv_nsec);
            if (after.ru_nvcsw > before.ru_nvcsw) { blocked++; class[n] = 'b'; }
            else if (after.ru_nivcsw > before.ru_nivcsw) { preempted++; class[n] = 'p'; }
            else if (on_cpu < lat[n] / 2) { stolen++; class[n] = 's'; }
            else { running++; class[n] = 'r'; }
        }
        n++;
    }

    getrusage(RUSAGE_SELF, &ru1);

    const char *dump = getenv("DUMP");
    if (dump && *dump) {
        FILE *f = fopen(dump, "w");
        if (f) {
            for (long i = 0; i < n; i++) fprintf(f, "%lld\n", (long long)lat[i]);
            fclose(f);
        }
    }
    const char *slow = getenv("SLOW");
    if (slow && *slow) {
        FILE *f = fopen(slow, "w");
        if (f) {
            static const char *names[] = {['b'] = "blocked", ['p'] = "preempted", ['s'] = "stolen", ['r'] = "running", ['-'] = "-"};
            for (long i = 0; i < n; i++)
                if (lat[i] > 100000) fprintf(f, "%lld %lld %s\n", (long long)start[i], (long long)lat[i], names[(unsigned char)class[i]]);
            fclose(f);
        }
    }
    long over1ms = 0, over100us = 0;
    for (long i = 0; i < n; i++) {
        if (lat[i] > 1000000) over1ms++;
        if (lat[i] > 100000) over100us++;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp64);
    printf("iters=%ld p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f over1ms=%ld over100us=%ld late=%ld nivcsw=%ld"
           " over1ms_blocked=%ld over1ms_preempted=%ld over1ms_stolen=%ld over1ms_running=%ld\n",
           n, pct(lat, n, 0.50), pct(lat, n, 0.99), pct(lat, n, 0.999), n ? (double)lat[n - 1] / 1000.0 : 0.0,
           over1ms, over100us, late, ru1.ru_nivcsw - ru0.ru_nivcsw, blocked, preempted, stolen, running);
    return 0;
}
