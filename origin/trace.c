#include "origin/trace.h"

#include <inttypes.h>
#include <stddef.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/sock.h"
#include "common/trace.h"
#include "origin/conn.h"
#include "origin/worker.h"

static const char *const tcp_states[] = {
    "?",         "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
    "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING",
};

static int
conn_fd(struct dw_conn *c)
{
    uv_os_fd_t fd;
    return uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? fd : -1;
}

static bool
tcp_info(int fd, struct tcp_info *ti)
{
    socklen_t len = sizeof(*ti);
    memset(ti, 0, sizeof(*ti));
    return fd >= 0 && getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) == 0;
}

static void
ip_of(const struct dw_conn *c, char *ip, size_t size)
{
    dc_addr_format(&c->peer, false, ip, size);
}

void
dw_trace_accept(struct dw_conn *c)
{
    int fd = conn_fd(c);
    c->traced = dc_trace_client(&c->peer);
    if (!c->traced)
        return;
    c->accept_us = uv_hrtime() / 1000;
    char ip[DC_ADDR_STRLEN], local[DC_ADDR_STRLEN] = "";
    ip_of(c, ip, sizeof(ip));
    union dc_sockaddr la;
    int len = sizeof(la);
    if (uv_tcp_getsockname(&c->tcp, &la.sa, &len) == 0)
        dc_addr_format(&la, true, local, sizeof(local));
    struct tcp_info ti;
    tcp_info(fd, &ti);
    const struct dc_sock_opts *o = &c->lis->sock;
    dc_trace_emit((int)c->wk->id, "tcp.accept", ip,
                  "\"port\":%u,\"local\":\"%s\",\"tls\":%s,\"rtt_us\":%u,\"retrans\":%u,"
                  "\"fin_timeout\":%" PRId64 ",\"linger\":%" PRId64
                  ",\"keepalive\":{\"idle\":%" PRId64 ",\"intvl\":%" PRId64 ",\"cnt\":%" PRId64 "}",
                  dc_addr_port(&c->peer), local, c->lis->tls ? "true" : "false", ti.tcpi_rtt,
                  ti.tcpi_total_retrans, o->fin_timeout_ms ? o->fin_timeout_ms / 1000 : -1,
                  o->linger_mode == DC_LINGER_ON ? o->linger_s : -1,
                  o->keepalive ? o->keepidle_s : -1, o->keepalive ? o->keepintvl_s : -1,
                  o->keepalive ? o->keepcnt : -1);
}

/* tls.hello: the ClientHello as it came (SNI, the ALPN protocols offered); called from
 * origin/tls.c's ALPN callback through dw_tls_hello_hook. */
static void
trace_hello(struct dw_tls_conn *t, const unsigned char *alpn, unsigned len)
{
    struct dw_conn *c = (struct dw_conn *)((char *)t - offsetof(struct dw_conn, tls));
    if (!c->traced)
        return;
    const char *sni = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
    if (sni && !dc_trace_name(sni))
        return;
    char list[256] = "", item[80], ip[DC_ADDR_STRLEN], sn[300];
    size_t o = 0;
    for (unsigned i = 0; i < len && o + 4 < sizeof(list);) {
        unsigned l = alpn[i++];
        if (l == 0 || l > len - i || l >= 40)
            break;
        char name[48];
        memcpy(name, alpn + i, l);
        name[l] = '\0';
        dc_trace_json(name, item, sizeof(item));
        int n = snprintf(list + o, sizeof(list) - o, "%s\"%s\"", o ? "," : "", item);
        if (n < 0 || (size_t)n >= sizeof(list) - o)
            break;
        o += (size_t)n;
        i += l;
    }
    dc_trace_json(sni ? sni : "", sn, sizeof(sn));
    ip_of(c, ip, sizeof(ip));
    dc_trace_emit((int)c->wk->id, "tls.hello", ip, "\"port\":%u,\"sni\":\"%s\",\"alpn\":[%s]",
                  dc_addr_port(&c->peer), sn, list);
}

void
dw_trace_init(void)
{
    dw_tls_hello_hook = trace_hello;
}

void
dw_trace_tls(struct dw_conn *c)
{
    SSL *ssl = c->tls.ssl;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    char sn[300] = "", ip[DC_ADDR_STRLEN];
    dc_trace_json(sni ? sni : "", sn, sizeof(sn));
    if (sni && !dc_trace_name(sni)) {
        c->traced = false;
        return;
    }
    const unsigned char *alpn = NULL;
    unsigned alen = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alen);
    char ap[64] = "";
    if (alpn && alen < sizeof(ap)) {
        memcpy(ap, alpn, alen);
        ap[alen] = '\0';
    }
    char apj[128];
    dc_trace_json(ap, apj, sizeof(apj));
    const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
    int group = SSL_get_negotiated_group(ssl);
    const char *gname = group ? SSL_group_to_name(ssl, group) : NULL;
    ip_of(c, ip, sizeof(ip));
    uint64_t now = uv_hrtime() / 1000;
    dc_trace_emit((int)c->wk->id, "tls.done", ip,
                  "\"port\":%u,\"sni\":\"%s\",\"alpn\":\"%s\",\"version\":\"%s\",\"cipher\":\"%s\","
                  "\"group\":\"%s\",\"resumed\":%s,\"ms\":%.3f",
                  dc_addr_port(&c->peer), sn, apj, SSL_get_version(ssl),
                  ci ? SSL_CIPHER_get_name(ci) : "", gname ? gname : "",
                  SSL_session_reused(ssl) ? "true" : "false",
                  now > c->accept_us ? (double)(now - c->accept_us) / 1000.0 : 0.0);
}

void
dw_trace_request(struct dw_conn *c)
{
    const struct dw_req *q = &c->http.req;
    char ip[DC_ADDR_STRLEN], path[600] = "-", host[300] = "", raw[520];
    if (c->http.done) {
        size_t tl = q->target.len > 512 ? 512 : q->target.len;
        memcpy(raw, c->in + q->target.off, tl);
        raw[tl] = '\0';
        dc_trace_json(raw, path, sizeof(path));
    }
    const char *site = c->resp.site >= 0 ? c->conf->sites[c->resp.site].name : "";
    dc_trace_json(site, host, sizeof(host));
    ip_of(c, ip, sizeof(ip));
    uint64_t us = uv_hrtime() / 1000 - c->req_start_us;
    dc_trace_emit((int)c->wk->id, "http.request", ip,
                  "\"port\":%u,\"n\":%" PRIu64 ",\"method\":\"%s\",\"path\":\"%s\",\"site\":\"%s\","
                  "\"status\":%d,\"bytes\":%" PRIu64 ",\"ms\":%.3f",
                  dc_addr_port(&c->peer), c->requests + 1, /* counted after this */
                  c->http.done ? llhttp_method_name((llhttp_method_t)q->method) : "-", path, host,
                  c->resp.status, c->bytes_out, (double)us / 1000.0);
}

void
dw_trace_close(struct dw_conn *c)
{
    char ip[DC_ADDR_STRLEN];
    ip_of(c, ip, sizeof(ip));
    struct tcp_info ti;
    bool have = tcp_info(conn_fd(c), &ti);
    const struct dc_sock_opts *o = &c->lis->sock;
    bool rst = c->reset || dc_sock_resets(o);
    /* Who sent the first FIN: as the connection saw it, else as the kernel's state says
     * (CLOSE_WAIT / LAST_ACK: the client's came; otherwise ours goes now or went). The side
     * whose FIN went first keeps TIME_WAIT; a reset leaves none. */
    int first = c->first_fin;
    if (first == 0)
        first = have && (ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_LAST_ACK) ? 2 : 1;
    const char *by = first == 2 ? "client" : "server";
    const char *tw = rst ? "none" : by;
    dc_trace_emit((int)c->wk->id, "tcp.close", ip,
                  "\"port\":%u,\"by\":\"%s\",\"how\":\"%s\",\"state\":\"%s\",\"requests\":%" PRIu64
                  ",\"rtt_us\":%u,\"retrans\":%u,\"total_retrans\":%u,\"time_wait\":\"%s\"",
                  dc_addr_port(&c->peer), by, rst ? "rst" : "fin",
                  have && ti.tcpi_state < sizeof(tcp_states) / sizeof(tcp_states[0])
                      ? tcp_states[ti.tcpi_state]
                      : "?",
                  c->requests, ti.tcpi_rtt, ti.tcpi_retrans, ti.tcpi_total_retrans, tw);
}
