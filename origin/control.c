#include "origin/control.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "common/lifecycle.h"
#include "common/trace.h"
#include "origin/tls.h"
#include "origin/worker.h"

static uint64_t
sum(const struct dw_shared *sh, enum dw_stat s)
{
    return dc_stats_sum(&sh->stats, (unsigned)s);
}

static void
cmd_sites(struct dw_shared *sh, struct dc_control_reply *r)
{
    const struct dw_conf *c = sh->conf;
    for (size_t i = 0; i < c->nsites; i++) {
        const struct dw_conf_site *s = &c->sites[i];
        dc_control_printf(r, "%s%s root=%s names=", s->name,
                          i == c->default_site ? " (default)" : "", s->root);
        for (size_t j = 0; j < s->server_names.n; j++)
            dc_control_printf(r, "%s%s", j ? "," : "", s->server_names.v[j]);
        if (s->server_names.n == 0)
            dc_control_printf(r, "-");
        for (size_t j = 0; j < s->certs.n; j++)
            dc_control_printf(r, " cert=%s", s->certs.v[j]);
        if (c->tls && s->certs.n > 0) {
            int64_t left = dw_tls_site_expiry(c->tls, i);
            dc_control_printf(r, " expires_in_days=%" PRId64 "%s", left / 86400,
                              left < 0 ? " (EXPIRED)" : "");
        }
        dc_control_printf(r, "\n");
    }
}

void
dw_control_command(void *arg, int argc, char **argv, struct dc_control_reply *r)
{
    struct dw_shared *sh = arg;
    const char *cmd = argv[0];
    if (strcmp(cmd, "status") == 0) {
        dc_control_printf(r,
                          "version: %s\nworkers: %u\nuptime_s: %" PRId64 "\nsites: %zu\n"
                          "connections: %" PRIu64 "\nrequests: %" PRIu64 "\n",
                          DUET_VERSION, sh->workers, (int64_t)time(NULL) - sh->started,
                          sh->conf->nsites, sum(sh, DW_STAT_CONNECTIONS),
                          sum(sh, DW_STAT_REQUESTS));
    } else if (strcmp(cmd, "stats") == 0) {
        for (unsigned i = 0; i < DW_STAT_COUNT; i++)
            dc_control_printf(r, "total.%s=%" PRIu64 "\n", dw_stat_names[i],
                              dc_stats_sum(&sh->stats, i));
        for (unsigned w = 0; w < sh->workers; w++)
            for (unsigned i = 0; i < DW_STAT_COUNT; i++)
                dc_control_printf(r, "worker%u.%s=%" PRIu64 "\n", w, dw_stat_names[i],
                                  dc_stats_get(&sh->stats, w, i));
    } else if (strcmp(cmd, "reload") == 0) {
        dc_control_printf(r, dc_daemon_reload(sh->daemon) == 0
                                 ? "ok: configuration reloaded\n"
                                 : "error: reload refused; the old configuration keeps "
                                   "serving (the log says why)\n");
    } else if (strcmp(cmd, "sites") == 0) {
        cmd_sites(sh, r);
    } else if (strcmp(cmd, "trace") == 0) {
        char msg[600];
        dc_trace_command("origin", sh->conf->trace_file, argc, argv, msg, sizeof(msg));
        dc_control_printf(r, "%s", msg);
    } else if (strcmp(cmd, "rotate-ticket-keys") == 0) {
        if (sh->conf->tls == NULL)
            dc_control_printf(r, "error: no TLS listener, no ticket keys\n");
        else if (dw_tls_rotate_ticket_keys(sh->conf->tls) != 0)
            dc_control_printf(r, "error: could not make a new key\n");
        else
            dc_control_printf(r, "ok: new ticket key in use; the previous two still "
                                 "decrypt\n");
    } else {
        dc_control_printf(r,
                          "error: unknown command '%s' (status, stats, reload, sites, "
                          "rotate-ticket-keys, trace)\n",
                          cmd);
    }
}

void
dw_control_metrics(void *arg, int argc, char **argv, struct dc_control_reply *r)
{
    struct dw_shared *sh = arg;
    if (argc < 2 || strcmp(argv[1], "/metrics") != 0) {
        dc_control_printf(r, "error: only /metrics is served here\n");
        return;
    }
    static const unsigned conns[] = {DW_STAT_CONNECTIONS},
                          refused[] = {DW_STAT_CONNECTIONS_REFUSED};
    dc_control_counter(r, &sh->stats, "duet_origin_connections_total",
                       "Client connections accepted.", NULL, NULL, conns, 1);
    dc_control_counter(r, &sh->stats, "duet_origin_connections_refused_total",
                       "Connections closed at once (max-connections, stopping).", NULL, NULL,
                       refused, 1);
    static const char *const kinds[] = {"full", "resumed", "failed"};
    static const unsigned hs[] = {DW_STAT_HANDSHAKES_FULL, DW_STAT_HANDSHAKES_RESUMED,
                                  DW_STAT_HANDSHAKE_FAILURES};
    dc_control_counter(r, &sh->stats, "duet_origin_tls_handshakes_total",
                       "TLS handshakes, by outcome.", "kind", kinds, hs, 3);
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    static const unsigned st[] = {DW_STAT_STATUS_1XX, DW_STAT_STATUS_2XX, DW_STAT_STATUS_3XX,
                                  DW_STAT_STATUS_4XX, DW_STAT_STATUS_5XX};
    dc_control_counter(r, &sh->stats, "duet_origin_requests_total",
                       "Responses sent, by status class.", "class", classes, st, 5);
    static const unsigned bytes[] = {DW_STAT_BYTES_OUT}, tmo[] = {DW_STAT_TIMEOUTS};
    dc_control_counter(r, &sh->stats, "duet_origin_sent_bytes_total",
                       "Bytes written to clients (after TLS).", NULL, NULL, bytes, 1);
    dc_control_counter(r, &sh->stats, "duet_origin_timeouts_total",
                       "Connections ended by a timeout.", NULL, NULL, tmo, 1);
    dc_control_histogram(r, &sh->stats, "duet_origin_request_duration_seconds",
                         "Time from a request's first byte to its last response byte handed "
                         "to the kernel.",
                         DW_STAT_DUR_1MS, dw_dur_bounds_ms, DW_DUR_BUCKETS, DW_STAT_DUR_SUM_US);
}
