#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
#include "CLinux.h"

long clinux_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode) {
    return syscall(SYS_set_mempolicy, mode, nodemask, maxnode);
}

long clinux_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *addr, unsigned long flags) {
    return syscall(SYS_get_mempolicy, mode, nodemask, maxnode, addr, flags);
}

long clinux_sched_setaffinity(pid_t pid, size_t size, const unsigned long *mask) {
    return syscall(SYS_sched_setaffinity, pid, size, mask);
}

// The raw call returns the mask size the kernel copied (glibc's wrapper returns 0).
long clinux_sched_getaffinity(pid_t pid, size_t size, unsigned long *mask) {
    return syscall(SYS_sched_getaffinity, pid, size, mask);
}

long clinux_migrate_pages(pid_t pid, unsigned long maxnode, const unsigned long *old_nodes, const unsigned long *new_nodes) {
    return syscall(SYS_migrate_pages, pid, maxnode, old_nodes, new_nodes);
}
