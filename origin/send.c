#include "origin/send.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/stats.h"
#include "origin/conn.h"
#include "origin/tls.h"
#include "origin/worker.h"

static void
on_written(uv_write_t *req, int status)
{
    struct dw_conn *c = req->data;
    c->writing = false;
    dw_tls_queue_free(&c->wq);
    if (dw_conn_closing(c) || status < 0) {
        dw_conn_close(c);
        dc_life_unref(&c->life);
        return;
    }
    if (c->close_when_written) {
        /* The rest of an alert or close_notify queued behind this write goes out too. */
        if (!dw_send_flush(c))
            dw_conn_close(c);
        dc_life_unref(&c->life);
        return;
    }
    dw_conn_progress(c); /* the client is reading */
    dw_send_more(c);
    if (c->phase == DW_PH_ENDING && !c->writing)
        dw_conn_end(c);
    else
        dw_conn_release_idle(c); /* a handshake flight or the tickets are out */
    dc_life_unref(&c->life);
}

/* Starts the connection's one write. Its bytes (c->out, c->chunk or a cache entry held by
 * the response) stay untouched until on_written. */
static void
write_bufs(struct dw_conn *c, uv_buf_t *bufs, unsigned n)
{
    assert(!c->writing); /* a second write would reuse c->wreq and c->out under libuv */
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    c->bytes_out += total;
    dc_stats_add(c->wk->stats, DW_STAT_BYTES_OUT, total);
    c->writing = true;
    c->wreq.data = c;
    dc_life_ref(&c->life);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, n, on_written) < 0) {
        c->writing = false;
        dw_tls_queue_free(&c->wq);
        dc_life_unref(&c->life);
        dw_conn_close(c);
    }
}

static bool
ensure_out(struct dw_conn *c)
{
    if (c->out == NULL)
        c->out = dw_conn_buf_get(&c->wk->outpool, c->out_cap);
    return c->out != NULL;
}

/*
 * The check for a write in flight is here, not at the call sites: the handshake, a failed
 * record, session tickets and close_notify all produce ciphertext at moments the caller does
 * not control (libuv reads again in the same loop iteration when a read filled the buffer),
 * and a second uv_write on c->wreq corrupts libuv's write queue (a crash, or a worker
 * spinning in it). What stays in the BIO is sent from on_written.
 */
bool
dw_send_flush(struct dw_conn *c)
{
    if (dw_conn_closing(c))
        return false;
    if (c->writing)
        return true;
    if (!c->tls_on || dw_tls_conn_out_pending(&c->tls) == 0)
        return false;
    /* The queue's storage goes to the write as it is (a copy into an output buffer cost
     * as much as a chunk's worth of memcpy per write); the session starts another. */
    size_t n = dw_tls_conn_out_take(&c->tls, &c->wq);
    uv_buf_t b = uv_buf_init((char *)c->wq.data + c->wq.head, (unsigned)n);
    write_bufs(c, &b, 1);
    return c->writing;
}

void
dw_send_release(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    dw_conn_buf_put(&wk->outpool, c->out, c->out_cap);
    c->out = NULL;
    dw_conn_buf_put(&wk->outpool, c->chunk, c->out_cap);
    c->chunk = NULL;
    free(c->fsreq); /* no read is in flight: callers release between responses or at the end */
    c->fsreq = NULL;
}

static void
on_file_read(uv_fs_t *req)
{
    struct dw_conn *c = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    c->file_reading = false;
    if (dw_conn_closing(c)) {
        dc_life_unref(&c->life);
        return;
    }
    if (n <= 0) {
        /* The file shrank or failed under us: the promised length cannot be kept. */
        DC_LOG_WARN("file_read_failed", "result=%zd", n);
        dw_conn_close(c);
        dc_life_unref(&c->life);
        return;
    }
    c->body_pos += (uint64_t)n;
    if (c->tls_on) {
        if (dw_tls_conn_write(&c->tls, c->chunk, (size_t)n) < 0)
            dw_conn_close(c);
        else
            dw_send_flush(c);
    } else {
        uv_buf_t b = uv_buf_init((char *)c->chunk, (unsigned)n);
        write_bufs(c, &b, 1);
    }
    dc_life_unref(&c->life);
}

/* The head, with a small cached body when it fits: TLS encrypts both as one record. The head
 * is read from the worker's scratch (wk->hdr), so this runs right after the response was
 * built (dw_send_start), never later. */
static void
send_head(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    struct dw_response *r = &c->resp;
    c->head_sent = true;
    if (c->tls_on) {
        /* Head and a small cached body go into one TLS record (one SSL_write): each
         * record has a fixed cost, and it saves bytes on the wire. */
        if (r->entry && r->length > 0 && r->head_len + r->length <= sizeof(wk->record)) {
            memcpy(wk->record, wk->hdr, r->head_len);
            memcpy(wk->record + r->head_len, r->entry->data + r->first, r->length);
            if (dw_tls_conn_write(&c->tls, wk->record, r->head_len + r->length) < 0) {
                dw_conn_close(c);
                return;
            }
            c->body_pos = r->length;
            dw_send_flush(c);
            return;
        }
        if (dw_tls_conn_write(&c->tls, wk->hdr, r->head_len) < 0) {
            dw_conn_close(c);
            return;
        }
        if (r->entry && r->length > 0 && r->length <= c->conf->chunk_size) {
            if (dw_tls_conn_write(&c->tls, r->entry->data + r->first, r->length) < 0) {
                dw_conn_close(c);
                return;
            }
            c->body_pos = r->length;
        }
        dw_send_flush(c);
        return;
    }
    /* Plain: the head (copied out of the worker's scratch) and a cached body go out
     * in one write, the body straight from the cache entry. A plain connection writes
     * nothing but responses, and a response starts only once the previous one is written. */
    assert(!c->writing && !c->file_reading);
    if (!ensure_out(c)) {
        dw_conn_close(c);
        return;
    }
    memcpy(c->out, wk->hdr, r->head_len);
    uv_buf_t b[2];
    b[0] = uv_buf_init((char *)c->out, (unsigned)r->head_len);
    unsigned n = 1;
    if (r->entry && r->length > 0) {
        b[1] = uv_buf_init((char *)r->entry->data + r->first, (unsigned)r->length);
        c->body_pos = r->length;
        n = 2;
    }
    write_bufs(c, b, n);
}

/*
 * The head must leave the worker's scratch now: wk->hdr is shared by every connection of the
 * worker, and the next response built there (another connection's) overwrites it. Over TLS a
 * write may be in flight (the session tickets that follow a handshake, the rest of a flight):
 * the head is encrypted now all the same and queued in the SSL's write BIO behind it, and
 * on_written sends it. Deferring the head to on_written, as this once did, sent whatever head
 * the worker had built last: under load a 1 MiB download got another connection's small
 * keep-alive page head, and the client read the file's bytes as garbage after it.
 */
void
dw_send_start(struct dw_conn *c)
{
    if (dw_conn_closing(c))
        return;
    send_head(c);
    dw_send_more(c);
}

/* Produces the next piece of the response and writes it; one write in flight at a time,
 * so a slow client holds at most one chunk (and its ciphertext) of a large file. */
void
dw_send_more(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    if (dw_conn_closing(c) || c->writing || c->file_reading)
        return;
    if (dw_send_flush(c) || dw_conn_closing(c))
        return;
    if (c->phase != DW_PH_RESPONDING)
        return;
    struct dw_response *r = &c->resp;
    assert(c->head_sent); /* dw_send_start sent it */
    if (c->body_pos < r->length) {
        uint64_t left = r->length - c->body_pos;
        uint64_t chunk = c->conf->chunk_size; /* c->out_cap has room for it (and TLS's) */
        if (r->entry) {
            size_t n = (size_t)(left < chunk ? left : chunk);
            if (dw_tls_conn_write(&c->tls, r->entry->data + r->first + c->body_pos, n) < 0) {
                dw_conn_close(c);
                return;
            }
            c->body_pos += n;
            dw_send_flush(c);
            return;
        }
        if (r->fd >= 0) {
            if (c->chunk == NULL &&
                (c->chunk = dw_conn_buf_get(&wk->outpool, c->out_cap)) == NULL) {
                dw_conn_close(c);
                return;
            }
            if (c->fsreq == NULL && (c->fsreq = malloc(sizeof(*c->fsreq))) == NULL) {
                dw_conn_close(c);
                return;
            }
            size_t n = (size_t)(left < chunk ? left : chunk);
            uv_buf_t b = uv_buf_init((char *)c->chunk, (unsigned)n);
            c->fsreq->data = c;
            c->file_reading = true;
            dc_life_ref(&c->life);
            if (uv_fs_read(wk->loop, c->fsreq, r->fd, &b, 1, (int64_t)(r->first + c->body_pos),
                           on_file_read) < 0) {
                c->file_reading = false;
                dc_life_unref(&c->life);
                dw_conn_close(c);
            }
            return;
        }
    }
    dw_conn_finish_response(c);
}
