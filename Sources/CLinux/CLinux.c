#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
#include "CLinux.h"

_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "the kernel's masks are arrays of unsigned long");

long clinux_set_mempolicy(int mode, const uint64_t *nodemask, unsigned long maxnode) {
    return syscall(SYS_set_mempolicy, mode, nodemask, maxnode);
}

long clinux_get_mempolicy(int *mode, uint64_t *nodemask, unsigned long maxnode, void *addr, unsigned long flags) {
    return syscall(SYS_get_mempolicy, mode, nodemask, maxnode, addr, flags);
}

long clinux_sched_setaffinity(pid_t pid, size_t size, const uint64_t *mask) {
    return syscall(SYS_sched_setaffinity, pid, size, mask);
}

// The raw call returns the mask size the kernel copied (glibc's wrapper returns 0).
long clinux_sched_getaffinity(pid_t pid, size_t size, uint64_t *mask) {
    return syscall(SYS_sched_getaffinity, pid, size, mask);
}
