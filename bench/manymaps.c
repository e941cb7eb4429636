/*
 * manymaps: a process with many separate, resident mappings, for the inspect bench.
 *
 *   cc -O2 -o manymaps bench/manymaps.c && ./manymaps [MAPPINGS [alike|varied|distinct]]   (default 32768 alike)
 *
 * Maps one anonymous region, writes every page (so each has a resident, dirty page on some
 * node), then makes every other VMA read-only. Adjacent VMAs with different protections are
 * never merged, so /proc/PID/numa_maps gets one line per VMA plus the usual libc/stack lines.
 * alike: every VMA is one page, so the lines differ only in their addresses (runs of alike
 * mappings: numaguard does not parse again a line that repeats the one before).
 * varied: VMA i is 1 + i % 4 pages, so no line repeats its neighbour after the address (each
 * repeats the line four before it: numaguard remembers the last nine lines it parsed).
 * distinct: VMA i is 1 + i % 4 pages under memory policy i % 5 (default, preferred, bind,
 * interleave, local; all on node 0, set by mbind before the pages are touched), so no line
 * repeats any of the nineteen before it after the address: every line is parsed in full, its
 * policy included.
 * Prints "PID ready" on stdout, then sleeps until killed.
 * Needs vm.max_map_count above MAPPINGS (Linux default 65530).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 32768;
    int distinct = argc > 2 && strcmp(argv[2], "distinct") == 0;
    int varied = distinct || (argc > 2 && strcmp(argv[2], "varied") == 0);
    if (argc > 2 && !varied && strcmp(argv[2], "alike") != 0) {
        fprintf(stderr, "manymaps: the shape is alike, varied or distinct, not %s\n", argv[2]);
        return 64;
    }
    long page = sysconf(_SC_PAGESIZE);
    if (count < 2) {
        fprintf(stderr, "manymaps: MAPPINGS must be at least 2\n");
        return 64;
    }
    long pages = 0;
    for (long i = 0; i < count; i++) pages += varied ? 1 + i % 4 : 1;
    char *base = mmap(NULL, (size_t)pages * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        perror("manymaps: mmap");
        return 1;
    }
    /* No THP: a huge page would cover 512 of our pages and the split would be the kernel's choice. */
    madvise(base, (size_t)pages * page, MADV_NOHUGEPAGE);
    if (distinct) {
        /* Policies before the first touch, VMA by VMA (each mbind splits the mapping there). */
        static const int modes[5] = {0, 1, 2, 3, 4}; /* default, preferred, bind, interleave, local */
        unsigned long node0 = 1;
        long offset = 0;
        for (long i = 0; i < count; i++) {
            long size = 1 + i % 4;
            int mode = modes[i % 5];
            int empty = mode == 0 || mode == 4;
            if (syscall(SYS_mbind, base + offset * page, (size_t)size * page, mode,
                        empty ? NULL : &node0, empty ? 0 : 64, 0) != 0) {
                perror("manymaps: mbind");
                return 1;
            }
            offset += size;
        }
    }
    for (long i = 0; i < pages; i++) base[i * page] = (char)i;
    long offset = 0;
    for (long i = 0; i < count; i++) {
        long size = varied ? 1 + i % 4 : 1;
        if (i % 2 == 1 && mprotect(base + offset * page, (size_t)size * page, PROT_READ) != 0) {
            perror("manymaps: mprotect (raise vm.max_map_count?)");
            return 1;
        }
        offset += size;
    }
    printf("%ld ready\n", (long)getpid());
    fflush(stdout);
    for (;;) pause();
}
