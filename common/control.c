#include "common/control.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/life.h"
#include "common/log.h"
#include "common/stats.h"

#define MAX_LINE          4096
#define MAX_REPLY         (16u << 20)
#define READ_DEADLINE_MS  5000  /* from accept to the whole command (or request head) */
#define WRITE_DEADLINE_MS 30000 /* to read the reply (a cache dump may be megabytes) */
#define MAX_CLIENTS       16    /* clients at once per server (control socket, metrics) */
#define OVER_CAP_LOG_MS   10000 /* one over-the-cap line per server at most this often */

struct dc_control {
    struct dc_life life; /* its own reference + one per client; the server handle */
    union {
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } server;
    bool http;
    uv_loop_t *loop;
    char *path;
    dc_control_cb cb;
    void *arg;
    struct client *clients; /* newest first; closing ones stay until freed */
    unsigned nlive;         /* clients not closing */
    uint64_t over_cap;      /* clients closed over the cap, in all */
    uint64_t over_cap_unlogged;
    uint64_t over_cap_logged_ms; /* uv_now of the last line (0: none yet) */
};

struct client {
    struct dc_life life; /* its own reference + the reply's write; stream and timer */
    struct dc_control *ctl;
    struct client *next, *prev;
    union {
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } stream;
    uv_timer_t timer; /* the read deadline, then the write deadline */
    uv_write_t wreq;
    bool replying; /* its command is in: the reply is being written */
    char head[160];
    size_t len;
    char line[MAX_LINE + 1];
    struct dc_control_reply reply;
};

void
dc_control_printf(struct dc_control_reply *r, const char *fmt, ...)
{
    for (int tries = 0; tries < 2; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(r->buf ? r->buf + r->len : NULL, r->buf ? r->cap - r->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (r->buf && (size_t)n < r->cap - r->len) {
            r->len += (size_t)n;
            return;
        }
        size_t need = r->len + (size_t)n + 1;
        if (need > MAX_REPLY)
            return;
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < need)
            cap *= 2;
        char *nb = realloc(r->buf, cap);
        if (nb == NULL)
            return;
        r->buf = nb;
        r->cap = cap;
    }
}

static void
control_free(struct dc_life *l)
{
    struct dc_control *ctl = DC_LIFE_OWNER(l, struct dc_control, life);
    free(ctl->path);
    free(ctl);
}

static void
server_closed(uv_handle_t *h)
{
    struct dc_control *ctl = h->data;
    dc_life_handle_closed(&ctl->life);
}

static void
client_free(struct dc_life *l)
{
    struct client *c = DC_LIFE_OWNER(l, struct client, life);
    struct dc_control *ctl = c->ctl;
    if (c->prev)
        c->prev->next = c->next;
    else
        ctl->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->reply.buf);
    free(c);
    dc_life_unref(&ctl->life); /* the last client of a closed server frees it */
}

static void
client_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    dc_life_handle_closed(&c->life);
}

static void
client_close(struct client *c)
{
    if (dc_life_closing(&c->life))
        return;
    c->ctl->nlive--;
    uv_timer_stop(&c->timer);
    uv_handle_t *hs[] = {(uv_handle_t *)&c->stream, (uv_handle_t *)&c->timer};
    dc_life_close(&c->life, hs, 2, client_closed);
}

static void
on_written(uv_write_t *w, int status)
{
    struct client *c = w->data;
    (void)status;
    client_close(c);
    dc_life_unref(&c->life); /* the write's */
}

/* Writes the reply (nb buffers) and closes once it is out. */
static void on_timeout(uv_timer_t *t);

static void
client_reply(struct client *c, uv_buf_t *b, unsigned nb)
{
    c->replying = true;
    uv_timer_start(&c->timer, on_timeout, WRITE_DEADLINE_MS, 0);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->stream, b, nb, on_written) < 0) {
        client_close(c);
        return;
    }
    dc_life_ref(&c->life);
}

static void
run_command(struct client *c)
{
    char *argv[DC_CONTROL_MAX_ARGS + 1];
    int argc = 0;
    char *save = NULL;
    /* HTTP: the request line's method and path are the first two words. */
    if (c->ctl->http) {
        char *eol = strpbrk(c->line, "\r\n");
        if (eol)
            *eol = '\0';
    }
    for (char *tok = strtok_r(c->line, " \t\r\n", &save); tok && argc < DC_CONTROL_MAX_ARGS;
         tok = strtok_r(NULL, " \t\r\n", &save))
        argv[argc++] = tok;
    if (c->ctl->http && argc > 2)
        argc = 2;
    argv[argc] = NULL;
    if (argc == 0 || (c->ctl->http && argc < 2))
        dc_control_printf(&c->reply, "error: empty command\n");
    else
        c->ctl->cb(c->ctl->arg, argc, argv, &c->reply);
    if (c->reply.len == 0 && !c->ctl->http)
        dc_control_printf(&c->reply, "ok\n");
    if (!c->ctl->http)
        DC_LOG_INFO("control_command", "command=%s", argc ? argv[0] : "-");
    uv_read_stop((uv_stream_t *)&c->stream);
    uv_buf_t b[2];
    unsigned nb = 0;
    if (c->ctl->http) {
        bool err = c->reply.len >= 6 && memcmp(c->reply.buf, "error:", 6) == 0;
        int n = snprintf(c->head, sizeof(c->head),
                         "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; "
                         "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         err ? "404 Not Found" : "200 OK", c->reply.len);
        b[nb++] = uv_buf_init(c->head, (unsigned)n);
    }
    b[nb++] = uv_buf_init(c->reply.buf ? c->reply.buf : c->head, (unsigned)c->reply.len);
    client_reply(c, b, nb);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct client *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->line + c->len, (unsigned)(MAX_LINE - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = s->data;
    (void)buf;
    if (n < 0) {
        client_close(c);
        return;
    }
    c->len += (size_t)n;
    c->line[c->len] = '\0';
    if (c->ctl->http ? strstr(c->line, "\r\n\r\n") != NULL || strstr(c->line, "\n\n") != NULL
                     : memchr(c->line, '\n', c->len) != NULL) {
        run_command(c);
        return;
    }
    if (c->len >= MAX_LINE) {
        dc_control_printf(&c->reply, "error: command line longer than %d bytes\n", MAX_LINE);
        uv_read_stop(s);
        uv_buf_t b = uv_buf_init(c->reply.buf, (unsigned)c->reply.len);
        client_reply(c, &b, 1);
    }
}

static void
on_timeout(uv_timer_t *t)
{
    client_close(t->data);
}

/*
 * Clients over the cap: every connection is accepted (else it would wait in the backlog and
 * fill it), and then the oldest client still waiting for its command is closed to make room,
 * or the newcomer when all are busy replying. A legitimate client sends its command as it
 * connects, so idle connections, however many, cannot keep it out; nginx drains idle
 * keep-alive connections the same way when worker_connections run out. Repeated floods
 * make one line per server every OVER_CAP_LOG_MS.
 */
static struct client *
over_cap_victim(struct dc_control *ctl, struct client *newcomer)
{
    struct client *oldest = NULL;
    for (struct client *c = ctl->clients; c; c = c->next)
        if (c != newcomer && !c->replying && !dc_life_closing(&c->life))
            oldest = c;
    return oldest ? oldest : newcomer;
}

static void
over_cap_count(struct dc_control *ctl)
{
    ctl->over_cap++;
    ctl->over_cap_unlogged++;
    uint64_t now = uv_now(ctl->loop);
    if (ctl->over_cap_logged_ms != 0 && now - ctl->over_cap_logged_ms < OVER_CAP_LOG_MS)
        return;
    DC_LOG_WARN(
        "control_clients_over_cap", "server=%s max=%d closed=%" PRIu64 " closed_total=%" PRIu64,
        ctl->http ? "metrics" : "control", MAX_CLIENTS, ctl->over_cap_unlogged, ctl->over_cap);
    ctl->over_cap_unlogged = 0;
    ctl->over_cap_logged_ms = now ? now : 1;
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct dc_control *ctl = server->data;
    if (status < 0 || dc_life_closing(&ctl->life))
        return;
    struct client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    dc_life_init(&c->life, client_free);
    dc_life_ref(&ctl->life); /* dropped by client_free */
    c->ctl = ctl;
    if (ctl->http)
        uv_tcp_init(ctl->loop, &c->stream.tcp);
    else
        uv_pipe_init(ctl->loop, &c->stream.pipe, 0);
    uv_timer_init(ctl->loop, &c->timer);
    c->stream.pipe.data = c;
    c->timer.data = c;
    c->next = ctl->clients;
    if (ctl->clients)
        ctl->clients->prev = c;
    ctl->clients = c;
    ctl->nlive++;
    if (uv_accept(server, (uv_stream_t *)&c->stream) < 0) {
        client_close(c);
        return;
    }
    if (ctl->nlive > MAX_CLIENTS) {
        struct client *victim = over_cap_victim(ctl, c);
        over_cap_count(ctl);
        client_close(victim);
        if (victim == c)
            return;
    }
    if (uv_read_start((uv_stream_t *)&c->stream, on_alloc, on_read) < 0) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, READ_DEADLINE_MS, 0);
}

/* Closes the listening handle and drops the server's own reference: it is freed once the
 * handle has closed and its last client is gone. */
static void
server_close(struct dc_control *ctl)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&ctl->server};
    dc_life_close(&ctl->life, hs, 1, server_closed);
}

struct dc_control *
dc_control_open(uv_loop_t *loop, const char *path, dc_control_cb cb, void *arg, int *err)
{
    struct dc_control *ctl = calloc(1, sizeof(*ctl));
    if (ctl == NULL || (ctl->path = strdup(path)) == NULL) {
        free(ctl);
        *err = -ENOMEM;
        return NULL;
    }
    dc_life_init(&ctl->life, control_free);
    ctl->loop = loop;
    ctl->cb = cb;
    ctl->arg = arg;
    /* A socket file left by a daemon that died is in the way; a live one answers. */
    unlink(path);
    int rc = uv_pipe_init(loop, &ctl->server.pipe, 0);
    ctl->server.pipe.data = ctl;
    mode_t old = umask(0117); /* the socket is created 0660 */
    if (rc == 0)
        rc = uv_pipe_bind(&ctl->server.pipe, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&ctl->server, 16, on_connection);
    if (rc < 0) {
        *err = rc;
        server_close(ctl); /* frees ctl */
        return NULL;
    }
    chmod(path, 0660);
    return ctl;
}

struct dc_control *
dc_control_open_http(uv_loop_t *loop, const union dc_sockaddr *addr, dc_control_cb cb, void *arg,
                     int *err)
{
    struct dc_control *ctl = calloc(1, sizeof(*ctl));
    if (ctl == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    dc_life_init(&ctl->life, control_free);
    ctl->loop = loop;
    ctl->cb = cb;
    ctl->arg = arg;
    ctl->http = true;
    int rc = uv_tcp_init(loop, &ctl->server.tcp);
    ctl->server.tcp.data = ctl;
    if (rc == 0)
        rc = uv_tcp_bind(&ctl->server.tcp, &addr->sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&ctl->server.tcp, 64, on_connection);
    if (rc < 0) {
        *err = rc;
        server_close(ctl); /* frees ctl */
        return NULL;
    }
    return ctl;
}

void
dc_control_close(struct dc_control *ctl)
{
    if (ctl == NULL || dc_life_closing(&ctl->life))
        return;
    if (ctl->path)
        unlink(ctl->path);
    for (struct client *c = ctl->clients; c; c = c->next)
        client_close(c);
    server_close(ctl);
}

int
dc_control_open_all(uv_loop_t *loop, const char *path, const char *metrics, uint16_t default_port,
                    dc_control_cb control_cb, dc_control_cb metrics_cb, void *arg,
                    struct dc_control **control, struct dc_control **metrics_out)
{
    int err = 0;
    *control = *metrics_out = NULL;
    if (path[0] != '\0') {
        *control = dc_control_open(loop, path, control_cb, arg, &err);
        if (*control == NULL) {
            dc_log(DC_LOG_ERROR, "control_socket", "path=%s error=\"%s\"", path, uv_strerror(err));
            return err;
        }
    }
    if (metrics[0] != '\0') {
        union dc_sockaddr a;
        if (dc_addr_parse(metrics, default_port, &a) < 0) {
            dc_log(DC_LOG_ERROR, "metrics", "addr=%s error=\"not an address\"", metrics);
            err = -EINVAL;
        } else if ((*metrics_out = dc_control_open_http(loop, &a, metrics_cb, arg, &err)) == NULL) {
            dc_log(DC_LOG_ERROR, "metrics", "addr=%s error=\"%s\"", metrics, uv_strerror(err));
        }
        if (*metrics_out == NULL) {
            dc_control_close(*control);
            *control = NULL;
            return err;
        }
        dc_log(DC_LOG_INFO, "metrics", "addr=%s path=/metrics", metrics);
    }
    return 0;
}

void
dc_control_close_all(struct dc_control **control, struct dc_control **metrics)
{
    dc_control_close(*control);
    dc_control_close(*metrics);
    *control = *metrics = NULL;
}

void
dc_control_counter(struct dc_control_reply *r, const struct dc_stats *stats, const char *name,
                   const char *help, const char *label, const char *const *values,
                   const unsigned *idx, size_t n)
{
    dc_control_printf(r, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = dc_stats_sum(stats, idx[i]);
        if (label)
            dc_control_printf(r, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, values[i], v);
        else
            dc_control_printf(r, "%s %" PRIu64 "\n", name, v);
    }
}

void
dc_control_histogram(struct dc_control_reply *r, const struct dc_stats *stats, const char *name,
                     const char *help, unsigned first, const uint32_t *bounds_ms, unsigned nbuckets,
                     unsigned sum_us_idx)
{
    dc_control_printf(r, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (unsigned b = 0; b < nbuckets; b++) {
        cum += dc_stats_sum(stats, first + b);
        if (b + 1 < nbuckets)
            dc_control_printf(r, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds_ms[b] / 1000.0,
                              cum);
        else
            dc_control_printf(r, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    }
    dc_control_printf(r, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name,
                      (double)dc_stats_sum(stats, sum_us_idx) / 1e6, name, cum);
}
