/*
 * manymaps: a process with many separate, resident mappings, for the inspect bench.
 *
 *   cc -O2 -o manymaps bench/manymaps.c && ./manymaps [MAPPINGS]   (default 32768)
 *
 * Maps one anonymous region of MAPPINGS pages, writes every page (so each has a resident,
 * dirty page on some node), then makes every other page read-only. Adjacent VMAs with
 * different protections are never merged, so /proc/PID/numa_maps gets one line per page
 * plus the usual libc/stack lines. Prints "PID ready" on stdout, then sleeps until killed.
 * Needs vm.max_map_count above MAPPINGS (Linux default 65530).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 32768;
    long page = sysconf(_SC_PAGESIZE);
    if (count < 2) {
        fprintf(stderr, "manymaps: MAPPINGS must be at least 2\n");
        return 64;
    }
    char *base = mmap(NULL, (size_t)count * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        perror("manymaps: mmap");
        return 1;
    }
    /* No THP: a huge page would cover 512 of our pages and the split would be the kernel's choice. */
    madvise(base, (size_t)count * page, MADV_NOHUGEPAGE);
    for (long i = 0; i < count; i++) base[i * page] = (char)i;
    for (long i = 1; i < count; i += 2) {
        if (mprotect(base + i * page, page, PROT_READ) != 0) {
            perror("manymaps: mprotect (raise vm.max_map_count?)");
            return 1;
        }
    }
    printf("%ld ready\n", (long)getpid());
    fflush(stdout);
    for (;;) pause();
}
