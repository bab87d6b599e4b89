#include "origin/send.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

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
    c->sync_writes = 0;
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

/*
 * Writes that fit the socket buffer whole (nearly all of them but a large file's to a slow
 * client) are written at once with uv_try_write and need no write request: libuv answers
 * every completed request with an epoll_ctl (it re-registers the socket once its write queue
 * drains) and a trip through its pending queue, ~4 % of the CPU of a keep-alive request.
 * The caller then finds c->writing false and goes on. At most SYNC_WRITES are written so
 * per event (a read, a write's callback), then one waits for its callback: a client fast
 * enough to take a large file in one go leaves the loop to the other connections now and
 * then, and pipelined responses finished at once do not nest deeper than that.
 */
#define SYNC_WRITES 16

/* Starts the connection's one write. Its bytes (c->wq, c->out, c->chunk or a cache entry
 * held by the response) stay untouched until on_written. */
static void
write_bufs(struct dw_conn *c, uv_buf_t *bufs, unsigned n)
{
    assert(!c->writing); /* a second write would reuse c->wreq and c->out under libuv */
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    c->bytes_out += total;
    dc_stats_add(c->wk->stats, DW_STAT_BYTES_OUT, total);
    if (c->sync_writes < SYNC_WRITES) {
        int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
        if (w >= 0 && (size_t)w == total) {
            c->sync_writes++;
            dw_tls_queue_free(&c->wq);
            dw_conn_progress(c);
            return;
        }
        if (w < 0 && w != UV_EAGAIN) {
            dw_tls_queue_free(&c->wq);
            dw_conn_close(c);
            return;
        }
        /* The rest goes with a request. */
        for (size_t done = w > 0 ? (size_t)w : 0; done > 0 && n > 0;) {
            size_t k = done < bufs[0].len ? done : bufs[0].len;
            bufs[0].base += k;
            bufs[0].len -= k;
            done -= k;
            if (bufs[0].len == 0) {
                bufs++;
                n--;
            }
        }
    }
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

/* n bytes of the file are in c->chunk: TLS encrypts them behind what is queued and
 * dw_send_more writes it all (and the next piece while room is left); plain sends them. */
static void
chunk_read(struct dw_conn *c, size_t n)
{
    c->body_pos += (uint64_t)n;
    if (c->tls_on) {
        if (dw_tls_conn_write(&c->tls, c->chunk, n) < 0) {
            dw_conn_close(c);
            return;
        }
    } else {
        uv_buf_t b = uv_buf_init((char *)c->chunk, (unsigned)n);
        write_bufs(c, &b, 1);
    }
    dw_send_more(c); /* nothing while the write is in flight */
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
    chunk_read(c, (size_t)n);
    dc_life_unref(&c->life);
}

/*
 * Reads the file's next n bytes into c->chunk. Bytes the page cache holds are read here, at
 * once (preadv2 with RWF_NOWAIT fails rather than wait for the disk): a read through libuv's
 * thread pool costs a thread hand-off and a loop wake-up per chunk, which is most of what a
 * large file costs beside the encryption and the socket. Anything else (not cached, a short
 * cached part, a kernel without RWF_NOWAIT) goes to the thread pool as before, so a slow
 * disk never blocks the loop. Returns what was read now (> 0), 0 when a read is in flight
 * or the connection was closed.
 */
static size_t
read_chunk(struct dw_conn *c, size_t n)
{
    struct dw_worker *wk = c->wk;
    struct dw_response *r = &c->resp;
    if (c->chunk == NULL && (c->chunk = dw_conn_buf_get(&wk->outpool, c->out_cap)) == NULL) {
        dw_conn_close(c);
        return 0;
    }
    int64_t off = (int64_t)(r->first + c->body_pos);
#ifdef RWF_NOWAIT
    struct iovec v = {c->chunk, n};
    ssize_t got = preadv2(r->fd, &v, 1, (off_t)off, RWF_NOWAIT);
    if (got > 0)
        return (size_t)got;
#endif
    if (c->fsreq == NULL && (c->fsreq = malloc(sizeof(*c->fsreq))) == NULL) {
        dw_conn_close(c);
        return 0;
    }
    uv_buf_t b = uv_buf_init((char *)c->chunk, (unsigned)n);
    c->fsreq->data = c;
    c->file_reading = true;
    dc_life_ref(&c->life);
    if (uv_fs_read(wk->loop, c->fsreq, r->fd, &b, 1, off, on_file_read) < 0) {
        c->file_reading = false;
        dc_life_unref(&c->life);
        dw_conn_close(c);
    }
    return 0;
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
        /* A head and a small cached body share one record (one SSL_write): each record
         * has a fixed cost. A larger body gets records of its own (copying 16 KiB to fill
         * the head's record costs more than the record saves), but no write of its own:
         * dw_send_more adds the body's start and writes both at once. */
        bool whole = r->entry && r->length > 0 && r->head_len + r->length <= sizeof(wk->record);
        if (whole) {
            memcpy(wk->record, wk->hdr, r->head_len);
            memcpy(wk->record + r->head_len, r->entry->data + r->first, r->length);
        }
        if (dw_tls_conn_write(&c->tls, whole ? wk->record : (const uint8_t *)wk->hdr,
                              r->head_len + (whole ? r->length : 0)) < 0) {
            dw_conn_close(c);
            return;
        }
        c->body_pos = whole ? r->length : 0;
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

/*
 * TLS: encrypts the response's next piece behind what the out queue holds, while the queue
 * holds less than a chunk, so that one write carries the head with the body's start, or a
 * whole chunk of 16 KiB records. A file chunk being read from the disk adds itself when the
 * read completes.
 */
static void
tls_fill(struct dw_conn *c)
{
    struct dw_response *r = &c->resp;
    size_t chunk = (size_t)c->conf->chunk_size; /* c->out_cap has room for it (and TLS's) */
    for (int guard = 0; guard < 4 && !dw_conn_closing(c) && !c->file_reading; guard++) {
        size_t pending = dw_tls_conn_out_pending(&c->tls);
        if (c->body_pos >= r->length || pending + DW_CONN_TLS_SLACK / 2 >= chunk)
            return;
        uint64_t left = r->length - c->body_pos;
        size_t n = chunk - pending;
        if (left < n)
            n = (size_t)left;
        if (r->entry) {
            if (dw_tls_conn_write(&c->tls, r->entry->data + r->first + c->body_pos, n) < 0) {
                dw_conn_close(c);
                return;
            }
            c->body_pos += n;
        } else if (r->fd >= 0) {
            size_t got = read_chunk(c, n);
            if (got == 0)
                return;
            c->body_pos += got;
            if (dw_tls_conn_write(&c->tls, c->chunk, got) < 0) {
                dw_conn_close(c);
                return;
            }
        } else {
            return;
        }
    }
}

/* Produces the next piece of the response and writes it; one write in flight at a time,
 * so a slow client holds at most one chunk (and its ciphertext) of a large file. A write
 * done at once (write_bufs) lets it go on with the next piece, SYNC_WRITES at most. */
void
dw_send_more(struct dw_conn *c)
{
    for (int guard = 0; guard <= SYNC_WRITES + 1; guard++) {
        if (dw_conn_closing(c) || c->writing || c->file_reading)
            return;
        if (c->tls_on && c->phase == DW_PH_RESPONDING) {
            tls_fill(c);
            /* The last piece of a response that ends the connection: its close_notify
             * goes in the same write (dw_conn_end then only adds the FIN). */
            if (!dw_conn_closing(c) && c->body_pos >= c->resp.length &&
                (c->resp.close || c->end_after) && c->tls.handshake_done && !c->notify_sent) {
                c->notify_sent = true;
                dw_tls_conn_shutdown(&c->tls);
            }
        }
        if (dw_send_flush(c) || dw_conn_closing(c) || c->file_reading)
            return;
        if (c->phase != DW_PH_RESPONDING)
            return;
        struct dw_response *r = &c->resp;
        assert(c->head_sent); /* dw_send_start sent it */
        if (c->body_pos < r->length && !c->tls_on && r->fd >= 0) {
            uint64_t left = r->length - c->body_pos;
            uint64_t chunk = c->conf->chunk_size;
            size_t got = read_chunk(c, (size_t)(left < chunk ? left : chunk));
            if (got == 0)
                return; /* a read in flight, or closed */
            c->body_pos += got;
            uv_buf_t b = uv_buf_init((char *)c->chunk, (unsigned)got);
            write_bufs(c, &b, 1);
            continue;
        }
        if (c->body_pos < r->length) {
            if (c->tls_on)
                continue; /* its last piece was written at once: the next one */
            return;
        }
        dw_conn_finish_response(c);
        return;
    }
}
