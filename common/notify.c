#include "common/notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Fills addr from a $NOTIFY_SOCKET value and returns the address length to pass to sendto(),
 * or a negative errno. "@name" is Linux's abstract namespace: sun_path starts with a NUL and
 * the length covers only the bytes used, because the kernel compares abstract names as byte
 * strings of exactly that length (trailing NULs would make it a different name). A path is
 * given NUL-terminated, as systemd does.
 */
static int
notify_addr(const char *path, struct sockaddr_un *addr, socklen_t *len)
{
    size_t n = strlen(path);
    if (n < 2 || (path[0] != '/' && path[0] != '@'))
        return -EINVAL;
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (path[0] == '@') {
        if (n > sizeof(addr->sun_path))
            return -ENAMETOOLONG;
        memcpy(addr->sun_path + 1, path + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        if (n >= sizeof(addr->sun_path))
            return -ENAMETOOLONG;
        memcpy(addr->sun_path, path, n + 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

/*
 * A new socket per message: notifications are rare (start, reload, stop, a watchdog ping
 * every few seconds), and keeping no fd means nothing to inherit, close or share between
 * threads. SOCK_CLOEXEC keeps the fd out of anything we exec.
 */
int
dc_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || *path == '\0')
        return 0;
    struct sockaddr_un addr;
    socklen_t len;
    int err = notify_addr(path, &addr, &len);
    if (err < 0)
        return err;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    size_t n = strlen(msg);
    ssize_t sent;
    do {
        sent = sendto(fd, msg, n, MSG_NOSIGNAL, (const struct sockaddr *)&addr, len);
    } while (sent < 0 && errno == EINTR);
    err = sent < 0 ? -errno : 0;
    close(fd);
    if (err < 0)
        return err;
    /* A datagram is sent whole or not at all; a short count would be a kernel surprise. */
    return (size_t)sent == n ? 1 : -EMSGSIZE;
}

int
dc_notifyf(const char *fmt, ...)
{
    char buf[1025];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    return dc_notify(buf);
}

/* Parses a whole decimal string; false on anything else (empty, sign, junk, overflow). */
static bool
parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

/*
 * systemd sets $WATCHDOG_PID so that a child the service forks (which inherits the
 * environment) does not believe the watchdog is its own; sd_watchdog_enabled(3) checks it
 * the same way.
 */
uint64_t
dc_notify_watchdog_usec(void)
{
    uint64_t usec, pid;
    if (!parse_u64(getenv("WATCHDOG_USEC"), &usec) || usec == 0)
        return 0;
    const char *p = getenv("WATCHDOG_PID");
    if (p != NULL && *p != '\0') {
        if (!parse_u64(p, &pid) || pid != (uint64_t)getpid())
            return 0;
    }
    return usec;
}
