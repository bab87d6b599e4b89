/* duet-origin: parses arguments and configuration, then wires the origin's modules to the
 * daemon lifecycle of common/. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/lifecycle.h"
#include "common/listen.h"
#include "common/log.h"
#include "common/control.h"
#include "origin/conf.h"
#include "origin/control.h"
#include "origin/conn.h"
#include "origin/tls.h"
#include "origin/trace.h"
#include "origin/worker.h"

static struct dw_shared shared;

static int
prepare(struct dc_daemon *d)
{
    struct dw_shared *sh = dc_daemon_data(d);
    const struct dw_conf *c = sh->conf;
    if (dc_stats_init(&sh->stats, sh->workers, DW_STAT_COUNT, dw_stat_names) < 0)
        return -ENOMEM;
    sh->daemon = d;
    sh->started = time(NULL);
    sh->nlistens = c->nlistens;
    sh->access_fd = -1;
    if (strcmp(c->access_log, "off") == 0) {
        sh->access_fd = -1;
    } else if (strcmp(c->access_log, "stderr") == 0) {
        sh->access_fd = STDERR_FILENO;
    } else {
        sh->access_fd = open(c->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (sh->access_fd < 0) {
            int err = errno;
            dc_log(DC_LOG_ERROR, "access_log_open", "path=%s error=\"%s\"", c->access_log,
                   strerror(err));
            return -err;
        }
    }
    size_t n = c->nlistens;
    sh->fds = malloc(sizeof(int) * n * sh->workers);
    if (sh->fds == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n * sh->workers; i++)
        sh->fds[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int rc = dc_listen_check_free(&c->listens[i].addr, SOCK_STREAM);
        if (rc < 0)
            return rc;
    }
    for (unsigned w = 0; w < sh->workers; w++) {
        for (size_t i = 0; i < n; i++) {
            char as[DC_ADDR_STRLEN];
            dc_addr_format(&c->listens[i].addr, true, as, sizeof(as));
            bool from_systemd = false;
            int fd = dc_listen_worker_fd(&c->listens[i].addr, SOCK_STREAM, &c->listens[i].sock,
                                         &from_systemd);
            if (fd < 0) {
                dc_log(DC_LOG_ERROR, "listen_failed", "addr=%s error=\"%s\"", as, strerror(-fd));
                return fd;
            }
            sh->fds[(size_t)w * n + i] = fd;
            if (w == 0)
                dc_log(DC_LOG_INFO, "listen", "addr=%s tls=%s from=%s", as,
                       c->listens[i].tls ? "yes" : "no", from_systemd ? "systemd" : "bind");
        }
    }
    return 0;
}

static void
on_rotate(uv_timer_t *t)
{
    struct dw_worker *wk = t->data;
    if (wk->current->tls && dw_tls_rotate_ticket_keys(wk->current->tls) == 0)
        DC_LOG_INFO("ticket_keys_rotated", NULL);
}

static _Thread_local uv_timer_t rotate_timer;

/* The worker's buffer pools hand out what the configuration in force asks for (request
 * bytes, a file chunk and its ciphertext). A reload that changes a size starts pools of the
 * new size; connections accepted before it keep buffers of their own configuration's sizes,
 * which are freed rather than pooled when they come back (dw_conn_buf_put). */
static void
size_pools(struct dw_worker *wk, const struct dw_conf *c)
{
    size_t in = dw_conn_in_size(c), out = dw_conn_out_size(c);
    if (wk->inpool.size != in) {
        dc_bufpool_deinit(&wk->inpool);
        dc_bufpool_init(&wk->inpool, in, 256);
    }
    if (wk->outpool.size != out) {
        dc_bufpool_deinit(&wk->outpool);
        dc_bufpool_init(&wk->outpool, out, 256);
    }
}

static int
worker_start(struct dc_worker *w)
{
    struct dw_shared *sh = dc_daemon_data(dc_worker_daemon(w));
    const struct dw_conf *c = sh->conf;
    struct dw_worker *wk = calloc(1, sizeof(*wk));
    if (wk == NULL)
        return -ENOMEM;
    dc_worker_set_data(w, wk);
    wk->w = w;
    wk->sh = sh;
    wk->current = dw_conf_ref(sh->conf);
    wk->conf = wk->current;
    wk->loop = dc_worker_loop(w);
    wk->id = dc_worker_id(w);
    wk->stats = dc_stats_row(&sh->stats, wk->id);
    size_pools(wk, c);
    size_t per_worker = c->file_cache_size / sh->workers;
    int rc = dw_fcache_init(&wk->fcache, per_worker, c->file_cache_max_file,
                            (uint64_t)c->file_cache_valid_ms);
    if (rc < 0)
        return rc;
    wk->nlisteners = c->nlistens;
    wk->listeners = calloc(c->nlistens, sizeof(*wk->listeners));
    if (wk->listeners == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < c->nlistens; i++) {
        int *fd = &sh->fds[(size_t)wk->id * c->nlistens + i];
        rc = dc_listen_adopt_tcp(wk->loop, &wk->listeners[i], *fd);
        if (rc < 0)
            return rc;
        *fd = -1;
        wk->listeners[i].data = wk;
        rc = uv_listen((uv_stream_t *)&wk->listeners[i], (int)c->listens[i].sock.backlog,
                       dw_conn_on_connection);
        if (rc < 0)
            return rc;
    }
    if (wk->id == 0 && c->tls) {
        uv_timer_init(wk->loop, &rotate_timer);
        rotate_timer.data = wk;
        uint64_t ms = (uint64_t)c->ticket_key_lifetime_ms;
        uv_timer_start(&rotate_timer, on_rotate, ms, ms);
    }
    return 0;
}

static void
close_listeners(struct dw_worker *wk)
{
    for (size_t i = 0; i < wk->nlisteners; i++)
        if (wk->listeners[i].loop && !uv_is_closing((uv_handle_t *)&wk->listeners[i]))
            uv_close((uv_handle_t *)&wk->listeners[i], NULL);
    if (rotate_timer.loop && !uv_is_closing((uv_handle_t *)&rotate_timer))
        uv_close((uv_handle_t *)&rotate_timer, NULL);
}

static void
worker_stop(struct dc_worker *w)
{
    struct dw_worker *wk = dc_worker_data(w);
    wk->stopping = true;
    close_listeners(wk);
    dw_conn_stop_all(wk);
}

static void
worker_abort(struct dc_worker *w)
{
    struct dw_worker *wk = dc_worker_data(w);
    wk->stopping = true;
    close_listeners(wk);
    dw_conn_abort_all(wk);
}

/*
 * Reload: the new file is loaded and checked exactly as at start (certificates and document
 * roots included); with errors it is refused and logged, the old configuration serving on.
 * Otherwise each worker takes the new one for connections it accepts from now on, while
 * connections already open keep theirs to the end (each holds a reference), so a keep-alive
 * client never sees a request half under one configuration and half under another.
 * Listeners cannot change without new sockets: such a reload is refused, asking for a
 * restart. The access log is reopened (log rotation).
 */
static void
swap_on_worker(struct dc_worker *w, void *arg)
{
    struct dw_conf *nc = arg;
    struct dw_worker *wk = dc_worker_data(w);
    if (wk == NULL) {
        dw_conf_unref(nc);
        return;
    }
    struct dw_conf *old = wk->current;
    wk->current = nc;
    wk->conf = nc;
    size_pools(wk, nc);
    dw_conf_unref(old);
}

static bool
same_listeners(const struct dw_conf *a, const struct dw_conf *b)
{
    if (a->nlistens != b->nlistens)
        return false;
    for (size_t i = 0; i < a->nlistens; i++)
        if (!dc_addr_equal(&a->listens[i].addr, &b->listens[i].addr) ||
            a->listens[i].tls != b->listens[i].tls)
            return false;
    return true;
}

static void
reopen_access_log(struct dw_shared *sh, const char *path)
{
    if (sh->access_fd <= STDERR_FILENO || strcmp(path, "off") == 0 || strcmp(path, "stderr") == 0)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        dc_log(DC_LOG_WARN, "access_log_reopen", "path=%s error=\"%s\"", path, strerror(errno));
        return;
    }
    /* dup2 swaps the file under the same descriptor, so workers writing concurrently
     * never see a closed or reused fd. */
    dup2(fd, sh->access_fd);
    close(fd);
}

static int
reload(struct dc_daemon *d)
{
    struct dw_shared *sh = dc_daemon_data(d);
    struct dw_conf *nc = dw_conf_new();
    if (nc == NULL)
        return -ENOMEM;
    struct dc_conf_errors errs = {NULL, 0};
    int n = dc_conf_load(&dw_conf_schema, sh->conf_path, nc, &nc->arena, &errs);
    if (n == 0 && !same_listeners(sh->conf, nc)) {
        struct dc_conf_ctx ctx = {.file = sh->conf_path, .line = 0, .errs = &errs};
        dc_conf_error(&ctx, "the [listen] sections changed: restart to apply them");
        n = 1;
    }
    if (n > 0) {
        for (size_t i = 0; i < errs.n; i++)
            dc_log(DC_LOG_ERROR, "reload_error", "error=\"%s\"", errs.msgs[i]);
        dc_conf_errors_deinit(&errs);
        dw_conf_unref(nc);
        return -EINVAL;
    }
    dc_log_set_level(nc->daemon.log_level);
    if (nc->daemon.workers != sh->conf->daemon.workers)
        DC_LOG_WARN("reload_needs_restart", "option=workers");
    reopen_access_log(sh, nc->access_log);
    for (unsigned i = 0; i < sh->workers; i++)
        if (dc_worker_post(dc_daemon_worker(d, i), swap_on_worker, dw_conf_ref(nc)) < 0)
            dw_conf_unref(nc);
    struct dw_conf *old = sh->conf;
    sh->conf = nc;
    dw_conf_unref(old);
    return 0;
}

static int
main_start(struct dc_daemon *d, uv_loop_t *loop)
{
    struct dw_shared *sh = dc_daemon_data(d);
    return dc_control_open_all(loop, sh->conf->control_socket, sh->conf->metrics, 9154,
                               dw_control_command, dw_control_metrics, sh, &sh->control,
                               &sh->metrics);
}

static void
main_stop(struct dc_daemon *d)
{
    struct dw_shared *sh = dc_daemon_data(d);
    dc_control_close_all(&sh->control, &sh->metrics);
}

static void
status(struct dc_daemon *d, char *buf, size_t size)
{
    struct dw_shared *sh = dc_daemon_data(d);
    snprintf(buf, size, "serving %u workers, %zu sites, %" PRIu64 " requests", sh->workers,
             sh->conf->nsites, dc_stats_sum(&sh->stats, DW_STAT_REQUESTS));
}

static void
cleanup(struct dc_daemon *d)
{
    struct dw_shared *sh = dc_daemon_data(d);
    for (unsigned w = 0; w < sh->workers; w++) {
        struct dw_worker *wk = dc_worker_data(dc_daemon_worker(d, w));
        if (wk == NULL)
            continue;
        dw_fcache_deinit(&wk->fcache);
        dc_bufpool_deinit(&wk->inpool);
        dc_bufpool_deinit(&wk->outpool);
        free(wk->listeners);
        dw_conf_unref(wk->current);
        free(wk);
    }
    if (sh->fds) {
        for (size_t i = 0; i < sh->nlistens * sh->workers; i++)
            if (sh->fds[i] >= 0)
                close(sh->fds[i]);
        free(sh->fds);
    }
    if (sh->access_fd > STDERR_FILENO)
        close(sh->access_fd);
    dc_stats_deinit(&sh->stats);
}

int
main(int argc, char **argv)
{
    struct dc_cli cli;
    switch (dc_cli_parse(argc, argv, "duet-origin", DW_CONF_DEFAULT_PATH, &dw_conf_schema, &cli)) {
    case DC_CLI_RUN:
        break;
    case DC_CLI_EXIT_OK:
        return 0;
    case DC_CLI_EXIT_USAGE:
        return 2;
    }
    struct dw_conf *conf = dw_conf_new();
    if (conf == NULL) {
        fprintf(stderr, "duet-origin: out of memory\n");
        return 1;
    }
    int rc = dc_cli_load_config(&cli, "duet-origin", &dw_conf_schema, conf, &conf->arena);
    if (rc >= 0) {
        dw_conf_free(conf);
        return rc;
    }
    dc_log_init(conf->daemon.log_level);
    struct dc_daemon_opts opts;
    dc_daemon_conf_opts(&conf->daemon, &opts);
    shared.conf = conf;
    shared.conf_path = cli.config_path;
    shared.workers = opts.workers;
    static const struct dc_daemon_ops ops = {
        .prepare = prepare,
        .worker_start = worker_start,
        .worker_stop = worker_stop,
        .worker_abort = worker_abort,
        .reload = reload,
        .status = status,
        .cleanup = cleanup,
        .main_start = main_start,
        .main_stop = main_stop,
    };
    dw_trace_init();
    dc_log(DC_LOG_INFO, "start", "version=%s workers=%u sites=%zu", DUET_VERSION, opts.workers,
           conf->nsites);
    rc = dc_daemon_run(&opts, &ops, &shared);
    dw_conf_unref(shared.conf); /* the one in force: the start-up one unless reloaded */
    return rc;
}
