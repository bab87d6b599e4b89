/*
 * From a parsed request to a response: which site, which file, which status, which
 * headers. No sockets here: the connection code (origin/conn.c) sends what this decides.
 *
 * Order of decisions: method (405), Host (400 on HTTP/1.1 without one, 421 when it names
 * another site than the TLS connection's SNI), path (400 for anything dw_path_normalize
 * refuses), the file (404, 403 for escapes and unreadable or index-less directories, 301
 * for a directory asked without its trailing slash), then validators (304) and Range (206,
 * 416; several ranges get one multipart/byteranges body built in memory, held as a
 * blob entry). A plain-HTTP listener with redirect-https answers every request with 301.
 */
#ifndef DUET_ORIGIN_RESPONSE_H
#define DUET_ORIGIN_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "origin/filecache.h"
#include "origin/http.h"

struct dw_worker;
struct dw_conf;
struct dw_conf_listen;

struct dw_response {
    int status;
    int site;                   /* index of the site that served it, -1 before one is known */
    /* The body: a cached file (entry, referenced), an open file (fd >= 0), or none. */
    struct dw_fentry *entry;
    int fd;
    uint64_t first, length;     /* byte range of the body within the file */
    uint64_t file_size;
    bool head_only;             /* HEAD: headers as for GET, no body */
    bool close;                 /* Connection: close after this response */
    size_t head_len;            /* bytes of the response head in wk->hdr */
};

/* What a decision reads besides the request, explicit so that tests can call it without a
 * worker: the configuration the connection was accepted under, the worker's file cache, the
 * loop's clock (cache revalidation), the Date value; and where the head goes. */
struct dw_response_env {
    const struct dw_conf *conf;
    struct dw_fcache *fcache;
    uint64_t now_ms;
    const char *date;
    char *hdr; /* the response head (and an error page's body) is written here */
    size_t hdr_cap;
};

/*
 * The decision, in steps: method (405), host (400), the redirect listener (301), site
 * (421), path (400), file (404, 403, 301; origin/file.c), validators (304), range (206,
 * 416). Fills resp and writes its head into env->hdr; returns resp->status.
 */
int dw_response_decide(const struct dw_response_env *env, const struct dw_conf_listen *lis,
                       int sni_site, const struct dw_req *req, const uint8_t *buf, bool keep_alive,
                       struct dw_response *resp);

/*
 * Decides the response to req (spans into buf) on a connection of listener lis whose TLS
 * SNI chose site sni_site (-1 without TLS), and writes the response head into wk->hdr.
 * Returns 0; resp->status tells what was decided, the body fields what to send. The caller
 * releases the body with dw_response_done().
 */
int dw_response_build(struct dw_worker *wk, const struct dw_conf_listen *lis, int sni_site,
                      const struct dw_req *req, const uint8_t *buf, bool keep_alive,
                      struct dw_response *resp);

/* A response with no file: an error status (or 408 on timeout) with a short HTML body, and
 * "Connection: close" when close is set. Writes the head and body into wk->hdr. */
void dw_response_error(struct dw_worker *wk, int status, bool close, bool head_only,
                       struct dw_response *resp);

/* Releases the body's cache entry or file. */
void dw_response_done(struct dw_worker *wk, struct dw_response *resp);
/* The same, for a response of dw_response_decide with file cache fc. */
void dw_response_release(struct dw_fcache *fc, struct dw_response *resp);

#endif
