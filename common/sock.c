#include "common/sock.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* Kernel limits: TCP_KEEPIDLE and TCP_KEEPINTVL take 1..32767 s, TCP_KEEPCNT 1..127. */
#define KEEP_SECS_MAX 32767
#define KEEP_CNT_MAX  127
/* SO_LINGER: a longer wait than this is a mistake, not a setting. */
#define LINGER_MAX_S 3600

#define CONTAINER_OF(p, T, field) ((T *)(void *)((char *)(p)-offsetof(T, field)))

void
dc_sock_opts_init(struct dc_sock_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->linger_mode = DC_LINGER_OFF;
    o->backlog = 511;
}

/* The kernel takes these knobs in whole seconds; a fraction rounds up so "500ms" is not
 * silently turned into 0, which means "off" or "kernel default" to every one of them. */
static int
ms_to_s(int64_t ms)
{
    int64_t s = ms <= 0 ? 0 : (ms + 999) / 1000;
    return s > INT_MAX ? INT_MAX : (int)s;
}

/*
 * linger = off | 0 | <duration>. "0" is its own word because it does something different
 * from any positive time: close() sends RST at once and leaves no TIME_WAIT behind. A
 * positive time makes close() wait for unsent data that long; note that Linux waits in
 * close() even on a non-blocking socket, so a loop thread closing such a socket can stall.
 */
static int
parse_linger(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    struct dc_sock_opts *o = CONTAINER_OF(field, struct dc_sock_opts, linger_mode);
    int64_t ms;

    if (strcmp(value, "off") == 0) {
        o->linger_mode = DC_LINGER_OFF;
        o->linger_s = 0;
        return 0;
    }
    if (dc_conf_parse_duration(value, &ms) < 0) {
        dc_conf_error(ctx, "linger: '%s' is not off, 0 or a duration (e.g. linger = 5s)", value);
        return -1;
    }
    if (ms > (int64_t)LINGER_MAX_S * 1000) {
        dc_conf_error(ctx, "linger: %s is out of range (0 to %ds)", value, LINGER_MAX_S);
        return -1;
    }
    o->linger_mode = DC_LINGER_ON;
    o->linger_s = ms_to_s(ms);
    return 0;
}

/* One idle or interval part of keepalive-probes: a duration of 1..32767 s, a fraction of a
 * second rounding up like every other second-granular knob here. */
static int
parse_keep_secs(struct dc_conf_ctx *ctx, const char *what, const char *part, const char *value,
                int64_t *out)
{
    int64_t ms;
    if (dc_conf_parse_duration(part, &ms) < 0) {
        dc_conf_error(ctx, "keepalive-probes: %s '%s' in '%s' is not a duration (e.g. 60s)", what,
                      part, value);
        return -1;
    }
    if (ms < 1 || ms > (int64_t)KEEP_SECS_MAX * 1000) {
        dc_conf_error(ctx, "keepalive-probes: %s '%s' in '%s' is out of range (1s to %ds)", what,
                      part, value, KEEP_SECS_MAX);
        return -1;
    }
    *out = ms_to_s(ms);
    return 0;
}

/* keepalive-probes = off | idle:interval:count, as in "60s:10s:5". */
static int
parse_keepalive(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    struct dc_sock_opts *o = CONTAINER_OF(field, struct dc_sock_opts, keepalive);
    char buf[96];
    char *parts[3];
    size_t n = 0;

    if (strcmp(value, "off") == 0) {
        o->keepalive = false;
        o->keepidle_s = o->keepintvl_s = o->keepcnt = 0;
        return 0;
    }
    size_t len = strlen(value);
    if (len >= sizeof(buf))
        goto bad_form;
    memcpy(buf, value, len + 1);
    /* Split by hand rather than strtok: strtok folds "60s::5" into two parts. */
    for (char *p = buf;; n++) {
        if (n == 3)
            goto bad_form;
        parts[n] = p;
        char *colon = strchr(p, ':');
        if (colon == NULL) {
            n++;
            break;
        }
        *colon = '\0';
        p = colon + 1;
    }
    if (n != 3)
        goto bad_form;

    int64_t idle, intvl, cnt;
    if (parse_keep_secs(ctx, "idle", parts[0], value, &idle) < 0 ||
        parse_keep_secs(ctx, "interval", parts[1], value, &intvl) < 0)
        return -1;
    if (dc_conf_parse_int(parts[2], &cnt) < 0 || cnt < 1 || cnt > KEEP_CNT_MAX) {
        dc_conf_error(ctx, "keepalive-probes: count '%s' in '%s' is not a number from 1 to %d",
                      parts[2], value, KEEP_CNT_MAX);
        return -1;
    }
    o->keepalive = true;
    o->keepidle_s = idle;
    o->keepintvl_s = intvl;
    o->keepcnt = cnt;
    return 0;

bad_form:
    dc_conf_error(ctx, "keepalive-probes: '%s' is not off or idle:interval:count (e.g. 60s:10s:5)",
                  value);
    return -1;
}

/* The table, one extra END row so it is a well-formed table on its own. */
const struct dc_conf_option dc_sock_conf_options[DC_SOCK_CONF_NOPTS + 1] = {
    DC_CONF_OPT_DURATION("fin-timeout", struct dc_sock_opts, fin_timeout_ms, "0", 0, 120 * 1000,
                         "TCP_LINGER2: how long an orphaned socket stays in FIN_WAIT_2 "
                         "(0 = kernel default)"),
    DC_CONF_OPT_CUSTOM("linger", struct dc_sock_opts, linger_mode, "off", parse_linger, 0,
                       "SO_LINGER: off | 0 (close sends RST, no TIME_WAIT) | 5s"),
    DC_CONF_OPT_CUSTOM("keepalive-probes", struct dc_sock_opts, keepalive, "off", parse_keepalive,
                       0, "TCP keepalive idle:interval:count, e.g. 60s:10s:5, or off"),
    DC_CONF_OPT_DURATION("defer-accept", struct dc_sock_opts, defer_accept_ms, "0", 0, 3600 * 1000,
                         "TCP_DEFER_ACCEPT: wake accept() only once data arrived"),
    DC_CONF_OPT_INT("fastopen", struct dc_sock_opts, fastopen, "0", 0, 65535,
                    "TCP_FASTOPEN queue length (0 = off)"),
    DC_CONF_OPT_INT("backlog", struct dc_sock_opts, backlog, "511", 1, 65535,
                    "listen() backlog (capped by net.core.somaxconn)"),
    DC_CONF_OPT_SIZE("rcvbuf", struct dc_sock_opts, rcvbuf, "0", 0, 1 << 30,
                     "SO_RCVBUF (0 = kernel default)"),
    DC_CONF_OPT_SIZE("sndbuf", struct dc_sock_opts, sndbuf, "0", 0, 1 << 30,
                     "SO_SNDBUF (0 = kernel default)"),
    DC_CONF_OPT_END,
};

int
dc_sock_conf_rows(struct dc_conf_option *out, size_t base)
{
    for (size_t i = 0; i < DC_SOCK_CONF_NOPTS; i++) {
        out[i] = dc_sock_conf_options[i];
        out[i].offset += base;
    }
    return DC_SOCK_CONF_NOPTS;
}

static int
set_int(int fd, int level, int name, int v)
{
    if (setsockopt(fd, level, name, &v, sizeof(v)) < 0)
        return -errno;
    return 0;
}

static int
clamp_int(uint64_t v)
{
    return v > INT_MAX ? INT_MAX : (int)v;
}

/*
 * Only knobs that differ from the kernel's default are set: a fresh socket already has
 * every default, and each skipped setsockopt is one syscall less per accepted connection.
 */
int
dc_sock_apply_conn(int fd, const struct dc_sock_opts *o)
{
    int rc;
    if (o->fin_timeout_ms > 0) {
        rc = set_int(fd, IPPROTO_TCP, TCP_LINGER2, ms_to_s(o->fin_timeout_ms));
        if (rc < 0)
            return rc;
    }
    if (o->linger_mode == DC_LINGER_ON) {
        if (o->linger_s < 0 || o->linger_s > INT_MAX)
            return -EINVAL;
        struct linger l = {.l_onoff = 1, .l_linger = (int)o->linger_s};
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
            return -errno;
    }
    if (o->keepalive) {
        if (o->keepidle_s < 1 || o->keepidle_s > KEEP_SECS_MAX || o->keepintvl_s < 1 ||
            o->keepintvl_s > KEEP_SECS_MAX || o->keepcnt < 1 || o->keepcnt > KEEP_CNT_MAX)
            return -EINVAL;
        if ((rc = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1)) < 0 ||
            (rc = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)o->keepidle_s)) < 0 ||
            (rc = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, (int)o->keepintvl_s)) < 0 ||
            (rc = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, (int)o->keepcnt)) < 0)
            return rc;
    }
    return 0;
}

int
dc_sock_reset_on_close(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
        return -errno;
    return 0;
}

int
dc_sock_unsent(int fd)
{
    int n;
    if (ioctl(fd, SIOCOUTQNSD, &n) < 0)
        return -errno;
    return n;
}

int
dc_sock_unacked(int fd)
{
    int n;
    if (ioctl(fd, SIOCOUTQ, &n) < 0)
        return -errno;
    return n;
}

bool
dc_sock_resets(const struct dc_sock_opts *o)
{
    return o->linger_mode == DC_LINGER_ON && o->linger_s == 0;
}

int
dc_sock_apply_listener(int fd, const struct dc_sock_opts *o)
{
    int rc;
    /* Buffers are set before listen() so the window scale offered in the SYN-ACK fits them. */
    if (o->rcvbuf > 0 && (rc = set_int(fd, SOL_SOCKET, SO_RCVBUF, clamp_int(o->rcvbuf))) < 0)
        return rc;
    if (o->sndbuf > 0 && (rc = set_int(fd, SOL_SOCKET, SO_SNDBUF, clamp_int(o->sndbuf))) < 0)
        return rc;
    if (o->defer_accept_ms > 0) {
        rc = set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, ms_to_s(o->defer_accept_ms));
        if (rc < 0)
            return rc;
    }
    if (o->fastopen > 0) {
        if (o->fastopen > INT_MAX)
            return -EINVAL;
        rc = set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, (int)o->fastopen);
        if (rc < 0)
            return rc;
    }
    /* Accepted sockets are cloned from the listener, so connections get these options even
     * before dc_sock_apply_conn() runs on them; that call sets them again, which also covers
     * listeners handed in by systemd that were configured elsewhere. */
    return dc_sock_apply_conn(fd, o);
}
