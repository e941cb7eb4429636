/*
 * probe: tiny workload for the numaguard QEMU harness.
 *
 *   probe [-S] [-P POLICY] [-H HUGE_MB] [-T THP_MB] MB [FILE]
 *
 *   MB        anonymous memory (MiB) mmap'd and touched page by page
 *   FILE      optional: mmap'd read-only (MAP_PRIVATE) and every page read,
 *             creating file-backed page-cache pages visible in numa_maps
 *   -H N      also mmap N MiB with MAP_HUGETLB (2 MiB pages) and touch it;
 *             needs nr_hugepages set beforehand (numa_maps shows "huge")
 *   -T N      also mmap N MiB, madvise(MADV_HUGEPAGE) a 2 MiB-aligned region
 *             and touch it (THP; numa_maps shows kernelpagesize_kB=4 but
 *             AnonHugePages grows in smaps)
 *   -S        after "ready", keep reading one byte of every anonymous page in a
 *             loop instead of sleeping: NUMA balancing only samples tasks that
 *             run, so this is the workload whose pages it migrates when its
 *             CPUs move to another node
 *   -P POL    set_mempolicy(2) before allocating, for policies numactl 2.0.16
 *             cannot set: MODE[+FLAG...][:NODES], MODE one of default, preferred,
 *             bind, interleave, local, preferred-many, weighted-interleave (6.9+);
 *             FLAG one of static, relative, balancing. E.g.
 *             -P weighted-interleave:0-1   -P bind+balancing:1
 *
 * Prints its pid on one line, then "ready" on the next (stdout flushed), and
 * then sleeps in pause() (or, with -S, reads its memory) until killed (SIGTERM). Built with gcc -O2 -static.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static void die(const char *what)
{
    fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void touch(volatile char *p, size_t len, size_t step)
{
    for (size_t i = 0; i < len; i += step)
        p[i] = (char)(i >> 12);
}

static void usage(void)
{
    fprintf(stderr, "usage: probe [-S] [-P POLICY] [-H HUGE_MB] [-T THP_MB] MB [FILE]\n");
    exit(2);
}

static void set_policy(const char *spec)
{
    static const char *modes[] = {"default", "preferred", "bind", "interleave",
                                  "local", "preferred-many", "weighted-interleave"};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *nodes = strchr(buf, ':');
    if (nodes)
        *nodes++ = 0;
    char *save = NULL, *tok = strtok_r(buf, "+", &save);
    int mode = -1;
    for (unsigned i = 0; tok && i < sizeof modes / sizeof *modes; i++)
        if (!strcmp(tok, modes[i]))
            mode = (int)i;
    if (mode < 0) {
        fprintf(stderr, "probe: unknown policy mode in '%s'\n", spec);
        exit(2);
    }
    while ((tok = strtok_r(NULL, "+", &save))) {
        if (!strcmp(tok, "static")) mode |= 1 << 15;
        else if (!strcmp(tok, "relative")) mode |= 1 << 14;
        else if (!strcmp(tok, "balancing")) mode |= 1 << 13;
        else { fprintf(stderr, "probe: unknown policy flag '%s'\n", tok); exit(2); }
    }
    unsigned long mask[16] = {0};
    for (char *r = nodes ? strtok_r(nodes, ",", &save) : NULL; r; r = strtok_r(NULL, ",", &save)) {
        char *end;
        long a = strtol(r, &end, 10), b = a;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        for (long n = a; n <= b && n >= 0 && n < 1024; n++)
            mask[n / (8 * sizeof(long))] |= 1UL << (n % (8 * sizeof(long)));
    }
    if (syscall(SYS_set_mempolicy, mode, nodes ? mask : NULL, nodes ? 1025UL : 0UL) != 0)
        die("set_mempolicy");
}

int main(int argc, char **argv)
{
    long huge_mb = 0, thp_mb = 0;
    int opt, spin = 0;
    while ((opt = getopt(argc, argv, "SP:H:T:")) != -1) {
        switch (opt) {
        case 'S': spin = 1; break;
        case 'P': set_policy(optarg); break;
        case 'H': huge_mb = atol(optarg); break;
        case 'T': thp_mb = atol(optarg); break;
        default: usage();
        }
    }
    if (optind >= argc)
        usage();
    long mb = atol(argv[optind]);
    const char *file = optind + 1 < argc ? argv[optind + 1] : NULL;
    long pg = sysconf(_SC_PAGESIZE);

    volatile char *anon = NULL;
    size_t anon_len = 0;
    if (mb > 0) {
        size_t len = (size_t)mb * MIB;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die("mmap anon");
        touch(p, len, (size_t)pg);
        anon = p;
        anon_len = len;
    }

    if (file) {
        int fd = open(file, O_RDONLY);
        if (fd < 0)
            die(file);
        struct stat st;
        if (fstat(fd, &st) < 0)
            die("fstat");
        if (st.st_size > 0) {
            const volatile char *f = mmap(NULL, (size_t)st.st_size, PROT_READ,
                                          MAP_PRIVATE, fd, 0);
            if (f == MAP_FAILED)
                die("mmap file");
            unsigned long sum = 0;
            for (off_t i = 0; i < st.st_size; i += pg)
                sum += (unsigned char)f[i];
            if (sum == 42) /* keep the reads */
                fputc(' ', stderr);
        }
        close(fd);
    }

    if (huge_mb > 0) {
        size_t len = (size_t)huge_mb * MIB;
        len = (len + 2 * MIB - 1) & ~(2 * MIB - 1);
        char *h = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (h == MAP_FAILED)
            die("mmap MAP_HUGETLB (nr_hugepages set?)");
        touch(h, len, 2 * MIB);
    }

    if (thp_mb > 0) {
        size_t len = (size_t)thp_mb * MIB;
        len = (len + 2 * MIB - 1) & ~(2 * MIB - 1);
        char *t = mmap(NULL, len + 2 * MIB, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (t == MAP_FAILED)
            die("mmap thp");
        char *a = (char *)(((unsigned long)t + 2 * MIB - 1) & ~(2 * MIB - 1));
#ifdef MADV_HUGEPAGE
        madvise(a, len, MADV_HUGEPAGE); /* ENOSYS/EINVAL without THP: ignore */
#endif
        touch(a, len, (size_t)pg);
    }

    printf("%ld\nready\n", (long)getpid());
    fflush(stdout);
    if (spin && anon) {
        unsigned long sum = 0;
        for (;;)
            for (size_t i = 0; i < anon_len; i += (size_t)pg)
                sum += (unsigned char)anon[i];
    }
    for (;;)
        pause();
}
