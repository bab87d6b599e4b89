/*
 * sd_notify(3) without libsystemd: a datagram to the AF_UNIX socket named by $NOTIFY_SOCKET
 * ("/path" or "@abstract"). Messages are "READY=1", "RELOADING=1", "STOPPING=1",
 * "WATCHDOG=1", "STATUS=text" (several may be joined with newlines).
 */
#ifndef DUET_COMMON_NOTIFY_H
#define DUET_COMMON_NOTIFY_H

#include <stdint.h>

/* Sends msg to $NOTIFY_SOCKET. Returns 1 when sent, 0 when $NOTIFY_SOCKET is unset (not
 * under systemd: nothing to do), or a negative errno on failure (bad path, no listener). */
int dc_notify(const char *msg);
/* printf-style dc_notify; the text is cut at 1 KiB. */
int dc_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* $WATCHDOG_USEC when it is meant for this process ($WATCHDOG_PID unset or == getpid()),
 * else 0. */
uint64_t dc_notify_watchdog_usec(void);

#endif
