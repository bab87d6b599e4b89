/*
 * duet-origin's state: what all workers share (configuration, counters, bound sockets,
 * document-root directories, the access log) and what each worker owns (loop, listeners,
 * connections, buffer pools, its file cache).
 */
#ifndef DUET_ORIGIN_WORKER_H
#define DUET_ORIGIN_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "common/buf.h"
#include "common/lifecycle.h"
#include "common/stats.h"
#include "origin/cond.h"
#include "origin/conf.h"
#include "origin/filecache.h"

enum dw_stat {
    DW_STAT_CONNECTIONS,
    DW_STAT_CONNECTIONS_REFUSED,
    DW_STAT_HANDSHAKES_FULL,
    DW_STAT_HANDSHAKES_RESUMED,
    DW_STAT_HANDSHAKE_FAILURES,
    DW_STAT_REQUESTS,
    DW_STAT_STATUS_1XX,
    DW_STAT_STATUS_2XX,
    DW_STAT_STATUS_3XX,
    DW_STAT_STATUS_4XX,
    DW_STAT_STATUS_5XX,
    DW_STAT_BYTES_OUT,
    DW_STAT_TIMEOUTS,
    /* Request duration histogram: requests within each bound (not cumulative), and sum. */
    DW_STAT_DUR_1MS,
    DW_STAT_DUR_5MS,
    DW_STAT_DUR_25MS,
    DW_STAT_DUR_100MS,
    DW_STAT_DUR_500MS,
    DW_STAT_DUR_1S,
    DW_STAT_DUR_5S,
    DW_STAT_DUR_INF,
    DW_STAT_DUR_SUM_US,
    DW_STAT_COUNT
};
extern const char *const dw_stat_names[DW_STAT_COUNT];
#define DW_DUR_BUCKETS 8
extern const uint32_t dw_dur_bounds_ms[DW_DUR_BUCKETS - 1];

struct dw_worker;
/* Counts a finished request's duration in the histogram. */
void dw_worker_observe_duration(struct dw_worker *wk, uint64_t us);

struct dc_control;
struct dc_daemon;

struct dw_shared {
    struct dc_daemon *daemon;
    struct dw_conf *conf;
    const char *conf_path;
    size_t nlistens;  /* listeners bound at start (fds layout) */
    int64_t started;
    struct dc_control *control, *metrics;
    struct dc_stats stats;
    unsigned workers;
    int *fds;       /* per worker: conf->nlistens listening fds */
    int access_fd;  /* -1: off */
};

struct dw_conn;

struct dw_worker {
    struct dc_worker *w;
    struct dw_shared *sh;
    /* The configuration new connections get (a reference; reloads replace it). While a
     * connection is being served, `conf` is that connection's own, set by origin/conn.c, so
     * origin/response.c reads the options the connection was accepted under. */
    struct dw_conf *current;
    const struct dw_conf *conf;
    uv_loop_t *loop;
    unsigned id;
    uint64_t *stats;
    uv_tcp_t *listeners;
    size_t nlisteners;
    struct dw_conn *conns;
    size_t nconns;
    bool stopping;
    /* Sized for the configuration in force (dw_conn_in_size / dw_conn_out_size), resized by
     * a reload; connections keep the sizes they were accepted with (dw_conn_buf_get). */
    struct dc_bufpool inpool;  /* request bytes: max-header-size + max-body-size + slack */
    struct dc_bufpool outpool; /* response bytes: chunk-size + TLS overhead */
    struct dw_fcache fcache;
    uint8_t rbuf[65536];       /* socket reads for TLS connections (ciphertext) */
    char hdr[4096];            /* response head being built */
    uint8_t record[16384];     /* head + small body, encrypted as one TLS record */
    time_t date_t;
    char date[DW_DATE_LEN + 1];
};

/* The Date header value for now, formatted at most once per second. */
const char *dw_worker_date(struct dw_worker *wk);

#endif
