/*
 * duet-origin's configuration: the option table (the interface users see, documented in
 * conf/duet-origin.conf) and the structs it fills. A loaded configuration is immutable and
 * owns its memory through its arena; reload builds a new one.
 */
#ifndef DUET_ORIGIN_CONF_H
#define DUET_ORIGIN_CONF_H

#include "common/addr.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/sock.h"

#define DW_CONF_DEFAULT_PATH "/etc/duet/duet-origin.conf"

enum dw_close_first {
    DW_CLOSE_CLIENT = 0, /* on keep-alive expiry, half-close and let the client close first:
                            TIME_WAIT stays on the client */
    DW_CLOSE_SERVER,     /* close at once: TIME_WAIT lands on the server */
};

/* [listen ADDR] */
struct dw_conf_listen {
    char *name;                /* the section name: the address */
    union dc_sockaddr addr;
    bool tls;
    bool redirect_https;       /* plain HTTP answering 301 to https:// */
    int64_t https_port;        /* port used in redirects; 443 */
    int close_first;           /* enum dw_close_first */
    bool reset_timedout;       /* a client that timed out gets RST, not FIN (origin/conn.c) */
    struct dc_sock_opts sock;
};

/* [site NAME] */
struct dw_conf_site {
    char *name;
    struct dc_conf_strv server_names; /* exact names and "*.suffix" wildcards */
    char *root;
    struct dc_conf_strv certs, keys;  /* pairs, in order: ECDSA and/or RSA */
    int *cert_lines;                  /* config line of each cert, for later errors */
    size_t ncert_lines;
    char *index;                      /* index file for directories */
    bool is_default;
    bool precompressed;               /* serve FILE.br/.zst/.gz when accepted (origin/file.c) */
    int line;                         /* the section header's line */
    int rootfd;                       /* root opened O_PATH at load (-1: not opened) */
};

struct dw_tls;

#define DW_TICKET_FILES_MAX 8

/* ticket-key-file / ticket-secret-file (origin/ticketkey.h), read while the config loads. */
struct dw_conf_tickets {
    uint8_t keys[DW_TICKET_FILES_MAX][80]; /* each file's bytes: the first encrypts */
    uint8_t key_len[DW_TICKET_FILES_MAX];
    size_t nkeys;
    uint8_t *secret; /* in the arena; NULL: none */
    size_t secret_len;
};

struct dw_conf {
    struct dc_arena arena;
    struct dc_daemon_conf daemon;
    char *access_log;               /* path, "stderr" or "off" */
    int64_t max_request_line;       /* bytes */
    int64_t max_header_size;        /* all header bytes of one request */
    int64_t max_headers;            /* header fields */
    uint64_t max_body_size;         /* request bodies beyond this: 413 */
    int64_t handshake_timeout_ms;
    int64_t header_timeout_ms;      /* from the first byte of a request to its last header */
    int64_t keepalive_timeout_ms;   /* idle between requests */
    int64_t request_timeout_ms;     /* one whole request, reading and sending */
    int64_t keepalive_requests;     /* requests per connection before it is closed */
    uint64_t file_cache_size;       /* bytes of small files kept in memory */
    uint64_t file_cache_max_file;   /* files up to this size go in the cache */
    uint64_t chunk_size;            /* read/send unit for large files */
    int64_t file_cache_valid_ms;    /* cached files are re-checked on disk this often */
    int64_t ticket_key_lifetime_ms; /* session ticket keys rotate this often */
    struct dw_conf_tickets tickets; /* keys shared with other origins (a fleet) */
    int64_t session_cache_size;     /* server-side sessions kept (TLS 1.2 resumption) */
    int64_t max_connections;        /* per worker */
    char *control_socket;           /* "" = off */
    char *trace_file;               /* where `trace on` writes events (common/trace.h) */
    char *metrics;                  /* "addr:port" of the Prometheus endpoint, "" = off */
    struct dw_conf_listen *listens;
    size_t nlistens;
    struct dw_conf_site *sites;
    size_t nsites;
    size_t default_site;            /* index into sites */
    struct dw_tls *tls;             /* loaded certificates (origin/tls.c), built at load */
    const char *file;               /* the path it was loaded from */
    unsigned refs;                  /* atomic: the loader, each worker, each connection */
    unsigned generation;            /* distinct per load: keys this config's cached files */
};

extern const struct dc_conf_schema dw_conf_schema;

/* A zeroed configuration with its arena ready, for dc_cli_load_config(), holding one
 * reference. NULL on ENOMEM. */
struct dw_conf *dw_conf_new(void);
/* References: a reload swaps configurations while connections opened before it keep
 * theirs; the last release frees it (certificates, root directories, memory). Any thread. */
struct dw_conf *dw_conf_ref(struct dw_conf *c);
void dw_conf_unref(struct dw_conf *c);
#define dw_conf_free dw_conf_unref

#endif
