/* Unit tests for origin/tls.c: full handshakes in memory between an OpenSSL client and the
 * server side, with certificates generated at test time; SNI, ALPN, versions, resumption,
 * ticket-key rotation, and config errors reported at their line. */
#include "origin/tls.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/buf.h"
#include "common/log.h"
#include "origin/conf.h"
#include "test.h"

struct pem {
    char crt[96], key[96];
};

static char dir[32];
static struct pem a_ec, a_rsa, b_rsa, c_ec, expired;
static char garbage[96];

static void
write_pem(const char *path, EVP_PKEY *pk, X509 *x)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    if (pk)
        ASSERT_EQ(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
    if (x)
        ASSERT_EQ(PEM_write_X509(f, x), 1);
    ASSERT_EQ(fclose(f), 0);
}

/* A self-signed certificate for cn valid from two days ago until `days` from now. */
static void
make_cert(struct pem *out, const char *stem, bool rsa, const char *cn, long days)
{
    snprintf(out->crt, sizeof(out->crt), "%s/%s.crt", dir, stem);
    snprintf(out->key, sizeof(out->key), "%s/%s.key", dir, stem);
    EVP_PKEY *pk = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ASSERT_NOT_NULL(pk);
    X509 *x = X509_new();
    ASSERT_NOT_NULL(x);
    ASSERT_EQ(X509_set_version(x, 2), 1);
    ASSERT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    ASSERT_NOT_NULL(X509_gmtime_adj(X509_getm_notBefore(x), -2 * 86400L));
    ASSERT_NOT_NULL(X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L));
    X509_NAME *name = X509_get_subject_name(x);
    ASSERT_EQ(
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
        1);
    ASSERT_EQ(X509_set_issuer_name(x, name), 1);
    ASSERT_EQ(X509_set_pubkey(x, pk), 1);
    ASSERT_GT(X509_sign(x, pk, EVP_sha256()), 0);
    write_pem(out->key, pk, NULL);
    write_pem(out->crt, NULL, x);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void
setup(void)
{
    strcpy(dir, "/tmp/duet-test-tls-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
    make_cert(&a_ec, "a-ec", false, "a.test", 30);
    make_cert(&a_rsa, "a-rsa", true, "a.test", 30);
    make_cert(&b_rsa, "b-rsa", true, "b.test", 30);
    make_cert(&c_ec, "c-ec", false, "c.test", 30);
    make_cert(&expired, "old", false, "old.test", -1);
    snprintf(garbage, sizeof(garbage), "%s/garbage.pem", dir);
    FILE *f = fopen(garbage, "w");
    ASSERT_NOT_NULL(f);
    fputs("this is not PEM\n", f);
    ASSERT_EQ(fclose(f), 0);
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

/* Loads text as t.conf; returns the configuration and leaves its errors in errs. */
static struct dw_conf *
load(const char *text, struct dc_conf_errors *errs)
{
    struct dw_conf *conf = dw_conf_new();
    ASSERT_NOT_NULL(conf);
    memset(errs, 0, sizeof(*errs));
    dc_conf_load_string(&dw_conf_schema, "t.conf", text, conf, &conf->arena, errs);
    return conf;
}

/* Three sites: a (ECDSA and RSA), b (RSA, a wildcard), c (ECDSA, the default; not the first
 * site, so "default" and "index 0" cannot be confused). */
static struct dw_conf *
load_good(void)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "session-cache-size = 100\n"
             "[listen 127.0.0.1:8443]\n"
             "[site a]\nserver-name = a.test\nroot = /tmp\n"
             "cert = %s\nkey = %s\ncert = %s\nkey = %s\n"
             "[site b]\nserver-name = *.b.test\nroot = /tmp\ncert = %s\nkey = %s\n"
             "[site c]\nserver-name = c.test\nroot = /tmp\ncert = %s\nkey = %s\ndefault = yes\n",
             a_ec.crt, a_ec.key, a_rsa.crt, a_rsa.key, b_rsa.crt, b_rsa.key, c_ec.crt, c_ec.key);
    struct dc_conf_errors errs;
    struct dw_conf *conf = load(text, &errs);
    dc_conf_errors_print(&errs, stderr);
    ASSERT_EQ(errs.n, 0);
    ASSERT_NOT_NULL(conf->tls);
    ASSERT_EQ(conf->default_site, 2);
    return conf;
}

/* A client SSL and a server dw_tls_conn joined by our own pump of memory BIOs. */
struct link {
    SSL *cli;
    struct dw_tls_conn srv;
};

enum { HS_OK, HS_CLIENT_FAILED, HS_SERVER_FAILED };

/* The pools link_open's server side borrows from (NULL: plain allocations). */
static struct dc_bufpool *link_inpool, *link_outpool;

static void
link_open(struct link *l, struct dw_tls *t, SSL_CTX *cctx, const char *sni, SSL_SESSION *sess)
{
    l->cli = SSL_new(cctx);
    ASSERT_NOT_NULL(l->cli);
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
    ASSERT(r && w);
    BIO_set_mem_eof_return(r, -1);
    SSL_set_bio(l->cli, r, w);
    SSL_set_connect_state(l->cli);
    if (sni)
        ASSERT_EQ(SSL_set_tlsext_host_name(l->cli, sni), 1);
    if (sess)
        ASSERT_EQ(SSL_set_session(l->cli, sess), 1);
    ASSERT_EQ(dw_tls_conn_init(&l->srv, t, link_inpool, link_outpool), 0);
    ASSERT_EQ(l->srv.site, -1);
}

static void
link_close(struct link *l)
{
    SSL_free(l->cli);
    dw_tls_conn_deinit(&l->srv);
    ASSERT_NULL(l->srv.ssl);
}

static void
cli_to_srv(struct link *l)
{
    char buf[4096];
    int n;
    while ((n = BIO_read(SSL_get_wbio(l->cli), buf, sizeof(buf))) > 0)
        ASSERT_EQ(dw_tls_conn_feed(&l->srv, buf, (size_t)n), 0);
}

static void
srv_to_cli(struct link *l)
{
    char buf[4096];
    size_t n;
    while ((n = dw_tls_conn_out(&l->srv, buf, sizeof(buf))) > 0)
        ASSERT_EQ(BIO_write(SSL_get_rbio(l->cli), buf, (int)n), (int)n);
    ASSERT_EQ(dw_tls_conn_out_pending(&l->srv), 0);
}

/* Runs both sides until both finish or one fails. The server must leave the thread's error
 * queue empty whatever happens. The client then reads what followed the handshake (TLS 1.3
 * session tickets). */
static int
handshake(struct link *l)
{
    bool cdone = false, sdone = false;
    for (int i = 0; i < 16 && !(cdone && sdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(l->cli);
            if (r == 1) {
                cdone = true;
            } else if (SSL_get_error(l->cli, r) != SSL_ERROR_WANT_READ) {
                ERR_clear_error();
                return HS_CLIENT_FAILED;
            }
        }
        cli_to_srv(l);
        if (!sdone) {
            int r = dw_tls_conn_handshake(&l->srv);
            ASSERT_UINT_EQ(ERR_peek_error(), 0);
            if (r == 0) {
                sdone = true;
                ASSERT(l->srv.handshake_done);
            } else if (r != DW_AGAIN) {
                ASSERT_EQ(r, DW_TLS_ERROR);
                srv_to_cli(l); /* the alert */
                return HS_SERVER_FAILED;
            }
        }
        srv_to_cli(l);
    }
    ASSERT(cdone && sdone);
    char b[16];
    int r = SSL_read(l->cli, b, sizeof(b));
    ASSERT_LE(r, 0);
    ASSERT_EQ(SSL_get_error(l->cli, r), SSL_ERROR_WANT_READ);
    return HS_OK;
}

static SSL_CTX *
client_ctx(int min_version, int max_version)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(SSL_CTX_set_min_proto_version(c, min_version), 1);
    ASSERT_EQ(SSL_CTX_set_max_proto_version(c, max_version), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    return c;
}

static void
peer_cn(SSL *cli, char *cn, int len)
{
    X509 *x = SSL_get0_peer_certificate(cli);
    ASSERT_NOT_NULL(x);
    ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, len), 0);
}

static int
peer_key_type(SSL *cli)
{
    X509 *x = SSL_get0_peer_certificate(cli);
    ASSERT_NOT_NULL(x);
    return EVP_PKEY_get_base_id(X509_get0_pubkey(x));
}

/* Application data both ways, then close_notify both ways. */
static void
exchange(struct link *l)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
    static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
    char buf[256];
    ASSERT_EQ(dw_tls_conn_read(&l->srv, buf, sizeof(buf)), DW_AGAIN);
    ASSERT_EQ(SSL_write(l->cli, req, (int)strlen(req)), (int)strlen(req));
    cli_to_srv(l);
    ASSERT_EQ(dw_tls_conn_read(&l->srv, buf, sizeof(buf)), (int)strlen(req));
    ASSERT(memcmp(buf, req, strlen(req)) == 0);
    ASSERT_EQ(dw_tls_conn_write(&l->srv, resp, strlen(resp)), 0);
    ASSERT_GT(dw_tls_conn_out_pending(&l->srv), strlen(resp));
    srv_to_cli(l);
    ASSERT_EQ(SSL_read(l->cli, buf, sizeof(buf)), (int)strlen(resp));
    ASSERT(memcmp(buf, resp, strlen(resp)) == 0);

    dw_tls_conn_shutdown(&l->srv);
    srv_to_cli(l);
    ASSERT_EQ(SSL_read(l->cli, buf, sizeof(buf)), 0);
    ASSERT_EQ(SSL_get_error(l->cli, 0), SSL_ERROR_ZERO_RETURN);
    SSL_shutdown(l->cli);
    cli_to_srv(l);
    ASSERT_EQ(dw_tls_conn_read(&l->srv, buf, sizeof(buf)), 0);
    ASSERT_UINT_EQ(ERR_peek_error(), 0);
}

static void
test_versions_alpn_data(void)
{
    struct dw_conf *conf = load_good();
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    struct {
        int max;
        const char *name;
    } v[] = {{TLS1_3_VERSION, "TLSv1.3"}, {TLS1_2_VERSION, "TLSv1.2"}};
    for (size_t i = 0; i < 2; i++) {
        SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, v[i].max);
        struct link l;
        link_open(&l, conf->tls, cctx, "a.test", NULL);
        ASSERT_EQ(SSL_set_alpn_protos(l.cli, alpn, sizeof(alpn) - 1), 0);
        ASSERT_EQ(handshake(&l), HS_OK);
        ASSERT_STR_EQ(dw_tls_conn_version(&l.srv), v[i].name);
        ASSERT_STR_EQ(dw_tls_conn_alpn(&l.srv), "http/1.1");
        ASSERT(!dw_tls_conn_resumed(&l.srv));
        ASSERT_EQ(l.srv.site, 0);
        const unsigned char *p;
        unsigned len;
        SSL_get0_alpn_selected(l.cli, &p, &len);
        ASSERT_EQ(len, 8);
        ASSERT(memcmp(p, "http/1.1", 8) == 0);
        exchange(&l);
        link_close(&l);

        /* No ALPN at all is fine. */
        link_open(&l, conf->tls, cctx, "a.test", NULL);
        ASSERT_EQ(handshake(&l), HS_OK);
        ASSERT_STR_EQ(dw_tls_conn_alpn(&l.srv), "");
        link_close(&l);

        /* h2 only: no_application_protocol (RFC 7301). */
        link_open(&l, conf->tls, cctx, "a.test", NULL);
        ASSERT_EQ(SSL_set_alpn_protos(l.cli, (const unsigned char *)"\x02h2", 3), 0);
        ASSERT_EQ(handshake(&l), HS_SERVER_FAILED);
        ASSERT_NE(SSL_do_handshake(l.cli), 1);
        ASSERT_EQ(SSL_get_error(l.cli, -1), SSL_ERROR_SSL);
        ASSERT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
        ERR_clear_error();
        link_close(&l);
        SSL_CTX_free(cctx);
    }
    dw_conf_free(conf);
}

/* Site a holds an ECDSA and an RSA pair: each client gets the one it can verify. */
static void
test_key_types(void)
{
    struct dw_conf *conf = load_good();
    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
    struct {
        const char *sigalgs;
        int type;
    } k[] = {{"ECDSA+SHA256", EVP_PKEY_EC}, {"rsa_pss_rsae_sha256:RSA+SHA256", EVP_PKEY_RSA}};
    for (size_t i = 0; i < 2; i++) {
        struct link l;
        link_open(&l, conf->tls, cctx, "a.test", NULL);
        ASSERT_EQ(SSL_set1_sigalgs_list(l.cli, k[i].sigalgs), 1);
        ASSERT_EQ(handshake(&l), HS_OK);
        ASSERT_EQ(peer_key_type(l.cli), k[i].type);
        link_close(&l);
    }
    SSL_CTX_free(cctx);
    dw_conf_free(conf);
}

static void
test_sni(void)
{
    struct dw_conf *conf = load_good();
    struct {
        const char *sni;
        int site;
        const char *cn;
    } cases[] = {
        {"x.b.test", 1, "b.test"}, {"deep.x.b.test", 1, "b.test"},
        {"A.TEST", 0, "a.test"},   {"c.test", 2, "c.test"},
        {NULL, 2, "c.test"},       {"nope.test", 2, "c.test"},
        {"b.test", 2, "c.test"}, /* the wildcard does not cover the bare suffix */
    };
    for (int v = 0; v < 2; v++) {
        SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, v ? TLS1_2_VERSION : TLS1_3_VERSION);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct link l;
            link_open(&l, conf->tls, cctx, cases[i].sni, NULL);
            ASSERT_EQ(handshake(&l), HS_OK);
            ASSERT_EQ(l.srv.site, cases[i].site);
            char cn[64];
            peer_cn(l.cli, cn, sizeof(cn));
            ASSERT_STR_EQ(cn, cases[i].cn);
            link_close(&l);
        }
        SSL_CTX_free(cctx);
    }
    dw_conf_free(conf);
}

/* A full handshake on cctx with sni; returns the client's session (after the tickets). */
static SSL_SESSION *
first_session(struct dw_tls *t, SSL_CTX *cctx, const char *sni)
{
    struct link l;
    link_open(&l, t, cctx, sni, NULL);
    ASSERT_EQ(handshake(&l), HS_OK);
    ASSERT(!dw_tls_conn_resumed(&l.srv));
    SSL_SESSION *s = SSL_get1_session(l.cli);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(SSL_SESSION_is_resumable(s), 1);
    /* Hang up without close_notify, as most clients do: OpenSSL would otherwise drop the
     * session on SSL_free, and the server side must keep its own (dw_tls_conn_deinit). */
    SSL_set_shutdown(l.cli, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    link_close(&l);
    return s;
}

/* Reconnects with sess; returns whether the server resumed it (and checks the client
 * agrees and the connection works). *renewed, when given, receives the client's session
 * afterwards, with whatever ticket the server issued on the way. */
static bool
resume(struct dw_tls *t, SSL_CTX *cctx, const char *sni, SSL_SESSION *sess, int site,
       SSL_SESSION **renewed)
{
    struct link l;
    link_open(&l, t, cctx, sni, sess);
    ASSERT_EQ(handshake(&l), HS_OK);
    bool resumed = dw_tls_conn_resumed(&l.srv);
    ASSERT_EQ(resumed, SSL_session_reused(l.cli) == 1);
    ASSERT_EQ(l.srv.site, site);
    if (renewed)
        ASSERT_NOT_NULL(*renewed = SSL_get1_session(l.cli));
    exchange(&l);
    link_close(&l);
    return resumed;
}

static void
test_resumption(void)
{
    struct dw_conf *conf = load_good();
    struct {
        int max;
        bool tickets;
        const char *sni;
        int site;
    } cases[] = {
        {TLS1_3_VERSION, true, "a.test", 0},    {TLS1_3_VERSION, true, "x.b.test", 1},
        {TLS1_2_VERSION, true, "a.test", 0},    {TLS1_2_VERSION, true, "x.b.test", 1},
        {TLS1_2_VERSION, false, "x.b.test", 1}, /* session ID: cached by the default site */
        {TLS1_2_VERSION, false, NULL, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, cases[i].max);
        if (!cases[i].tickets)
            SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
        SSL_SESSION *s = first_session(conf->tls, cctx, cases[i].sni);
        ASSERT_EQ(SSL_SESSION_has_ticket(s), cases[i].tickets);
        ASSERT(resume(conf->tls, cctx, cases[i].sni, s, cases[i].site, NULL));
        ASSERT(resume(conf->tls, cctx, cases[i].sni, s, cases[i].site, NULL));
        SSL_SESSION_free(s);
        SSL_CTX_free(cctx);
    }
    dw_conf_free(conf);
}

/* A ticket survives two rotations (the old keys still decrypt) and not a third; one made
 * with an old key is renewed with the current key, so active clients never fall back. */
static void
test_ticket_rotation(void)
{
    struct dw_conf *conf = load_good();
    for (int v = 0; v < 2; v++) {
        SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, v ? TLS1_2_VERSION : TLS1_3_VERSION);
        SSL_SESSION *s = first_session(conf->tls, cctx, "a.test"), *renewed;
        ASSERT_EQ(dw_tls_rotate_ticket_keys(conf->tls), 0);
        ASSERT(resume(conf->tls, cctx, "a.test", s, 0, &renewed));
        ASSERT_EQ(dw_tls_rotate_ticket_keys(conf->tls), 0);
        ASSERT(resume(conf->tls, cctx, "a.test", s, 0, NULL));
        ASSERT_EQ(dw_tls_rotate_ticket_keys(conf->tls), 0);
        ASSERT(!resume(conf->tls, cctx, "a.test", s, 0, NULL));
        ASSERT(resume(conf->tls, cctx, "a.test", renewed, 0, NULL));
        SSL_SESSION_free(renewed);
        SSL_SESSION_free(s);
        SSL_CTX_free(cctx);
    }
    dw_conf_free(conf);
}

/* A session of one site does not resume under another name (RFC 6066 §3), by ticket (TLS 1.2
 * and 1.3) or by session ID: the client gets a full handshake with the site it named. */
static void
test_sessions_stay_with_site(void)
{
    struct dw_conf *conf = load_good();
    struct {
        int max;
        bool tickets;
    } cases[] = {{TLS1_3_VERSION, true}, {TLS1_2_VERSION, true}, {TLS1_2_VERSION, false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, cases[i].max);
        if (!cases[i].tickets)
            SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
        SSL_SESSION *s = first_session(conf->tls, cctx, "a.test");
        ASSERT(!resume(conf->tls, cctx, "x.b.test", s, 1, NULL));
        ASSERT(!resume(conf->tls, cctx, NULL, s, 2, NULL)); /* the default site */
        ASSERT(resume(conf->tls, cctx, "a.test", s, 0, NULL));
        SSL_SESSION *b = first_session(conf->tls, cctx, "x.b.test");
        ASSERT(!resume(conf->tls, cctx, "a.test", b, 0, NULL));
        ASSERT(resume(conf->tls, cctx, "y.b.test", b, 1, NULL)); /* same site, other name */
        SSL_SESSION_free(b);
        SSL_SESSION_free(s);
        SSL_CTX_free(cctx);
    }
    dw_conf_free(conf);
}

/* A reload loads the configuration again while the old one is still in force: the sites it
 * keeps keep their ticket keys, so tickets issued before it resume, and a rotation through the
 * new one turns the keys the old one uses too. With no configuration left, keys are new. */
static void
test_ticket_keys_survive_reload(void)
{
    struct dw_conf *old = load_good();
    SSL_CTX *c13 = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
    SSL_CTX *c12 = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
    SSL_SESSION *s13 = first_session(old->tls, c13, "a.test");
    SSL_SESSION *s12 = first_session(old->tls, c12, "x.b.test");
    struct dw_conf *nc = load_good();
    ASSERT(resume(nc->tls, c13, "a.test", s13, 0, NULL));
    ASSERT(resume(nc->tls, c12, "x.b.test", s12, 1, NULL));
    ASSERT(!resume(nc->tls, c12, "a.test", s12, 0, NULL)); /* still per site */
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(dw_tls_rotate_ticket_keys(nc->tls), 0);
    ASSERT(!resume(old->tls, c13, "a.test", s13, 0, NULL));
    SSL_SESSION *s = first_session(nc->tls, c12, "x.b.test");
    dw_conf_free(old);
    dw_conf_free(nc);
    struct dw_conf *fresh = load_good();
    ASSERT(!resume(fresh->tls, c12, "x.b.test", s, 1, NULL));
    dw_conf_free(fresh);
    SSL_SESSION_free(s);
    SSL_SESSION_free(s12);
    SSL_SESSION_free(s13);
    SSL_CTX_free(c12);
    SSL_CTX_free(c13);
}

static bool
same_ticket(const SSL_SESSION *a, const SSL_SESSION *b)
{
    const unsigned char *ta, *tb;
    size_t la, lb;
    SSL_SESSION_get0_ticket(a, &ta, &la);
    SSL_SESSION_get0_ticket(b, &tb, &lb);
    return la == lb && memcmp(ta, tb, la) == 0;
}

/* A TLS 1.3 client uses a ticket once: every resumption must bring a fresh ticket, or the
 * next connection is a full handshake. */
static void
test_tls13_ticket_after_resumption(void)
{
    struct dw_conf *conf = load_good();
    SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, TLS1_3_VERSION);
    SSL_SESSION *s = first_session(conf->tls, cctx, "a.test");
    for (int i = 0; i < 4; i++) {
        SSL_SESSION *next;
        ASSERT(resume(conf->tls, cctx, "a.test", s, 0, &next));
        ASSERT(SSL_SESSION_has_ticket(next));
        ASSERT(!same_ticket(next, s));
        SSL_SESSION_free(s);
        s = next;
    }
    SSL_SESSION_free(s);
    SSL_CTX_free(cctx);
    dw_conf_free(conf);
}

/* Garbage and a TLS 1.1 client fail their connection only: the next one is fine. */
/* The ciphertext queues borrow pool buffers, take their own allocation for a burst larger
 * than one, keep what is queued, and give everything back when trimmed empty. */
static void
test_queues_use_pools(void)
{
    struct dw_conf *conf = load_good();
    struct dc_bufpool in, out;
    dc_bufpool_init(&in, 2048, 4);
    dc_bufpool_init(&out, 4096, 4);
    link_inpool = &in;
    link_outpool = &out;
    SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, TLS1_3_VERSION);
    struct link l;
    link_open(&l, conf->tls, cctx, "a.test", NULL);
    ASSERT_EQ(handshake(&l), HS_OK);
    dw_tls_conn_trim(&l.srv);
    ASSERT_NULL(l.srv.in.data);
    ASSERT_NULL(l.srv.out.data);
    ASSERT_UINT_EQ(in.out, 0);
    ASSERT_UINT_EQ(out.out, 0);

    /* 100 KB at once: more than a pool buffer holds. */
    size_t big = 100 * 1024;
    char *data = malloc(big), *got = malloc(big);
    ASSERT(data && got);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)(i * 7);
    ASSERT_EQ(dw_tls_conn_write(&l.srv, data, big), 0);
    ASSERT_GT(l.srv.out.cap, out.size);
    ASSERT_UINT_EQ(out.out, 0); /* the pool buffer it began in went back */
    dw_tls_conn_trim(&l.srv);   /* not empty: kept */
    ASSERT_GT(dw_tls_conn_out_pending(&l.srv), big);
    srv_to_cli(&l);
    size_t n = 0;
    while (n < big) {
        int r = SSL_read(l.cli, got + n, (int)(big - n));
        ASSERT_GT(r, 0);
        n += (size_t)r;
    }
    ASSERT(memcmp(data, got, big) == 0);
    dw_tls_conn_trim(&l.srv);
    ASSERT_NULL(l.srv.out.data);

    /* A small response fits a pool buffer; the request that came in one is trimmed too. */
    static const char req[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
    ASSERT_EQ(SSL_write(l.cli, req, (int)strlen(req)), (int)strlen(req));
    cli_to_srv(&l);
    ASSERT_UINT_EQ(in.out, 1);
    char buf[256];
    ASSERT_EQ(dw_tls_conn_read(&l.srv, buf, sizeof(buf)), (int)strlen(req));
    ASSERT_EQ(dw_tls_conn_write(&l.srv, "HTTP/1.1 204 No Content\r\n\r\n", 27), 0);
    ASSERT_UINT_EQ(out.out, 1);
    srv_to_cli(&l);
    dw_tls_conn_trim(&l.srv);
    ASSERT_UINT_EQ(in.out, 0);
    ASSERT_UINT_EQ(out.out, 0);
    ASSERT_EQ(SSL_read(l.cli, buf, sizeof(buf)), 27);

    link_close(&l); /* freeing the SSL gives back whatever its queues still hold */
    ASSERT_UINT_EQ(in.out, 0);
    ASSERT_UINT_EQ(out.out, 0);
    link_inpool = link_outpool = NULL;
    dc_bufpool_deinit(&in);
    dc_bufpool_deinit(&out);
    free(data);
    free(got);
    SSL_CTX_free(cctx);
    dw_conf_free(conf);
}

static void
test_bad_clients(void)
{
    struct dw_conf *conf = load_good();
    struct dw_tls_conn c;
    ASSERT_EQ(dw_tls_conn_init(&c, conf->tls, NULL, NULL), 0);
    static const char junk[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
    ASSERT_EQ(dw_tls_conn_feed(&c, junk, strlen(junk)), 0);
    ASSERT_EQ(dw_tls_conn_handshake(&c), DW_TLS_ERROR);
    ASSERT_UINT_EQ(ERR_peek_error(), 0);
    ASSERT(!c.handshake_done);
    dw_tls_conn_shutdown(&c);
    dw_tls_conn_deinit(&c);

    /* Nothing yet: want more. */
    ASSERT_EQ(dw_tls_conn_init(&c, conf->tls, NULL, NULL), 0);
    ASSERT_EQ(dw_tls_conn_handshake(&c), DW_AGAIN);
    dw_tls_conn_deinit(&c);

    SSL_CTX *old = client_ctx(TLS1_1_VERSION, TLS1_1_VERSION);
    SSL_CTX_set_security_level(old, 0);
    ASSERT_EQ(SSL_CTX_set_cipher_list(old, "DEFAULT:@SECLEVEL=0"), 1);
    struct link l;
    link_open(&l, conf->tls, old, "a.test", NULL);
    ASSERT_EQ(handshake(&l), HS_SERVER_FAILED);
    ERR_clear_error();
    link_close(&l);
    SSL_CTX_free(old);

    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
    link_open(&l, conf->tls, cctx, "a.test", NULL);
    ASSERT_EQ(handshake(&l), HS_OK);
    exchange(&l);
    link_close(&l);
    SSL_CTX_free(cctx);
    dw_conf_free(conf);
}

static bool
has_error(const struct dc_conf_errors *errs, const char *prefix, const char *text)
{
    for (size_t i = 0; i < errs->n; i++)
        if (strncmp(errs->msgs[i], prefix, strlen(prefix)) == 0 && strstr(errs->msgs[i], text))
            return true;
    return false;
}

/* Every bad pair of every site is reported, each at its cert line. */
static void
test_config_errors(void)
{
    char text[8192];
    char missing[96];
    snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
    snprintf(text, sizeof(text),
             "[listen 127.0.0.1:8443]\n"                                         /* 1 */
             "[site a]\nroot = /tmp\ncert = %s\nkey = %s\n"                      /* 2-5 */
             "[site b]\nroot = /tmp\ncert = %s\nkey = %s\n"                      /* 6-9 */
             "[site c]\nroot = /tmp\ncert = %s\nkey = %s\n"                      /* 10-13 */
             "[site d]\nroot = /tmp\ncert = %s\nkey = %s\ncert = %s\nkey = %s\n" /* 14-19 */
             "[site e]\nroot = /tmp\ncert = %s\nkey = %s\n"                      /* 20-23 */
             "[site f]\nroot = /tmp\ncert = %s\nkey = %s\n"                      /* 24-27 */
             "[site g]\nroot = /tmp\ncert = %s\nkey = %s\ndefault = yes\n",      /* 28-32 */
             missing, a_ec.key,                      /* a: no such file */
             b_rsa.crt, a_rsa.key,                   /* b: RSA key of another cert */
             garbage, c_ec.key,                      /* c: not PEM */
             a_ec.crt, a_ec.key, c_ec.crt, c_ec.key, /* d: two ECDSA pairs */
             c_ec.crt, garbage,                      /* e: key not PEM */
             c_ec.crt, b_rsa.key,                    /* f: RSA key for an ECDSA cert */
             expired.crt, expired.key);              /* g: fine */
    struct dc_conf_errors errs;
    struct dw_conf *conf = load(text, &errs);
    dc_conf_errors_print(&errs, stderr);
    ASSERT_NULL(conf->tls);
    ASSERT_EQ(errs.n, 6);
    ASSERT(has_error(&errs, "t.conf:4: ", "No such file or directory"));
    ASSERT(has_error(&errs, "t.conf:4: ", missing));
    ASSERT(has_error(&errs, "t.conf:8: ", "does not match cert"));
    ASSERT(has_error(&errs, "t.conf:8: ", "key values mismatch"));
    ASSERT(has_error(&errs, "t.conf:8: ", b_rsa.crt));
    ASSERT(has_error(&errs, "t.conf:12: ", "no start line"));
    ASSERT(has_error(&errs, "t.conf:12: ", garbage));
    ASSERT(has_error(&errs, "t.conf:18: ", "second ECDSA"));
    ASSERT(has_error(&errs, "t.conf:22: ", garbage));
    ASSERT(has_error(&errs, "t.conf:22: ", "cannot load private key"));
    ASSERT(has_error(&errs, "t.conf:26: ", b_rsa.key));
    ASSERT(has_error(&errs, "t.conf:26: ", "is RSA but cert"));
    dc_conf_errors_deinit(&errs);
    dw_conf_free(conf);
}

/* An expired certificate loads with a warning; expiry counts seconds either way. */
static void
test_expiry(void)
{
    char logpath[256];
    snprintf(logpath, sizeof(logpath), "%s/log", dir);
    int fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    dc_log_set_fd(fd);
    char text[2048];
    snprintf(text, sizeof(text),
             "[listen 127.0.0.1:8443]\n"
             "[site ok]\nroot = /tmp\ncert = %s\nkey = %s\n"
             "[site old]\nroot = /tmp\ncert = %s\nkey = %s\n",
             c_ec.crt, c_ec.key, expired.crt, expired.key);
    struct dc_conf_errors errs;
    struct dw_conf *conf = load(text, &errs);
    dc_log_set_fd(-1);
    ASSERT_EQ(errs.n, 0);
    ASSERT_NOT_NULL(conf->tls);
    char buf[1024] = {0};
    ASSERT_GT(pread(fd, buf, sizeof(buf) - 1, 0), 0);
    close(fd);
    ASSERT_STR_CONTAINS(buf, "level=warn event=cert_expired");
    ASSERT_STR_CONTAINS(buf, "line=8");
    ASSERT_STR_CONTAINS(buf, "site=old");
    ASSERT(strstr(buf, "site=ok") == NULL);
    int64_t ok = dw_tls_site_expiry(conf->tls, 0), old = dw_tls_site_expiry(conf->tls, 1);
    ASSERT_GT(ok, 30 * 86400 - 3600);
    ASSERT_LE(ok, 30 * 86400);
    ASSERT_LT(old, -86400 + 3600);
    ASSERT_GE(old, -86400 - 3600);
    dw_conf_free(conf);
}

int
main(void)
{
    setup();
    TEST_RUN(test_versions_alpn_data);
    TEST_RUN(test_key_types);
    TEST_RUN(test_sni);
    TEST_RUN(test_resumption);
    TEST_RUN(test_ticket_rotation);
    TEST_RUN(test_sessions_stay_with_site);
    TEST_RUN(test_ticket_keys_survive_reload);
    TEST_RUN(test_tls13_ticket_after_resumption);
    TEST_RUN(test_queues_use_pools);
    TEST_RUN(test_bad_clients);
    TEST_RUN(test_config_errors);
    TEST_RUN(test_expiry);
    teardown();
    return 0;
}
