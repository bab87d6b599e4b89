#include "origin/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "origin/ticketkey.h"
#include "origin/tls.h"

static int
parse_cert(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    if (dc_conf_parse_strv(ctx, value, field) < 0)
        return -1;
    struct dw_conf_site *s =
        (struct dw_conf_site *)((char *)field - offsetof(struct dw_conf_site, certs));
    int *slot = dc_arena_push(ctx->arena, (void **)&s->cert_lines, &s->ncert_lines, sizeof(int));
    if (slot == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    *slot = ctx->line;
    return 0;
}

/* A ticket key or secret file that other users can read lets them decrypt every session's
 * ticket: warned about like a private key. */
static void
warn_readable(const char *what, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
        DC_LOG_WARN("key_file_readable", "option=%s file=%s mode=%04o", what, path,
                    (unsigned)(st.st_mode & 07777));
}

/* ticket-key-file: nginx's format (48 or 80 random bytes), read now so that an error names
 * this line. Repeat: the first encrypts, every one decrypts. */
static int
parse_ticket_key_file(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    struct dw_conf_tickets *t = field;
    char why[256];
    if (t->secret) {
        dc_conf_error(ctx, "ticket-key-file: ticket-secret-file is set already; use one or the "
                           "other");
        return -1;
    }
    if (t->nkeys >= DW_TICKET_FILES_MAX) {
        dc_conf_error(ctx, "ticket-key-file: at most %d files", DW_TICKET_FILES_MAX);
        return -1;
    }
    int n = dw_ticket_read_file(value, 48, 80, t->keys[t->nkeys], why, sizeof(why));
    if (n >= 0 && n != 48 && n != 80) {
        snprintf(why, sizeof(why), "%s has %d bytes; nginx's format is 48 or 80", value, n);
        n = -EINVAL;
    }
    if (n < 0) {
        dc_conf_error(ctx, "ticket-key-file: %s", why);
        return -1;
    }
    t->key_len[t->nkeys++] = (uint8_t)n;
    warn_readable("ticket-key-file", value);
    return 0;
}

/* ticket-secret-file: the secret every origin of a fleet derives its period keys from. */
static int
parse_ticket_secret_file(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    struct dw_conf_tickets *t = field;
    char why[256];
    if (value[0] == '\0')
        return 0;
    if (t->nkeys > 0 || t->secret) {
        dc_conf_error(ctx, "ticket-secret-file: %s is set already; use one",
                      t->secret ? "ticket-secret-file" : "ticket-key-file");
        return -1;
    }
    uint8_t *buf = dc_arena_alloc(ctx->arena, DW_TICKET_SECRET_MAX);
    if (buf == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    int n = dw_ticket_read_file(value, DW_TICKET_SECRET_MIN, DW_TICKET_SECRET_MAX, buf, why,
                                sizeof(why));
    if (n < 0) {
        dc_conf_error(ctx, "ticket-secret-file: %s", why);
        return -1;
    }
    t->secret = buf;
    t->secret_len = (size_t)n;
    warn_readable("ticket-secret-file", value);
    return 0;
}

/* A private key that other users can read is as good as published: say so at start (and at
 * each reload) without refusing to serve, as sshd refuses and nginx stays silent. Group
 * read is the usual deployment (root:ssl-cert 0640); a key that cannot be read at all is
 * origin/tls.c's error to report. */
static int
parse_key(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    if (dc_conf_parse_strv(ctx, value, field) < 0)
        return -1;
    struct stat st;
    if (stat(value, &st) == 0 && (st.st_mode & S_IROTH))
        DC_LOG_WARN("key_file_readable", "file=%s mode=%04o", value,
                    (unsigned)(st.st_mode & 07777));
    return 0;
}

static int
parse_server_name(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    /* A host name, or "*." and a host name; no ports, no slashes. */
    const char *p = value;
    if (strncmp(p, "*.", 2) == 0)
        p += 2;
    if (*p == '\0' || strlen(p) > 253) {
        dc_conf_error(ctx, "server-name: '%s' is not a host name", value);
        return -1;
    }
    for (; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_')) {
            dc_conf_error(ctx,
                          "server-name: '%s' is not a host name (wildcards only as a "
                          "leading \"*.\")",
                          value);
            return -1;
        }
    }
    return dc_conf_parse_strv(ctx, value, field);
}

static const struct dc_conf_option top[] = {
    DC_DAEMON_CONF_ROWS(struct dw_conf, daemon),
    DC_CONF_OPT_STR("access-log", struct dw_conf, access_log, "stderr",
                    "file to append one line per request to; stderr; off"),
    DC_CONF_OPT_INT("max-request-line", struct dw_conf, max_request_line, "8192", 256, 1 << 20,
                    "longest request line (method, target, version); longer: 414"),
    DC_CONF_OPT_INT("max-header-size", struct dw_conf, max_header_size, "16384", 1024, 1 << 20,
                    "all header bytes of one request; more: 431"),
    DC_CONF_OPT_INT("max-headers", struct dw_conf, max_headers, "100", 8, 10000,
                    "header fields in one request; more: 431"),
    DC_CONF_OPT_SIZE("max-body-size", struct dw_conf, max_body_size, "0", 0, 65536,
                     "request body bytes accepted (and discarded); more: 413"),
    DC_CONF_OPT_DURATION("handshake-timeout", struct dw_conf, handshake_timeout_ms, "10s", 100,
                         600000, "TLS handshake must finish within this"),
    DC_CONF_OPT_DURATION("header-timeout", struct dw_conf, header_timeout_ms, "10s", 100, 600000,
                         "a request's headers must arrive within this; then 408"),
    DC_CONF_OPT_DURATION("keepalive-timeout", struct dw_conf, keepalive_timeout_ms, "75s", 0,
                         3600000, "idle keep-alive connections close after this; 0: no keep-alive"),
    DC_CONF_OPT_DURATION("request-timeout", struct dw_conf, request_timeout_ms, "60s", 100,
                         86400000,
                         "the longest a client may take to send a request's rest and "
                         "read its response without progress"),
    DC_CONF_OPT_INT("keepalive-requests", struct dw_conf, keepalive_requests, "1000", 1, 1 << 30,
                    "requests served on one connection before it closes"),
    DC_CONF_OPT_SIZE("file-cache-size", struct dw_conf, file_cache_size, "64M", 0, (int64_t)1 << 36,
                     "memory for small files served from RAM; 0: off"),
    DC_CONF_OPT_SIZE("file-cache-max-file", struct dw_conf, file_cache_max_file, "256k", 0,
                     (int64_t)1 << 30, "largest file kept in the file cache"),
    DC_CONF_OPT_SIZE("chunk-size", struct dw_conf, chunk_size, "64k", 4096, 16 << 20,
                     "large files are read and sent in chunks of this size"),
    DC_CONF_OPT_DURATION("ticket-key-lifetime", struct dw_conf, ticket_key_lifetime_ms, "1h", 1000,
                         7 * 86400000LL, "session ticket keys rotate this often"),
    DC_CONF_OPT_CUSTOM("ticket-key-file", struct dw_conf, tickets, NULL, parse_ticket_key_file,
                       DC_CONF_MULTI,
                       "session ticket key shared with other origins (nginx's 48/80-byte "
                       "format); repeat: the first encrypts, all decrypt"),
    DC_CONF_OPT_CUSTOM("ticket-secret-file", struct dw_conf, tickets, NULL,
                       parse_ticket_secret_file, 0,
                       "secret shared with other origins: each ticket-key-lifetime period's key "
                       "is derived from it, so a fleet rotates in step"),
    DC_CONF_OPT_INT("session-cache-size", struct dw_conf, session_cache_size, "20480", 0, 10000000,
                    "TLS 1.2 sessions kept for resumption by session ID"),
    DC_CONF_OPT_INT("max-connections", struct dw_conf, max_connections, "10000", 1, 10000000,
                    "open client connections per worker; more are closed at once"),
    DC_CONF_OPT_STR("control-socket", struct dw_conf, control_socket, "",
                    "UNIX socket for duet-control (mode 0660); \"\" = off"),
    DC_CONF_OPT_STR("trace-file", struct dw_conf, trace_file, "",
                    "where `duet-control trace on` appends the flow trace's events (JSON "
                    "lines); \"\" = tracing cannot be turned on"),
    DC_CONF_OPT_STR("metrics", struct dw_conf, metrics, "",
                    "address:port serving Prometheus metrics at /metrics; \"\" = off"),
    DC_CONF_OPT_DURATION("file-cache-valid", struct dw_conf, file_cache_valid_ms, "1s", 0, 3600000,
                         "how long a cached file is served before it is compared "
                         "with the disk again"),
    DC_CONF_OPT_END,
};

/* [listen ADDR]: own rows, then the TCP knobs of common/sock.h. */
static struct dc_conf_option listen_opts[6 + DC_SOCK_CONF_NOPTS];

static const struct dc_conf_option listen_own[] = {
    DC_CONF_OPT_BOOL("tls", struct dw_conf_listen, tls, "yes", "serve HTTPS on this address"),
    DC_CONF_OPT_BOOL("redirect-https", struct dw_conf_listen, redirect_https, "no",
                     "plain HTTP that answers every request with 301 to https://"),
    DC_CONF_OPT_INT("https-port", struct dw_conf_listen, https_port, "443", 1, 65535,
                    "port named in those redirects"),
    DC_CONF_OPT_ENUM("close-first", struct dw_conf_listen, close_first, "client", "client|server",
                     "who closes an idle keep-alive connection (and so keeps "
                     "TIME_WAIT)"),
    DC_CONF_OPT_BOOL("reset-timedout-connection", struct dw_conf_listen, reset_timedout, "no",
                     "a client that timed out gets RST, so its unsent data does not sit in "
                     "FIN_WAIT_1"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_option site_opts[] = {
    DC_CONF_OPT_CUSTOM("server-name", struct dw_conf_site, server_names, NULL, parse_server_name,
                       DC_CONF_MULTI, "host name served; repeat; *.example.test wildcards"),
    DC_CONF_OPT_STR("root", struct dw_conf_site, root, NULL, "document root directory"),
    DC_CONF_OPT_CUSTOM("cert", struct dw_conf_site, certs, NULL, parse_cert, DC_CONF_MULTI,
                       "certificate chain (PEM); repeat with key for ECDSA and RSA"),
    DC_CONF_OPT_CUSTOM("key", struct dw_conf_site, keys, NULL, parse_key, DC_CONF_MULTI,
                       "private key (PEM) for the cert at the same position"),
    DC_CONF_OPT_STR("index", struct dw_conf_site, index, "index.html",
                    "file served for a directory"),
    DC_CONF_OPT_BOOL("default", struct dw_conf_site, is_default, "no",
                     "serve clients whose SNI names no site"),
    DC_CONF_OPT_BOOL("precompressed", struct dw_conf_site, precompressed, "no",
                     "serve FILE.br/.zst/.gz beside FILE when Accept-Encoding allows"),
    DC_CONF_OPT_END,
};

static int
check_listen(struct dc_conf_ctx *ctx, void *section)
{
    struct dw_conf_listen *l = section;
    if (dc_addr_parse(l->name, l->tls ? 443 : 80, &l->addr) < 0) {
        dc_conf_error(ctx,
                      "[listen %s]: not an address (use 0.0.0.0:443, [::]:443, "
                      "127.0.0.1:8443)",
                      l->name);
        return -1;
    }
    if (l->redirect_https && l->tls) {
        dc_conf_error(ctx, "[listen %s]: redirect-https needs tls = no", l->name);
        return -1;
    }
    return 0;
}

static int
check_site(struct dc_conf_ctx *ctx, void *section)
{
    struct dw_conf_site *s = section;
    s->line = ctx->line;
    s->rootfd = -1;
    int errors = 0;
    if (s->root == NULL) {
        dc_conf_error(ctx, "[site %s]: needs a root", s->name);
        errors++;
    } else if ((s->rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        /* Opened now, so --check and a reload report a missing root, and requests are
         * resolved beneath this fd whatever happens to the path later. */
        dc_conf_error(ctx, "[site %s]: root %s: %s", s->name, s->root, strerror(errno));
        errors++;
    }
    if (s->certs.n != s->keys.n) {
        dc_conf_error(ctx, "[site %s]: %zu cert but %zu key lines; give them in pairs", s->name,
                      s->certs.n, s->keys.n);
        errors++;
    }
    return errors ? -1 : 0;
}

static const struct dc_conf_section sections[] = {
    DC_CONF_SECTION("listen", struct dw_conf_listen, listen_opts, struct dw_conf, listens, nlistens,
                    name, true, check_listen, "an address to accept connections on"),
    DC_CONF_SECTION("site", struct dw_conf_site, site_opts, struct dw_conf, sites, nsites, name,
                    true, check_site, "a site: names, document root, certificates"),
    DC_CONF_SECTION_END,
};

static void __attribute__((constructor)) build_listen_table(void)
{
    size_t n = dc_conf_rows_copy(listen_opts, listen_own, 0);
    n += (size_t)dc_sock_conf_rows(listen_opts + n, offsetof(struct dw_conf_listen, sock));
    listen_opts[n] = (struct dc_conf_option)DC_CONF_OPT_END;
}

static int
check(struct dc_conf_ctx *ctx, void *conf)
{
    struct dw_conf *c = conf;
    int errors = 0;
    if (c->nlistens == 0) {
        dc_conf_error(ctx, "no [listen ADDR] section: nothing to serve on");
        errors++;
    }
    bool tls = false;
    for (size_t i = 0; i < c->nlistens; i++)
        tls |= c->listens[i].tls;
    if (c->nsites == 0) {
        dc_conf_error(ctx, "no [site NAME] section: nothing to serve");
        return -1;
    }
    size_t defaults = 0;
    c->default_site = 0;
    for (size_t i = 0; i < c->nsites; i++) {
        if (c->sites[i].is_default) {
            defaults++;
            c->default_site = i;
        }
        if (tls && c->sites[i].certs.n == 0) {
            struct dc_conf_ctx at = *ctx;
            at.line = c->sites[i].line;
            dc_conf_error(&at, "[site %s]: a TLS listener needs a cert and key for every site",
                          c->sites[i].name);
            errors++;
        }
    }
    if (defaults > 1) {
        dc_conf_error(ctx, "%zu sites say default = yes; only one may", defaults);
        errors++;
    }
    if (errors)
        return -1;
    /* Certificates are loaded here so --check reports a bad one with its line. */
    if (tls) {
        c->tls = dw_tls_new(c, ctx);
        if (c->tls == NULL)
            return -1;
    }
    return 0;
}

const struct dc_conf_schema dw_conf_schema = {
    .program = "duet-origin",
    .options = top,
    .sections = sections,
    .check = check,
};

struct dw_conf *
dw_conf_new(void)
{
    struct dw_conf *c = calloc(1, sizeof(*c));
    if (c) {
        static unsigned generations;
        dc_arena_init(&c->arena, 0);
        c->refs = 1;
        c->generation = __atomic_add_fetch(&generations, 1, __ATOMIC_RELAXED) & 0xffffff;
    }
    return c;
}

struct dw_conf *
dw_conf_ref(struct dw_conf *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    return c;
}

void
dw_conf_unref(struct dw_conf *c)
{
    if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    dw_tls_free(c->tls);
    for (size_t i = 0; i < c->nsites; i++)
        if (c->sites[i].rootfd > 0)
            close(c->sites[i].rootfd);
    dc_arena_deinit(&c->arena);
    free(c);
}
