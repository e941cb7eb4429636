#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/time.h>
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

int clinux_route_oif(int family, const void *address, int length, int timeout_ms) {
    if ((family != AF_INET || length != 4) && (family != AF_INET6 || length != 16)) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    struct {
        struct nlmsghdr header;
        struct rtmsg route;
        char attributes[RTA_SPACE(16)];
    } request;
    memset(&request, 0, sizeof request);
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    request.header.nlmsg_type = RTM_GETROUTE;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = 1;
    request.route.rtm_family = (unsigned char)family;
    request.route.rtm_dst_len = (unsigned char)(length * 8);
    struct rtattr *destination = (struct rtattr *)((char *)&request + NLMSG_ALIGN(request.header.nlmsg_len));
    destination->rta_type = RTA_DST;
    destination->rta_len = (unsigned short)RTA_LENGTH(length);
    memcpy(RTA_DATA(destination), address, (size_t)length);
    request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(destination->rta_len);

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -1;
    struct timeval timeout = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK, .nl_pid = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
        sendto(fd, &request, request.header.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    // Aligned for the headers walked in it; 8 KiB holds any single route reply.
    uint64_t storage[8192 / sizeof(uint64_t)];
    char *buffer = (char *)storage;
    struct sockaddr_nl from;
    socklen_t fromLength = sizeof from;
    ssize_t received;
    do {
        memset(&from, 0, sizeof from);
        fromLength = sizeof from;
        received = recvfrom(fd, buffer, sizeof storage, 0, (struct sockaddr *)&from, &fromLength);
    } while (received < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (received < 0) {
        errno = saved;
        return -1;
    }
    // Only the kernel answers for the kernel.
    if (fromLength < sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0) {
        errno = EPROTO;
        return -1;
    }
    int remaining = (int)received;
    struct nlmsghdr *reply = (struct nlmsghdr *)buffer;
    if (!NLMSG_OK(reply, remaining) || reply->nlmsg_seq != 1) {
        errno = EPROTO;
        return -1;
    }
    if (reply->nlmsg_type == NLMSG_ERROR) {
        if (reply->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
            errno = EPROTO;
            return -1;
        }
        const struct nlmsgerr *failure = (const struct nlmsgerr *)NLMSG_DATA(reply);
        errno = failure->error < 0 ? -failure->error : EPROTO;
        return -1;
    }
    if (reply->nlmsg_type != RTM_NEWROUTE || reply->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg))) {
        errno = EPROTO;
        return -1;
    }
    // RTM_PAYLOAD is bounded by nlmsg_len, which NLMSG_OK kept within the bytes received.
    struct rtattr *attribute = RTM_RTA((struct rtmsg *)NLMSG_DATA(reply));
    int length_left = (int)RTM_PAYLOAD(reply);
    for (; RTA_OK(attribute, length_left); attribute = RTA_NEXT(attribute, length_left)) {
        if (attribute->rta_type == RTA_OIF && RTA_PAYLOAD(attribute) >= sizeof(int)) {
            int index;
            memcpy(&index, RTA_DATA(attribute), sizeof index);
            if (index <= 0) {
                errno = EPROTO;
                return -1;
            }
            return index;
        }
    }
    errno = ENODATA;
    return -1;
}

int clinux_ifname(int index, char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_ifindex = index;
    int result = ioctl(fd, SIOCGIFNAME, &request);
    int saved = errno;
    close(fd);
    if (result < 0) {
        errno = saved;
        return -1;
    }
    memcpy(name, request.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = 0;
    return 0;
}

int clinux_capget(clinux_capabilities *sets) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0)
        return -1;
    sets->effective = (uint64_t)data[1].effective << 32 | data[0].effective;
    sets->permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    sets->inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
    return 0;
}

int clinux_capset(const clinux_capabilities *sets) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
        {(uint32_t)sets->effective, (uint32_t)sets->permitted, (uint32_t)sets->inheritable},
        {(uint32_t)(sets->effective >> 32), (uint32_t)(sets->permitted >> 32), (uint32_t)(sets->inheritable >> 32)},
    };
    return (int)syscall(SYS_capset, &header, data);
}

int clinux_clear_ambient_capabilities(void) {
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int clinux_set_no_new_privs(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}
