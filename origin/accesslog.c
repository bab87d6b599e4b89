#include "origin/accesslog.h"

#include <inttypes.h>
#include <llhttp.h>
#include <stdio.h>
#include <unistd.h>

#include "origin/conn.h"
#include "origin/worker.h"

void
dw_access_log(const struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    if (wk->sh->access_fd < 0)
        return;
    char addr[DC_ADDR_STRLEN];
    dc_addr_format(&c->peer, false, addr, sizeof(addr));
    const struct dw_req *q = &c->http.req;
    const char *method = c->http.done ? llhttp_method_name((llhttp_method_t)q->method) : "-";
    int tl = c->http.done ? (int)(q->target.len > 512 ? 512 : q->target.len) : 1;
    const char *target = c->http.done ? (const char *)c->in + q->target.off : "-";
    const char *site = c->resp.site >= 0 ? c->conf->sites[c->resp.site].name : "-";
    uint64_t us = (uv_hrtime() / 1000) - c->req_start_us;
    char line[1024];
    int n = snprintf(line, sizeof(line),
                     "client=%s site=%s method=%s path=%.*s status=%d bytes=%" PRIu64
                     " duration_ms=%" PRIu64 ".%03" PRIu64 " tls=%s resumed=%s\n",
                     addr, site, method, tl, target, c->resp.status, c->bytes_out, us / 1000,
                     us % 1000, c->tls_on ? dw_tls_conn_version(&c->tls) : "none",
                     c->tls_on && dw_tls_conn_resumed(&c->tls) ? "yes" : "no");
    if (n > 0) {
        ssize_t w =
            write(wk->sh->access_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        (void)w;
    }
}
