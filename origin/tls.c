#include "origin/tls.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/trace.h"
#include "origin/conf.h"
#include "origin/ticketkey.h"
#include "origin/vhost.h"

/* TLS 1.2: ECDHE key exchange and AEAD ciphers only (Mozilla "intermediate"). TLS 1.3: the
 * same order, Mozilla's (OpenSSL's default puts AES256 first): AES128-GCM is RFC 8446's
 * mandatory suite and what browsers ask for first anyway, and for the OpenSSL clients that
 * list AES256 first (curl, wget, wrk) it is cheaper at the same strength of security for a
 * web origin: the key schedule's HKDF runs on SHA-256 (SHA-NI) instead of SHA-384, and bulk
 * records take 10 AES rounds instead of 14 (callgrind: -3.7 % instructions per resumed
 * handshake). */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_CIPHERS "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define TLS_GROUPS "X25519:P-256:P-384"

/* Certificate/key pairs per site: one per key type (RSA, ECDSA, EdDSA) is all OpenSSL keeps. */
#define MAX_PAIRS 4

struct dw_tls {
    const struct dw_conf *conf;    /* owns us and outlives us: SNI matches against its sites */
    SSL_CTX **ctxs;                /* one per site, same index as conf->sites */
    ASN1_TIME **not_after;         /* of each site's first certificate */
    struct dw_ticket_ring **rings; /* one per site, same index (origin/ticketkey.h) */
    size_t nsites;
};

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* The reason for the oldest error on the thread's queue (the root cause; later entries only
 * say which layer passed it up), then an empty queue. A failed open reports errno through
 * ERR_LIB_SYS, whose reason has no string of its own. */
static const char *
ssl_reason(void)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return "unknown error";
    if (ERR_GET_LIB(e) == ERR_LIB_SYS)
        return strerror(ERR_GET_REASON(e));
    const char *r = ERR_reason_error_string(e);
    return r ? r : "unknown error";
}

/* Session tickets: the site's own keys (origin/ticketkey.h). The site is known by now:
 * on_client_hello runs before OpenSSL looks at a ticket. */
static int
on_ticket_key(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
              EVP_MAC_CTX *hctx, int enc)
{
    struct dw_tls_conn *c = SSL_get_app_data(ssl);
    struct dw_tls *t = c->tls;
    int site = c->site >= 0 ? c->site : (int)t->conf->default_site;
    return dw_ticket_ring_crypt(t->rings[site], SSL_version(ssl) == TLS1_3_VERSION, name, iv, cctx,
                                hctx, enc);
}

/* The host_name of a ClientHello's server_name extension (RFC 6066 §3): 1 with *name and
 * *len set, 0 when there is none or the extension is malformed (OpenSSL refuses the
 * latter itself a moment later). */
static int
hello_server_name(SSL *ssl, const char **name, size_t *len)
{
    const unsigned char *p;
    size_t n;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &n) != 1 || n < 2 ||
        ((size_t)p[0] << 8 | p[1]) != n - 2)
        return 0;
    p += 2;
    n -= 2;
    while (n >= 3) {
        size_t l = (size_t)p[1] << 8 | p[2];
        if (l > n - 3)
            return 0;
        if (p[0] == TLSEXT_NAMETYPE_host_name) {
            *name = (const char *)p + 3;
            *len = l;
            return 1;
        }
        p += 3 + l;
        n -= 3 + l;
    }
    return 0;
}

/*
 * SNI: moves the connection to the context of the site the name belongs to, or the default
 * site for a missing or unknown name. Like nginx we never fail the handshake over the name:
 * the client then sees the default certificate and decides itself. This runs first thing for
 * every ClientHello, before OpenSSL looks for a session to resume (the servername callback
 * comes after that), so the session ID context and ticket keys it checks are the site's.
 */
static int
on_client_hello(SSL *ssl, int *alert, void *arg)
{
    struct dw_tls *t = arg;
    struct dw_tls_conn *c = SSL_get_app_data(ssl);
    const char *name;
    size_t len;
    int site = hello_server_name(ssl, &name, &len) ? dw_vhost_match(t->conf, name, len) : -1;
    if (site < 0 || (size_t)site >= t->nsites)
        site = (int)t->conf->default_site;
    c->site = site;
    /* The SSL takes the new context's session ID context with it. */
    if (SSL_get_SSL_CTX(ssl) != t->ctxs[site] && SSL_set_SSL_CTX(ssl, t->ctxs[site]) == NULL) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The site was chosen in on_client_hello; acknowledging the name here makes OpenSSL record
 * it in the session. */
static int
on_servername(SSL *ssl, int *alert, void *arg)
{
    (void)ssl;
    (void)alert;
    (void)arg;
    return SSL_TLSEXT_ERR_OK;
}

/* ALPN: we speak only HTTP/1.1. A client offering only other protocols (h2 alone) gets the
 * no_application_protocol alert RFC 7301 §3.2 asks for; OpenSSL does not call this at all
 * when the client sent no ALPN extension, which is fine. */
void (*dw_tls_hello_hook)(struct dw_tls_conn *c, const unsigned char *alpn, unsigned len);

static int
on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
        unsigned int inlen, void *arg)
{
    (void)arg;
    if (DC_TRACE_ON() && dw_tls_hello_hook) /* the flow trace: the protocols offered */
        dw_tls_hello_hook(SSL_get_app_data(ssl), in, inlen);
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, alpn_http11, sizeof(alpn_http11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* The policy every site's context shares, with site si's session ID context. Returns a
 * context or NULL (reason on the queue). */
static SSL_CTX *
ctx_new(struct dw_tls *t, const struct dw_conf *conf, size_t si)
{
    const unsigned char *sid = dw_ticket_ring_sid_ctx(t->rings[si]);
    SSL_CTX *sc = SSL_CTX_new(TLS_server_method());
    if (sc == NULL)
        return NULL;
    /* Our order wins (TLS12_CIPHERS and TLS13_CIPHERS: AES-GCM, then CHACHA20), so a client
     * cannot steer us to the suite it lists first; but a client that lists CHACHA20 first
     * says it lacks AES hardware, and PRIORITIZE_CHACHA then gives it CHACHA20 (nginx with
     * ssl_prefer_server_ciphers, and what testssl.sh asks for). */
    SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
    /* No SSL_MODE_RELEASE_BUFFERS: OpenSSL's read and write buffers (about 34 KiB) are
     * given back by dw_tls_conn_trim when the connection goes idle, not after every
     * record. */
    /* A ticket made just before a rotation stays decryptable for two more lifetimes. */
    long timeout = (long)(conf->ticket_key_lifetime_ms / 1000 * 2);
    if (SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(sc, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(sc, TLS12_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(sc, TLS13_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(sc, TLS_GROUPS) != 1 ||
        SSL_CTX_set_session_id_context(sc, sid, DW_TICKET_SID_CTX_LEN) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(sc, on_ticket_key) != 1) {
        SSL_CTX_free(sc);
        return NULL;
    }
    if (timeout > 0)
        SSL_CTX_set_timeout(sc, timeout);
    /* OpenSSL keeps TLS 1.2 session IDs in the context the SSL was created from (its
     * session_ctx), and SSL_set_SSL_CTX does not change that: every connection starts on the
     * default site's context, so that one cache serves all sites and the others stay empty;
     * each session carries its site's session ID context, which a lookup must match.
     * The mode is still needed on every context: ServerHello carries a session ID only when
     * the current (SNI-chosen) context has server caching on. A size of 0 would mean
     * "unlimited" to OpenSSL; for us it means off. */
    if (conf->session_cache_size > 0) {
        SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(sc, (long)conf->session_cache_size);
    } else {
        SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_client_hello_cb(sc, on_client_hello, t);
    SSL_CTX_set_tlsext_servername_callback(sc, on_servername);
    SSL_CTX_set_tlsext_servername_arg(sc, t);
    SSL_CTX_set_alpn_select_cb(sc, on_alpn, NULL);
    return sc;
}

static const char *
key_type_name(int id)
{
    switch (id) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_EC:
        return "ECDSA";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    default:
        return "other";
    }
}

/* Loads pair i of site s into sc. Returns 0, or -1 after reporting at the cert's line. */
static int
load_pair(struct dw_tls *t, size_t si, size_t i, int *types, struct dc_conf_ctx *ctx)
{
    const struct dw_conf_site *s = &t->conf->sites[si];
    SSL_CTX *sc = t->ctxs[si];
    const char *cert = s->certs.v[i], *key = s->keys.v[i];
    struct dc_conf_ctx at = *ctx;
    at.line = i < s->ncert_lines ? s->cert_lines[i] : s->line;

    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(sc, cert) != 1) {
        dc_conf_error(&at, "[site %s]: cert %s: cannot load certificate chain: %s", s->name, cert,
                      ssl_reason());
        return -1;
    }
    X509 *x = SSL_CTX_get0_certificate(sc);
    EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
    int type = pub ? EVP_PKEY_get_base_id(pub) : EVP_PKEY_NONE;
    for (size_t j = 0; j < i; j++)
        if (types[j] == type) {
            /* OpenSSL holds one certificate per key type: the second would silently win. */
            dc_conf_error(&at,
                          "[site %s]: cert %s: a second %s certificate; give at most one "
                          "ECDSA and one RSA pair",
                          s->name, cert, key_type_name(type));
            return -1;
        }
    types[i] = type;
    if (SSL_CTX_use_PrivateKey_file(sc, key, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_error();
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
            dc_conf_error(&at, "[site %s]: key %s does not match cert %s: %s", s->name, key, cert,
                          ssl_reason());
        else
            dc_conf_error(&at, "[site %s]: key %s (for cert %s): cannot load private key: %s",
                          s->name, key, cert, ssl_reason());
        return -1;
    }
    /* A key of another type lands in another slot; OpenSSL's own check would then only say
     * "no certificate assigned". */
    int ktype = EVP_PKEY_get_base_id(SSL_CTX_get0_privatekey(sc));
    if (ktype != type) {
        dc_conf_error(&at, "[site %s]: key %s is %s but cert %s is %s", s->name, key,
                      key_type_name(ktype), cert, key_type_name(type));
        return -1;
    }
    if (SSL_CTX_check_private_key(sc) != 1) {
        dc_conf_error(&at, "[site %s]: key %s does not match cert %s: %s", s->name, key, cert,
                      ssl_reason());
        return -1;
    }
    const ASN1_TIME *na = X509_get0_notAfter(x);
    if (i == 0 && (t->not_after[si] = ASN1_TIME_dup(na)) == NULL) {
        dc_conf_error(&at, "out of memory");
        return -1;
    }
    /* Expired is a warning, not an error: refusing to start would take every other site
     * down with it, and clients decide themselves what to do with an expired certificate. */
    if (X509_cmp_current_time(na) < 0)
        dc_log(DC_LOG_WARN, "cert_expired", "file=%s line=%d site=%s cert=%s", at.file, at.line,
               s->name, cert);
    return 0;
}

/*
 * One context per site rather than one with every certificate: SNI picks the site, and the
 * site's context holds its ECDSA and RSA pairs, between which OpenSSL picks what the client
 * supports. Errors of all sites are reported, not just the first.
 */
struct dw_tls *
dw_tls_new(const struct dw_conf *conf, struct dc_conf_ctx *ctx)
{
    if (conf->nsites == 0 || conf->default_site >= conf->nsites) {
        dc_conf_error(ctx, "TLS needs at least one [site] with a cert and key");
        return NULL;
    }
    struct dw_tls *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        dc_conf_error(ctx, "out of memory");
        return NULL;
    }
    t->conf = conf;
    t->nsites = conf->nsites;
    t->ctxs = calloc(conf->nsites, sizeof(*t->ctxs));
    t->not_after = calloc(conf->nsites, sizeof(*t->not_after));
    t->rings = calloc(conf->nsites, sizeof(*t->rings));
    if (t->ctxs == NULL || t->not_after == NULL || t->rings == NULL) {
        free(t->ctxs);
        free(t->not_after);
        free(t->rings);
        free(t);
        dc_conf_error(ctx, "out of memory");
        return NULL;
    }
    int errors = 0;
    for (size_t si = 0; si < conf->nsites && errors == 0; si++)
        if ((t->rings[si] = dw_ticket_ring_get(conf->sites[si].name)) == NULL ||
            dw_ticket_ring_configure(t->rings[si], conf) < 0) {
            dc_conf_error(ctx, "[site %s]: cannot make session ticket keys", conf->sites[si].name);
            errors++;
        }
    for (size_t si = 0; si < conf->nsites && errors == 0; si++) {
        ERR_clear_error();
        if ((t->ctxs[si] = ctx_new(t, conf, si)) == NULL) {
            dc_conf_error(ctx, "[site %s]: TLS context: %s", conf->sites[si].name, ssl_reason());
            errors++;
        }
    }
    /* Certificates only once every context exists; then all sites' problems at once. */
    bool ready = errors == 0;
    for (size_t si = 0; si < conf->nsites && ready; si++) {
        /* Pairs given unevenly were already reported by the site's own check. */
        const struct dw_conf_site *s = &conf->sites[si];
        size_t n = s->certs.n < s->keys.n ? s->certs.n : s->keys.n;
        int types[MAX_PAIRS];
        struct dc_conf_ctx at = *ctx;
        at.line = s->line;
        if (n == 0 || n > MAX_PAIRS) {
            dc_conf_error(&at, "[site %s]: TLS needs 1 to %d cert/key pairs, not %zu", s->name,
                          MAX_PAIRS, n);
            errors++;
        }
        for (size_t i = 0; i < n && i < MAX_PAIRS; i++)
            if (load_pair(t, si, i, types, ctx) < 0) {
                errors++;
                break; /* the next pair's errors would only echo this one */
            }
    }
    ERR_clear_error();
    if (errors) {
        dw_tls_free(t);
        return NULL;
    }
    return t;
}

void
dw_tls_free(struct dw_tls *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nsites; i++) {
        SSL_CTX_free(t->ctxs[i]);
        ASN1_TIME_free(t->not_after[i]);
        dw_ticket_ring_put(t->rings[i]);
    }
    free(t->ctxs);
    free(t->not_after);
    free(t->rings);
    free(t);
}

/* Every site's ring. A ring shared with the configuration before a reload turns for both,
 * which is what the connections still on the old one need too. */
int
dw_tls_rotate_ticket_keys(struct dw_tls *t)
{
    int rc = 0;
    for (size_t i = 0; i < t->nsites; i++)
        if (dw_ticket_ring_rotate(t->rings[i]) < 0)
            rc = -EIO;
    return rc;
}

int64_t
dw_tls_site_expiry(const struct dw_tls *t, size_t site)
{
    int days = 0, secs = 0;
    if (site >= t->nsites || t->not_after[site] == NULL ||
        ASN1_TIME_diff(&days, &secs, NULL, t->not_after[site]) != 1)
        return 0;
    return (int64_t)days * 86400 + secs;
}

/* ---- ciphertext queues and the BIO that reads and writes them ---- */

static void
queue_free(struct dw_tls_queue *q)
{
    if (q->data != NULL) {
        if (q->pool != NULL && q->cap == q->pool->size)
            dc_buf_put(q->pool, q->data);
        else
            free(q->data);
    }
    q->data = NULL;
    q->cap = q->head = q->tail = 0;
}

/* Room for len more bytes at the tail: the queued bytes move to the front when that makes
 * room, else to a pool buffer (when they fit one) or an allocation of their own. */
static int
queue_reserve(struct dw_tls_queue *q, size_t len)
{
    size_t live = q->tail - q->head;
    if (len > SIZE_MAX / 2 - live)
        return -ENOMEM;
    size_t want = live + len;
    if (want <= q->cap) {
        memmove(q->data, q->data + q->head, live);
        q->head = 0;
        q->tail = live;
        return 0;
    }
    size_t cap;
    uint8_t *d;
    if (q->pool != NULL && want <= q->pool->size) {
        cap = q->pool->size;
        d = dc_buf_get(q->pool);
    } else {
        cap = want > 2 * q->cap ? want : 2 * q->cap;
        d = malloc(cap);
    }
    if (d == NULL)
        return -ENOMEM;
    if (live > 0)
        memcpy(d, q->data + q->head, live);
    queue_free(q);
    q->data = d;
    q->cap = cap;
    q->tail = live;
    return 0;
}

static int
queue_append(struct dw_tls_queue *q, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (len > q->cap - q->tail && queue_reserve(q, len) < 0)
        return -ENOMEM;
    memcpy(q->data + q->tail, data, len);
    q->tail += len;
    return 0;
}

static size_t
queue_take(struct dw_tls_queue *q, void *buf, size_t cap)
{
    size_t n = q->tail - q->head;
    if (n > cap)
        n = cap;
    if (n == 0)
        return 0;
    memcpy(buf, q->data + q->head, n);
    q->head += n;
    if (q->head == q->tail)
        q->head = q->tail = 0;
    return n;
}

/* OpenSSL writes records into the out queue; never blocks. */
static int
qbio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    BIO_clear_retry_flags(b);
    if (queue_append(BIO_get_data(b), data, len) < 0)
        return 0;
    *written = len;
    return 1;
}

/* OpenSSL reads records from the in queue; an empty queue means "no more yet" (want read),
 * not end of stream: EOF on the socket is the connection's business. */
static int
qbio_read(BIO *b, char *buf, size_t len, size_t *readbytes)
{
    BIO_clear_retry_flags(b);
    size_t n = queue_take(BIO_get_data(b), buf, len);
    if (n == 0) {
        BIO_set_retry_read(b);
        return 0;
    }
    *readbytes = n;
    return 1;
}

static long
qbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    const struct dw_tls_queue *q = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_PENDING:
        return (long)(q->tail - q->head);
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0; /* WPENDING, EOF, kTLS and the rest: nothing */
    }
}

static int
qbio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* The SSL frees its BIOs, and with them the queues' storage. */
static int
qbio_destroy(BIO *b)
{
    struct dw_tls_queue *q = BIO_get_data(b);
    if (q != NULL)
        queue_free(q);
    BIO_set_data(b, NULL);
    return 1;
}

static BIO_METHOD *qbio_method;

static void
qbio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "duet queue");
    if (m == NULL || BIO_meth_set_write_ex(m, qbio_write) != 1 ||
        BIO_meth_set_read_ex(m, qbio_read) != 1 || BIO_meth_set_ctrl(m, qbio_ctrl) != 1 ||
        BIO_meth_set_create(m, qbio_create) != 1 || BIO_meth_set_destroy(m, qbio_destroy) != 1) {
        BIO_meth_free(m);
        return;
    }
    qbio_method = m;
}

static BIO *
qbio_new(struct dw_tls_queue *q)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, qbio_method_init);
    BIO *b = qbio_method ? BIO_new(qbio_method) : NULL;
    if (b != NULL)
        BIO_set_data(b, q);
    return b;
}

/*
 * The SSL starts on the default site's context; SNI may switch it. Its session cache is then
 * the default context's (see ctx_new), whichever site the connection ends on.
 */
int
dw_tls_conn_init(struct dw_tls_conn *c, struct dw_tls *t, struct dc_bufpool *inpool,
                 struct dc_bufpool *outpool)
{
    memset(c, 0, sizeof(*c));
    c->tls = t;
    c->site = -1;
    c->in.pool = inpool;
    c->out.pool = outpool;
    c->ssl = SSL_new(t->ctxs[t->conf->default_site]);
    BIO *rbio = qbio_new(&c->in), *wbio = qbio_new(&c->out);
    if (c->ssl == NULL || rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(c->ssl);
        ERR_clear_error();
        memset(c, 0, sizeof(*c));
        return -ENOMEM;
    }
    SSL_set_bio(c->ssl, rbio, wbio); /* the SSL owns both BIOs from here */
    SSL_set_app_data(c->ssl, c);
    SSL_set_accept_state(c->ssl);
    return 0;
}

/*
 * OpenSSL takes an SSL freed without a close_notify exchange for a broken session and drops it
 * from the session cache. Most clients just close the TCP connection, so like nginx we declare
 * a completed session shut down; one that failed with a fatal alert was already dropped.
 */
void
dw_tls_conn_deinit(struct dw_tls_conn *c)
{
    if (c->ssl && c->handshake_done && !SSL_in_init(c->ssl))
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c->ssl); /* frees the BIOs, which give the queues' storage back */
    c->ssl = NULL;
}

void
dw_tls_conn_trim(struct dw_tls_conn *c)
{
    /* Refused (and harmless) while OpenSSL holds a record's bytes or unread plaintext. */
    if (c->ssl != NULL && SSL_free_buffers(c->ssl) != 1)
        ERR_clear_error();
    if (c->in.head == c->in.tail)
        queue_free(&c->in);
    if (c->out.head == c->out.tail)
        queue_free(&c->out);
}

int
dw_tls_conn_feed(struct dw_tls_conn *c, const void *data, size_t len)
{
    return queue_append(&c->in, data, len);
}

/* Maps the outcome of a failed SSL call. The error queue is emptied so that one client's
 * failure leaves nothing behind for the next connection on this thread. */
static int
conn_error(struct dw_tls_conn *c, int r)
{
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return DW_AGAIN;
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return 0;
    }
    /* Per connection, so debug only: a scanner must not flood the log. */
    DC_LOG_DEBUG("tls_error", "site=%d ssl_error=%d reason=\"%s\"", c->site, e, ssl_reason());
    ERR_clear_error();
    return DW_TLS_ERROR;
}

/*
 * On failure OpenSSL has usually queued an alert in the write BIO: flushing dw_tls_conn_out
 * before closing tells the client why. On success, TLS 1.3 session tickets are already in the
 * write BIO too: OpenSSL writes them right after the client's Finished.
 */
int
dw_tls_conn_handshake(struct dw_tls_conn *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->handshake_done = true;
        if (c->site < 0)
            c->site = (int)c->tls->conf->default_site;
        return 0;
    }
    r = conn_error(c, r);
    return r == 0 ? DW_TLS_ERROR : r; /* close_notify during the handshake is a failure */
}

/* Every failure path empties the error queue, so before the hot calls it is normally empty
 * already; peeking is much cheaper than clearing under OpenSSL 3 (bench/README.md). */
static inline void
clear_stale_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

int
dw_tls_conn_read(struct dw_tls_conn *c, void *buf, size_t cap)
{
    /* Nothing received and nothing left inside OpenSSL (plaintext of a record read in part,
     * or a record's first bytes): SSL_read could only say "want read", and asking cost
     * ~1k instructions (SSL_read, SSL_get_error, two error-queue lookups), twice a request:
     * once after the request's record, once when the response is out. */
    if (c->in.head == c->in.tail && !SSL_has_pending(c->ssl))
        return DW_AGAIN;
    clear_stale_errors();
    int r = SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    if (r > 0)
        return r;
    return conn_error(c, r);
}

int
dw_tls_conn_write(struct dw_tls_conn *c, const void *data, size_t len)
{
    const char *p = data;
    /* No look at the error queue first: the outcome is r alone, SSL_get_error is not asked
     * (an error-queue lookup costs ~200 instructions under OpenSSL 3). */
    while (len > 0) {
        int r = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
        if (r <= 0) {
            ERR_clear_error();
            return DW_TLS_ERROR;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

void
dw_tls_conn_shutdown(struct dw_tls_conn *c)
{
    /* Only a finished, healthy session can send close_notify; after a fatal error OpenSSL
     * is back "in init" and the alert already went out. */
    if (c->handshake_done && !SSL_in_init(c->ssl)) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);
    }
    ERR_clear_error();
}

size_t
dw_tls_conn_out(struct dw_tls_conn *c, void *buf, size_t cap)
{
    return queue_take(&c->out, buf, cap);
}

size_t
dw_tls_conn_out_take(struct dw_tls_conn *c, struct dw_tls_queue *q)
{
    struct dw_tls_queue *o = &c->out;
    size_t n = o->tail - o->head;
    if (n == 0) {
        *q = (struct dw_tls_queue){.pool = o->pool};
        return 0;
    }
    *q = *o;
    o->data = NULL;
    o->cap = o->head = o->tail = 0;
    return n;
}

void
dw_tls_queue_free(struct dw_tls_queue *q)
{
    queue_free(q);
}

size_t
dw_tls_conn_in_pending(const struct dw_tls_conn *c)
{
    return c->in.tail - c->in.head;
}

size_t
dw_tls_conn_out_pending(const struct dw_tls_conn *c)
{
    return c->out.tail - c->out.head;
}

const char *
dw_tls_conn_version(const struct dw_tls_conn *c)
{
    return SSL_get_version(c->ssl);
}

bool
dw_tls_conn_resumed(const struct dw_tls_conn *c)
{
    return SSL_session_reused(c->ssl) == 1;
}

const char *
dw_tls_conn_alpn(const struct dw_tls_conn *c)
{
    const unsigned char *p;
    unsigned int len;
    SSL_get0_alpn_selected(c->ssl, &p, &len);
    /* on_alpn agrees on nothing else. */
    return len > 0 ? "http/1.1" : "";
}
