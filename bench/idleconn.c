/* bench/idleconn.c — opens N TLS connections to one server, makes one keep-alive request on
 * each, then holds them all idle: the client of bench/idle.sh.
 *
 *   cc -O2 -o idleconn bench/idleconn.c -lssl -lcrypto
 *   idleconn HOST PORT N PATH HOLD_S READY_FILE [PARALLEL]
 *
 * One thread, epoll, non-blocking sockets and OpenSSL in non-blocking mode. At most
 * PARALLEL (default 64) connections are being set up at a time, so the server's listen
 * backlog never overflows. Each connection: TCP connect, a full TLS 1.3 handshake (no
 * session is offered: no resumption), "GET PATH HTTP/1.1" with keep-alive, the whole
 * response read (Content-Length), then nothing (PATH "-": no request, idle right after the
 * handshake). Once every connection is idle (or failed)
 * it writes one line to READY_FILE:
 *   idle=I failed=F setup_ms=T
 * then holds the connections until SIGTERM/SIGINT or HOLD_S seconds, counting the ones the
 * server closes meanwhile, and exits printing
 *   idleconn: idle=I failed=F closed_by_server=C
 * on stdout. Connections are closed with a reset (SO_LINGER 0), so repeated runs leave no
 * TIME_WAIT behind. The whole run is bounded: setup gives up after 120 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SETUP_LIMIT_MS 120000

enum state { ST_NEW, ST_CONNECTING, ST_HANDSHAKE, ST_WRITING, ST_READING, ST_IDLE, ST_DONE };

struct conn {
    int fd;
    SSL *ssl;
    enum state st;
    size_t sent;
    size_t got;      /* response bytes so far */
    long want;       /* head + Content-Length, once the head is complete; -1 before */
    char head[2048]; /* the response head (and the start of the body) */
    size_t head_len;
};

static volatile sig_atomic_t stop;
static struct sockaddr_in addr;
static SSL_CTX *ctx;
static char req[512];
static size_t req_len;
static int ep;
static long n_idle, n_failed, n_closed, n_active;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
finish(struct conn *c, enum state st)
{
    if (st == ST_DONE) {
        if (c->ssl)
            SSL_free(c->ssl);
        c->ssl = NULL;
        if (c->fd >= 0) {
            struct linger l = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
            close(c->fd);
        }
        c->fd = -1;
        ERR_clear_error();
    }
    c->st = st;
}

static void
fail(struct conn *c)
{
    n_failed++;
    n_active--;
    finish(c, ST_DONE);
}

static void
watch(struct conn *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, op, c->fd, &ev) < 0 && op == EPOLL_CTL_MOD)
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
start(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (c->fd < 0) {
        n_active++;
        fail(c);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->want = -1;
    n_active++;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        fail(c);
        return;
    }
    c->st = ST_CONNECTING;
    watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Advances one connection as far as it goes without blocking. */
static void
step(struct conn *c)
{
    for (;;) {
        switch (c->st) {
        case ST_CONNECTING: {
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                fail(c);
                return;
            }
            c->ssl = SSL_new(ctx);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
                fail(c);
                return;
            }
            SSL_set_tlsext_host_name(c->ssl, "bench.test");
            SSL_set_connect_state(c->ssl);
            c->st = ST_HANDSHAKE;
            break;
        }
        case ST_HANDSHAKE: {
            int r = SSL_do_handshake(c->ssl);
            if (r != 1) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    watch(c, EPOLLIN, EPOLL_CTL_MOD);
                else if (e == SSL_ERROR_WANT_WRITE)
                    watch(c, EPOLLOUT, EPOLL_CTL_MOD);
                else
                    fail(c);
                return;
            }
            if (req_len == 0) { /* PATH "-": no request, idle right after the handshake */
                n_idle++;
                n_active--;
                c->st = ST_IDLE;
                watch(c, EPOLLIN, EPOLL_CTL_MOD);
                return;
            }
            c->st = ST_WRITING;
            break;
        }
        case ST_WRITING: {
            int r = SSL_write(c->ssl, req + c->sent, (int)(req_len - c->sent));
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    watch(c, EPOLLIN, EPOLL_CTL_MOD);
                else if (e == SSL_ERROR_WANT_WRITE)
                    watch(c, EPOLLOUT, EPOLL_CTL_MOD);
                else
                    fail(c);
                return;
            }
            c->sent += (size_t)r;
            if (c->sent == req_len)
                c->st = ST_READING;
            break;
        }
        case ST_READING: {
            char buf[16384];
            int r = SSL_read(c->ssl, buf, sizeof(buf));
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    watch(c, EPOLLIN, EPOLL_CTL_MOD);
                else if (e == SSL_ERROR_WANT_WRITE)
                    watch(c, EPOLLOUT, EPOLL_CTL_MOD);
                else
                    fail(c);
                return;
            }
            if (c->want < 0) {
                size_t n = (size_t)r;
                if (n > sizeof(c->head) - 1 - c->head_len)
                    n = sizeof(c->head) - 1 - c->head_len;
                memcpy(c->head + c->head_len, buf, n);
                c->head_len += n;
                c->head[c->head_len] = '\0';
                char *end = strstr(c->head, "\r\n\r\n");
                if (end != NULL) {
                    char *cl = strcasestr(c->head, "\r\ncontent-length:");
                    if (cl == NULL || cl > end || strncmp(c->head, "HTTP/1.1 200", 12) != 0) {
                        fail(c);
                        return;
                    }
                    c->want = (long)(end + 4 - c->head) + strtol(cl + 17, NULL, 10);
                } else if (c->head_len == sizeof(c->head) - 1) {
                    fail(c);
                    return;
                }
            }
            c->got += (size_t)r;
            if (c->want >= 0 && (long)c->got >= c->want) {
                if ((long)c->got > c->want) {
                    fail(c);
                    return;
                }
                n_idle++;
                n_active--;
                c->st = ST_IDLE;
                watch(c, EPOLLIN, EPOLL_CTL_MOD); /* to see the server close it */
                return;
            }
            break;
        }
        case ST_IDLE: {
            /* A late session ticket is read and dropped; anything else arriving now is the
             * server closing (close_notify, FIN, reset) or a protocol error. */
            char buf[256];
            int r = SSL_read(c->ssl, buf, sizeof(buf));
            if (r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
                return;
            n_closed++;
            n_idle--;
            finish(c, ST_DONE);
            return;
        }
        default:
            return;
        }
    }
}

int
main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT N PATH HOLD_S READY_FILE [PARALLEL]\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[3], NULL, 10), hold_s = strtol(argv[5], NULL, 10);
    long parallel = argc > 7 ? strtol(argv[7], NULL, 10) : 64;
    if (n < 1 || n > 1000000 || hold_s < 1 || parallel < 1) {
        fprintf(stderr, "idleconn: bad N, HOLD_S or PARALLEL\n");
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)strtol(argv[2], NULL, 10));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "idleconn: bad address %s\n", argv[1]);
        return 2;
    }
    if (strcmp(argv[4], "-") != 0)
        req_len = (size_t)snprintf(
            req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: idleconn\r\n\r\n",
            argv[4]);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return 1;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); /* the client's own memory stays small */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

    struct conn *cs = calloc((size_t)n, sizeof(*cs));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (cs == NULL || ep < 0)
        return 1;
    for (long i = 0; i < n; i++)
        cs[i].fd = -1;

    long next = 0, t0 = now_ms();
    struct epoll_event evs[256];
    while (!stop && n_idle + n_failed + n_closed < n) {
        while (next < n && n_active < parallel)
            start(&cs[next++]);
        if (now_ms() - t0 > SETUP_LIMIT_MS)
            break;
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < k; i++)
            step(evs[i].data.ptr);
    }
    long setup_ms = now_ms() - t0;
    /* Whatever is still being set up after the limit counts as failed. */
    for (long i = 0; i < n; i++)
        if (cs[i].st != ST_IDLE && cs[i].st != ST_DONE) {
            if (cs[i].st == ST_NEW)
                n_active++;
            fail(&cs[i]);
        }

    FILE *f = fopen(argv[6], "w");
    if (f == NULL)
        return 1;
    fprintf(f, "idle=%ld failed=%ld setup_ms=%ld\n", n_idle, n_failed, setup_ms);
    fclose(f);

    long hold_end = now_ms() + hold_s * 1000;
    while (!stop && now_ms() < hold_end) {
        int k = epoll_wait(ep, evs, 256, 200);
        for (int i = 0; i < k; i++)
            step(evs[i].data.ptr);
    }
    printf("idleconn: idle=%ld failed=%ld closed_by_server=%ld\n", n_idle, n_failed, n_closed);
    fflush(stdout);
    for (long i = 0; i < n; i++)
        finish(&cs[i], ST_DONE);
    free(cs);
    SSL_CTX_free(ctx);
    return 0;
}
