/* bench/tlsshim.c — LD_PRELOAD shim for wrk: choose whether each reconnect resumes TLS, and
 * count how every closed connection's handshake went.
 *
 *   cc -shared -fPIC -O2 -o tlsshim.so bench/tlsshim.c -lssl -ldl
 *   BENCH_TLS_RESUME=0 LD_PRELOAD=./tlsshim.so wrk -s bench/close.lua https://…
 *
 * wrk closes a connection with SSL_shutdown() + SSL_clear() and reuses the SSL object for
 * the next connection; SSL_clear() keeps the session, so the next handshake offers its
 * ticket.  But an OpenSSL client uses a TLS 1.3 ticket once: if the server sends no new
 * ticket after a resumption (tickets are only required after a full handshake), wrk's next
 * connection makes a full handshake, and wrk alone measures a mix of full and resumed
 * handshakes that depends on the server.  This shim wraps SSL_clear():
 *   - before clearing, if the handshake had finished, counts it as resumed or full
 *     (SSL_session_reused());
 *   - BENCH_TLS_RESUME=0: drops the session after clearing (SSL_set_session(s, NULL)), so
 *     every connection makes a full handshake (ECDHE + the server's certificate signature);
 *   - BENCH_TLS_RESUME=1 (default): keeps, per SSL object, a copy of the newest session
 *     that came with a ticket and offers a fresh copy of it on every reconnect (as
 *     `openssl s_client -sess_in` would): every connection after the first offers a ticket,
 *     which servers that issue stateless tickets accept again; a server that sends new
 *     tickets after each resumption has its newest one offered;
 *   - BENCH_TLS_RESUME=wrk: wrk's own behaviour (count only).
 * At exit it prints one line to stderr, which bench/origin.sh reads from wrk's output:
 *   tlsshim: resume=0|1|wrk full=N resumed=M
 * Connections still open when wrk stops are not counted (they never reach SSL_clear()).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mode { MODE_FULL, MODE_RESUME, MODE_WRK };

static unsigned long n_full, n_resumed;
static enum mode mode = MODE_RESUME;
static const char *mode_name = "1";
static int (*real_clear)(SSL *);
static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void free_saved(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                       void *argp) {
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    SSL_SESSION_free(ptr);
}

static void ex_init(void) { ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_saved); }

__attribute__((constructor)) static void shim_init(void) {
    const char *v = getenv("BENCH_TLS_RESUME");
    if (v != NULL && strcmp(v, "0") == 0) {
        mode = MODE_FULL;
        mode_name = "0";
    } else if (v != NULL && strcmp(v, "wrk") == 0) {
        mode = MODE_WRK;
        mode_name = "wrk";
    }
    real_clear = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
}

__attribute__((destructor)) static void shim_fini(void) {
    fprintf(stderr, "tlsshim: resume=%s full=%lu resumed=%lu\n", mode_name,
            __atomic_load_n(&n_full, __ATOMIC_RELAXED),
            __atomic_load_n(&n_resumed, __ATOMIC_RELAXED));
}

int SSL_clear(SSL *s) {
    int rc;
    SSL_SESSION *cur, *saved = NULL;
    if (real_clear == NULL) {
        return 0;
    }
    if (SSL_is_init_finished(s)) {
        __atomic_add_fetch(SSL_session_reused(s) ? &n_resumed : &n_full, 1, __ATOMIC_RELAXED);
    }
    if (mode == MODE_RESUME) {
        pthread_once(&ex_once, ex_init);
        if (ex_index >= 0) {
            saved = SSL_get_ex_data(s, ex_index);
            cur = SSL_get_session(s);
            /* the session has a ticket not yet known spent: keep a pristine copy */
            if (cur != NULL && SSL_SESSION_has_ticket(cur) && SSL_SESSION_is_resumable(cur)) {
                SSL_SESSION *copy = SSL_SESSION_dup(cur);
                if (copy != NULL) {
                    SSL_SESSION_free(saved);
                    saved = copy;
                    SSL_set_ex_data(s, ex_index, saved);
                }
            }
        }
    }
    rc = real_clear(s);
    if (mode == MODE_FULL) {
        SSL_set_session(s, NULL);
    } else if (mode == MODE_RESUME && saved != NULL) {
        SSL_SESSION *offer = SSL_SESSION_dup(saved);
        if (offer != NULL) {
            SSL_set_session(s, offer);
            SSL_SESSION_free(offer); /* SSL_set_session took its own reference */
        }
    }
    return rc;
}
