#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CLinux.h"

// The static build's libc may predate openat2: its number is 437 on every architecture
// (the generic syscall table), and the argument is the kernel's struct open_how.
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
struct clinux_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#define CLINUX_RESOLVE_NO_MAGICLINKS 0x02
#define CLINUX_RESOLVE_IN_ROOT 0x10

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

long clinux_default_signal(int signal) {
    // SIG_DFL is 0, so an all-zero kernel sigaction (handler, flags, restorer, mask) is the
    // default action on every architecture's layout; 8 is the kernel's sigset size.
    unsigned long action[4] = {0, 0, 0, 0};
    _Static_assert(SIG_DFL == 0, "SIG_DFL is the zero handler");
    return syscall(SYS_rt_sigaction, signal, action, NULL, 8);
}

int clinux_signalfd(const int *signals, int count) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int i = 0; i < count; i++)
        sigaddset(&mask, signals[i]);
    int error = pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int clinux_signalfd_take(int fd) {
    struct signalfd_siginfo info;
    ssize_t count = read(fd, &info, sizeof info);
    if (count == (ssize_t)sizeof info)
        return (int)info.ssi_signo;
    if (count < 0 && errno == EAGAIN)
        return 0;
    if (count >= 0)
        errno = EIO;
    return -1;
}

long clinux_migrate_pages(pid_t pid, unsigned long maxnode, const uint64_t *old_nodes, const uint64_t *new_nodes) {
    return syscall(SYS_migrate_pages, pid, maxnode, old_nodes, new_nodes);
}

int clinux_openat2_in_root(int dirfd, const char *path, int flags) {
    struct clinux_open_how how = {
        .flags = (uint64_t)(unsigned int)flags,
        .mode = 0,
        .resolve = CLINUX_RESOLVE_IN_ROOT | CLINUX_RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int clinux_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

const int clinux_o_path = O_PATH;
const int clinux_o_tmpfile = O_TMPFILE;
