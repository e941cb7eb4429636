// The one shim target DESIGN.md allows: Linux system calls glibc does not wrap (migrate_pages among them), or hides
// behind _GNU_SOURCE, which Swift cannot call directly because syscall(2) is variadic.
// Raw calls rather than libnuma's wrappers: libnuma's constructor reads /proc and /sys and
// probes set_mempolicy on every start, which the launcher (measured against numactl) pays
// for nothing. Each returns -1 and sets errno on failure, for SystemCall.check.
#ifndef CLINUX_H
#define CLINUX_H

#include <stddef.h>
#include <sys/types.h>

long clinux_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode);
long clinux_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *addr, unsigned long flags);
long clinux_sched_setaffinity(pid_t pid, size_t size, const unsigned long *mask);
long clinux_sched_getaffinity(pid_t pid, size_t size, unsigned long *mask);
// Returns the number of pages that could not be moved (0 when all moved).
long clinux_migrate_pages(pid_t pid, unsigned long maxnode, const unsigned long *old_nodes, const unsigned long *new_nodes);

#endif
