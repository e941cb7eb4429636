// The one shim target DESIGN.md allows: Linux system calls glibc does not wrap (migrate_pages among them), or hides
// behind _GNU_SOURCE, which Swift cannot call directly because syscall(2) is variadic.
// Raw calls rather than libnuma's wrappers: libnuma's constructor reads /proc and /sys and
// probes set_mempolicy on every start, which the launcher (measured against numactl) pays
// for nothing. Each returns -1 and sets errno on failure, for SystemCall.check.
// Masks are the kernel's arrays of unsigned long, spelled uint64_t (CLinux.c asserts they are
// the same width) so Swift hands over IDSet's own [UInt64] words without converting them.
#ifndef CLINUX_H
#define CLINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

long clinux_set_mempolicy(int mode, const uint64_t *nodemask, unsigned long maxnode);
long clinux_get_mempolicy(int *mode, uint64_t *nodemask, unsigned long maxnode, void *addr, unsigned long flags);
long clinux_sched_setaffinity(pid_t pid, size_t size, const uint64_t *mask);
long clinux_sched_getaffinity(pid_t pid, size_t size, uint64_t *mask);
// Restores the default action of one signal with the raw rt_sigaction: glibc's sigaction
// refuses 32 and 33 (kept for its threads), so an ignore inherited on them would otherwise
// survive into the program a launcher execs.
long clinux_default_signal(int signal);
// Returns the number of pages that could not be moved (0 when all moved).
long clinux_migrate_pages(pid_t pid, unsigned long maxnode, const uint64_t *old_nodes, const uint64_t *new_nodes);

// signalfd(2), which Swift's Glibc module does not export: blocks `count` signals for the
// calling thread (and the threads it starts later) and returns a non-blocking, close-on-exec
// descriptor that becomes readable when one arrives, so a poll() loop can take signals
// without a handler. clinux_signalfd_take reads one and returns its number (0 when none
// is pending).
int clinux_signalfd(const int *signals, int count);
int clinux_signalfd_take(int fd);

// openat2(2) (Linux 5.6+) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: opens `path` below
// the directory `dirfd` as if `dirfd` were the root, so absolute symlinks and `..` never
// leave it (HostRoot's confinement of --host-root). -1 with errno ENOSYS on older kernels.
int clinux_openat2_in_root(int dirfd, const char *path, int flags);
// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (glibc declares accept4 only under
// _GNU_SOURCE): the connection arrives non-blocking and close-on-exec in one call, where
// accept(2), which does not pass the listener's flags on, needed three fcntl calls after it.
int clinux_accept_nonblocking(int fd);
// The interface a route to `address` (4 bytes for AF_INET, 16 for AF_INET6) leaves by, as
// numactl's `ip:` finds it: one RTM_GETROUTE on a close-on-exec NETLINK_ROUTE socket, a
// reply of at most 8 KiB waited for at most `timeout_ms`, taken only from the kernel (port
// id 0) with this request's sequence number, its attributes walked within the bytes
// received. Returns the interface index (RTA_OIF); -1 with errno on failure (the kernel's
// own error for a refused lookup, e.g. ENETUNREACH; EPROTO for a reply that is not a
// route; ENODATA for a route without an output interface; EAGAIN on timeout).
int clinux_route_oif(int family, const void *address, int length, int timeout_ms);
// The name of interface `index` (SIOCGIFNAME, as numactl), NUL-terminated in `name`, which
// holds at least 16 bytes (IFNAMSIZ). 0, or -1 with errno.
int clinux_ifname(int index, char *name);

// A thread's capability sets as capget(2)/capset(2) version 3 hold them (two 32-bit words
// each), joined: bit n is capability n. Raw calls rather than libcap: libcap's constructor
// probes PR_CAPBSET_READ for every capability at the start of every process that links it,
// which the launcher (measured against numactl) paid for nothing.
typedef struct {
    uint64_t effective;
    uint64_t permitted;
    uint64_t inheritable;
} clinux_capabilities;
int clinux_capget(clinux_capabilities *sets);
int clinux_capset(const clinux_capabilities *sets);
// prctl(2) is variadic in glibc, so Swift cannot call it: the two calls numaguard makes.
// PR_CAP_AMBIENT_CLEAR_ALL (Linux 4.3+) and PR_SET_NO_NEW_PRIVS (3.5+).
int clinux_clear_ambient_capabilities(void);
int clinux_set_no_new_privs(void);

// Takes out of the environment the SWIFT_BACKTRACE setting BacktracerSetting.c put there for
// the Swift runtime's start-up (nothing if it put none: an operator's own setting, or a
// dynamically linked build). The first call of both executables' main, before anything reads
// the environment or passes it on.
void clinux_restore_environment(void);

// O_PATH, which glibc defines only under _GNU_SOURCE (so Swift does not see it).
extern const int clinux_o_path;
// O_TMPFILE (the same): an unnamed file in a directory, gone at close, so OutputFile.check
// can ask the kernel whether a file could be created there without naming one.
extern const int clinux_o_tmpfile;

#endif
