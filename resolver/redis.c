#include "resolver/redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
/* hiredis' adapter is a header of static functions; it names one of them on_close. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <hiredis/adapters/libuv.h>
#pragma GCC diagnostic pop

#include "common/log.h"
#include "resolver/dname.h"
#include "resolver/val.h"
#include "resolver/worker.h"

/* ---- Keys and values ---- */

int
dr_redis_key(char *out, size_t cap, const char *prefix, const uint8_t *qname, uint16_t qtype,
             uint16_t qclass, bool do_bit)
{
    static const char hex[] = "0123456789abcdef";
    size_t plen = strlen(prefix), nlen = dr_dname_len(qname);
    if (plen + 2 * nlen + 24 > cap)
        return -ENOSPC;
    memcpy(out, prefix, plen);
    char *p = out + plen;
    for (size_t i = 0; i < nlen; i++) {
        *p++ = hex[qname[i] >> 4];
        *p++ = hex[qname[i] & 15];
    }
    int n = snprintf(p, cap - (size_t)(p - out), "/%u/%u/%u", qtype, qclass, do_bit ? 1u : 0u);
    return (int)(p - out) + n;
}

int
dr_redis_encode(uint8_t *out, size_t cap, int64_t expire, uint8_t status, uint8_t why,
                const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen)
{
    if (dnssec == NULL)
        dlen = 0;
    if (plen > UINT16_MAX || dlen > UINT16_MAX)
        return -EINVAL;
    if (DR_REDIS_HEAD + plen + dlen > cap)
        return -ENOSPC;
    out[0] = DR_REDIS_VERSION;
    out[1] = status;
    out[2] = why;
    out[3] = 0;
    uint64_t e = (uint64_t)expire;
    for (int i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)(e >> (56 - 8 * i));
    dr_put16(out + 12, (uint16_t)plen);
    dr_put16(out + 14, (uint16_t)dlen);
    memcpy(out + DR_REDIS_HEAD, plain, plen);
    if (dlen)
        memcpy(out + DR_REDIS_HEAD + plen, dnssec, dlen);
    return (int)(DR_REDIS_HEAD + plen + dlen);
}

static int
bad(const char **why, const char *what)
{
    if (why)
        *why = what;
    return -EBADMSG;
}

int
dr_redis_decode(const uint8_t *val, size_t len, const struct dr_redis_rules *rules,
                struct dr_redis_value *v, const char **why)
{
    if (len < DR_REDIS_HEAD)
        return bad(why, "shorter than its header");
    if (val[0] != DR_REDIS_VERSION)
        return bad(why, "unknown format version");
    if (val[3] != 0)
        return bad(why, "unknown flags");
    if (val[1] > DR_CACHE_SEC_MAX || val[2] > DR_CACHE_WHY_MAX)
        return bad(why, "status or reason out of range");
    uint64_t e = 0;
    for (int i = 0; i < 8; i++)
        e = e << 8 | val[4 + i];
    size_t plen = dr_get16(val + 12), dlen = dr_get16(val + 14);
    if (DR_REDIS_HEAD + plen + dlen != len)
        return bad(why, "sizes disagree with the value's length");
    if (plen < DR_HEADER_LEN)
        return bad(why, "no plain reply");
    if (e > (uint64_t)INT64_MAX || (int64_t)e <= rules->now)
        return bad(why, "expired");
    if ((int64_t)e - rules->now > (int64_t)rules->max_ttl)
        return bad(why, "expiry beyond cache-max-ttl");
    v->expire = (int64_t)e;
    v->status = val[1];
    v->why = val[2];
    v->plain = val + DR_REDIS_HEAD;
    v->plen = plen;
    v->dnssec = dlen ? val + DR_REDIS_HEAD + plen : NULL;
    v->dlen = dlen;
    return 0;
}

/* The status this resolver stores a value under, or -1 when it refuses the value: a
 * non-validating resolver keeps nothing but NONE; a validating one takes no unvalidated or
 * BOGUS data from a peer, and SECURE only when it has trust anchors itself. */
static int
local_status(const struct dr_redis_rules *rules, uint8_t status)
{
    if (!rules->dnssec)
        return DR_VS_NONE;
    if (status == DR_VS_NONE || status == DR_VS_BOGUS)
        return -1;
    if (status == DR_VS_SECURE && !rules->validating)
        return -1;
    return status;
}

int
dr_redis_admit(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
               const uint8_t *val, size_t len, const struct dr_redis_rules *rules, const char **why)
{
    struct dr_redis_value v;
    int rc = dr_redis_decode(val, len, rules, &v, why);
    if (rc < 0)
        return rc;
    int st = local_status(rules, v.status);
    if (st < 0)
        return bad(why, "a validation status this resolver would not give");
    struct dr_cache_sec cs = {
        .status = (uint8_t)st,
        .why = st == DR_VS_NONE ? 0 : v.why,
        .max_life = (uint32_t)(v.expire - rules->now),
        .stale_life = rules->stale_life,
    };
    rc = dr_cache_store_sec(c, qname, qtype, qclass, v.plain, v.plen, v.dnssec, v.dlen, rules->now,
                            &cs);
    if (rc == 0)
        return 0;
    if (why)
        *why = rc == 1          ? "not cacheable"
               : rc == -EBADMSG ? "a message that does not parse or "
                                  "asks another question"
                                : "the local cache refused it";
    return rc > 0 ? -EBADMSG : rc;
}

struct min_ttl {
    const uint8_t *pkt;
    uint32_t min;
    size_t n;
};

static int
min_ttl_cb(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
           size_t rdata_off, uint16_t rdlen)
{
    (void)section, (void)owner_off, (void)rclass, (void)rdata_off, (void)rdlen;
    struct min_ttl *m = arg;
    if (type == DR_TYPE_OPT)
        return 0;
    uint32_t t = dr_get32(m->pkt + ttl_off);
    if (t < m->min)
        m->min = t;
    m->n++;
    return 0;
}

uint32_t
dr_redis_min_ttl(const uint8_t *reply, size_t len)
{
    struct min_ttl m = {.pkt = reply, .min = UINT32_MAX};
    if (dr_msg_walk(reply, len, min_ttl_cb, &m) < 0 || m.n == 0)
        return 0;
    return m.min;
}

/* ---- The client ---- */

/* The connection's states; the timer's meaning follows the state. */
enum state {
    S_DOWN,       /* no connection: the timer reconnects after the backoff */
    S_CONNECTING, /* connect sent: the timer gives up on it */
    S_AUTH,       /* AUTH sent: the timer gives up on it */
    S_UP,         /* serving GETs: the timer ends the oldest one waiting past its deadline */
    S_CLOSED,     /* the worker is closing */
};

/* One GET in flight. hiredis calls back in the order the commands went out, so the list
 * is in send order, which is also deadline order. A GET whose client gave up waiting
 * (answered) stays on the list until hiredis returns it. */
struct get {
    struct dr_redis *r;
    dr_redis_get_cb cb;
    void *arg;
    uint64_t deadline;
    bool answered;
    struct get *prev, *next;
};

struct dr_redis {
    struct dr_worker *wk;
    redisAsyncContext *ac;
    enum state state;
    bool reported_up, reported_down; /* what the last state-change log line said */
    uint64_t backoff_ms;
    uv_timer_t timer;
    struct get *head, *tail;
    size_t ngets, writes;
    bool free_on_close; /* replaced by a reload: freed once its timer has closed */
    /* Copies of the options taken at open: the configuration may be replaced by a reload. */
    char host[INET6_ADDRSTRLEN];
    int port;
    char *unix_path, *password, *prefix;
    uint64_t timeout_ms;
    uint8_t scratch[65536];                   /* the local cache's copy of an answer */
    uint8_t value[DR_REDIS_HEAD + 2 * 65536]; /* a value being written */
};

static void arm(struct dr_redis *r, uint64_t ms);
static void on_timer_closed(uv_handle_t *h);
static void connect_now(struct dr_redis *r);

static void
count(struct dr_redis *r, unsigned stat)
{
    dc_stats_inc(r->wk->stats, stat);
}

static const char *
where(const struct dr_redis *r, char *buf, size_t cap)
{
    if (r->unix_path)
        snprintf(buf, cap, "unix:%s", r->unix_path);
    else
        snprintf(buf, cap, "%s%s%s:%d", strchr(r->host, ':') ? "[" : "", r->host,
                 strchr(r->host, ':') ? "]" : "", r->port);
    return buf;
}

/* The connection is gone (or never came): log once per change, back off, try again. */
static void
went_down(struct dr_redis *r, const char *why)
{
    if (r->state == S_CLOSED)
        return;
    r->state = S_DOWN;
    if (!r->reported_down) {
        char buf[160];
        dc_log(DC_LOG_WARN, "redis_down", "worker=%u server=%s error=\"%s\" retry_ms=%" PRIu64,
               r->wk->id, where(r, buf, sizeof(buf)), why ? why : "-", r->backoff_ms);
        r->reported_down = true;
        r->reported_up = false;
    }
    /* The backoff doubles with every failure and goes back to its minimum only once a
     * command has been answered (healthy): a server that accepts connections and then
     * hangs or talks garbage is retried less and less often, not after every query. */
    arm(r, r->backoff_ms);
    r->backoff_ms *= 2;
    if (r->backoff_ms > DR_REDIS_BACKOFF_MAX)
        r->backoff_ms = DR_REDIS_BACKOFF_MAX;
}

static void
went_up(struct dr_redis *r)
{
    r->state = S_UP;
    uv_timer_stop(&r->timer);
    if (!r->reported_up) {
        char buf[160];
        dc_log(DC_LOG_INFO, "redis_up", "worker=%u server=%s", r->wk->id,
               where(r, buf, sizeof(buf)));
        r->reported_up = true;
        r->reported_down = false;
    }
}

/* Ends the connection from our side (a timeout, a refused AUTH, closing). hiredis calls
 * back every command still in flight with reply NULL, at once or, inside one of its
 * callbacks, when that returns. */
static void
drop(struct dr_redis *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    went_down(r, why);
    if (ac)
        redisAsyncFree(ac);
}

static void
unlink_get(struct dr_redis *r, struct get *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        r->head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    else
        r->tail = g->prev;
    r->ngets--;
}

static struct get *
first_waiting(struct dr_redis *r)
{
    struct get *g = r->head;
    while (g && g->answered)
        g = g->next;
    return g;
}

/* Points the timer at the oldest GET still waiting, or stops it. */
static void
rearm_gets(struct dr_redis *r)
{
    if (r->state != S_UP)
        return;
    struct get *g = first_waiting(r);
    if (g == NULL) {
        uv_timer_stop(&r->timer);
        return;
    }
    uint64_t now = uv_now(r->wk->loop);
    arm(r, g->deadline > now ? g->deadline - now : 0);
}

static void
on_get(redisAsyncContext *ac, void *reply_, void *priv)
{
    (void)ac;
    struct get *g = priv;
    struct dr_redis *r = g->r;
    redisReply *reply = reply_;
    unlink_get(r, g);
    if (reply != NULL && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_NIL))
        r->backoff_ms = DR_REDIS_BACKOFF_MIN; /* healthy */
    if (!g->answered) {
        if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
            g->cb(g->arg, (const uint8_t *)reply->str, reply->len);
        } else {
            if (reply != NULL && reply->type == REDIS_REPLY_NIL)
                count(r, DR_STAT_REDIS_MISSES);
            else if (r->state != S_CLOSED)
                count(r, DR_STAT_REDIS_ERRORS);
            g->cb(g->arg, NULL, 0);
        }
    }
    free(g);
    rearm_gets(r);
}

static void
on_set(redisAsyncContext *ac, void *reply_, void *priv)
{
    (void)ac;
    struct dr_redis *r = priv;
    redisReply *reply = reply_;
    r->writes--;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        count(r, DR_STAT_REDIS_ERRORS);
    else if (reply != NULL)
        r->backoff_ms = DR_REDIS_BACKOFF_MIN; /* healthy */
}

static void
on_auth(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct dr_redis *r = priv;
    redisReply *reply = reply_;
    if (reply == NULL || r->ac != ac || r->state != S_AUTH)
        return; /* the connection is going anyway */
    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0) {
        went_up(r);
        return;
    }
    count(r, DR_STAT_REDIS_ERRORS);
    drop(r, reply->type == REDIS_REPLY_ERROR ? reply->str : "AUTH refused");
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
    struct dr_redis *r = ac->data;
    if (r->ac != ac)
        return;
    if (status != REDIS_OK) {
        r->ac = NULL; /* hiredis frees it after this returns */
        count(r, DR_STAT_REDIS_ERRORS);
        went_down(r, ac->errstr);
        return;
    }
    if (r->password == NULL) {
        went_up(r);
        return;
    }
    r->state = S_AUTH;
    const char *argv[] = {"AUTH", r->password};
    size_t lens[] = {4, strlen(r->password)};
    if (redisAsyncCommandArgv(r->ac, on_auth, r, 2, argv, lens) != REDIS_OK)
        drop(r, "AUTH not sent");
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
    struct dr_redis *r = ac->data;
    (void)status;
    if (r->ac != ac)
        return; /* we dropped it ourselves */
    r->ac = NULL;
    count(r, DR_STAT_REDIS_ERRORS);
    went_down(r, ac->errstr[0] ? ac->errstr : "connection closed");
}

static void
connect_now(struct dr_redis *r)
{
    redisAsyncContext *ac =
        r->unix_path ? redisAsyncConnectUnix(r->unix_path) : redisAsyncConnect(r->host, r->port);
    if (ac == NULL) {
        went_down(r, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        count(r, DR_STAT_REDIS_ERRORS);
        went_down(r, why);
        return;
    }
    ac->data = r;
    /* GETs and SETs are small writes that often follow one another: Nagle would hold a GET
     * back until Redis acknowledged the previous command. */
    if (r->unix_path == NULL) {
        int one = 1;
        (void)setsockopt(ac->c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (redisLibuvAttach(ac, r->wk->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        went_down(r, "cannot attach to the loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    r->state = S_CONNECTING;
    /* A connect or AUTH gets at least a second: the first packets of a loaded server may
     * take longer than one GET should. */
    arm(r, r->timeout_ms > 1000 ? r->timeout_ms : 1000);
}

static void
on_timer(uv_timer_t *t)
{
    struct dr_redis *r = t->data;
    switch (r->state) {
    case S_DOWN:
        connect_now(r);
        return;
    case S_CONNECTING:
    case S_AUTH:
        count(r, DR_STAT_REDIS_TIMEOUTS);
        drop(r, r->state == S_AUTH ? "AUTH timed out" : "connect timed out");
        return;
    case S_UP:
        break;
    case S_CLOSED:
        return;
    }
    /* The oldest GETs are past their deadline: their clients go on to iterate. A Redis
     * this slow is treated as down (and reconnected after the backoff), so later queries
     * do not each pay the timeout. */
    uint64_t now = uv_now(r->wk->loop);
    bool late = false;
    for (struct get *g; (g = first_waiting(r)) != NULL && g->deadline <= now;) {
        g->answered = true;
        late = true;
        count(r, DR_STAT_REDIS_TIMEOUTS);
        g->cb(g->arg, NULL, 0);
        if (r->state != S_UP)
            return;
    }
    if (late)
        drop(r, "timed out");
    else
        rearm_gets(r);
}

static void
arm(struct dr_redis *r, uint64_t ms)
{
    if (r->state != S_CLOSED)
        uv_timer_start(&r->timer, on_timer, ms, 0);
}

/* The key prefix; a configuration built without the parser (the unit tests) has none set. */
static const char *
prefix_of(const struct dr_conf *c)
{
    return c->redis_prefix ? c->redis_prefix : "duet:";
}

int
dr_redis_open(struct dr_worker *wk, struct dr_redis **out)
{
    *out = NULL;
    const struct dr_conf *c = wk->conf;
    if (c->redis == NULL || c->redis[0] == '\0')
        return 0;
    struct dr_redis *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->wk = wk;
    r->prefix = strdup(prefix_of(c));
    r->unix_path = c->redis_unix ? strdup(c->redis_unix) : NULL;
    r->password = c->redis_password ? strdup(c->redis_password) : NULL;
    if (r->prefix == NULL || (c->redis_unix && r->unix_path == NULL) ||
        (c->redis_password && r->password == NULL)) {
        dr_redis_free(r);
        return -ENOMEM;
    }
    if (r->unix_path == NULL) {
        const union dc_sockaddr *a = &c->redis_addr;
        if (a->sa.sa_family == AF_INET6)
            inet_ntop(AF_INET6, &a->in6.sin6_addr, r->host, sizeof(r->host));
        else
            inet_ntop(AF_INET, &a->in.sin_addr, r->host, sizeof(r->host));
        r->port = dc_addr_port(a);
    }
    r->timeout_ms = (uint64_t)c->redis_timeout_ms;
    r->backoff_ms = DR_REDIS_BACKOFF_MIN;
    int rc = uv_timer_init(wk->loop, &r->timer);
    if (rc < 0) {
        dr_redis_free(r);
        return rc;
    }
    r->timer.data = r;
    r->state = S_DOWN;
    connect_now(r);
    *out = r;
    return 0;
}

void
dr_redis_close(struct dr_redis *r)
{
    if (r == NULL || r->state == S_CLOSED)
        return;
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->state = S_CLOSED;
    if (ac)
        redisAsyncFree(ac);
    /* Whatever hiredis did not return (it always does on free): no client waits forever. */
    while (r->head) {
        struct get *g = r->head;
        unlink_get(r, g);
        if (!g->answered)
            g->cb(g->arg, NULL, 0);
        free(g);
    }
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

/* Whether two configurations ask for the same client. */
static bool
same_options(const struct dr_conf *a, const struct dr_conf *b)
{
    const char *ra = a->redis ? a->redis : "", *rb = b->redis ? b->redis : "";
    if (strcmp(ra, rb) != 0)
        return false;
    if (ra[0] == '\0')
        return true; /* off in both: the rest does not matter */
    const char *pa = a->redis_password ? a->redis_password : "";
    const char *pb = b->redis_password ? b->redis_password : "";
    return strcmp(pa, pb) == 0 && strcmp(prefix_of(a), prefix_of(b)) == 0 &&
           a->redis_timeout_ms == b->redis_timeout_ms;
}

int
dr_redis_reconfigure(struct dr_worker *wk, const struct dr_conf *old)
{
    if (same_options(old, wk->conf))
        return 0;
    struct dr_redis *r = wk->redis;
    wk->redis = NULL;
    if (r != NULL) {
        /* Outside hiredis's callbacks (a reload is a post to the worker's loop), so every
         * command in flight is called back during the close: nothing refers to r after its
         * timer's close callback, which frees it. */
        r->free_on_close = true;
        dr_redis_close(r);
    }
    const char *to = wk->conf->redis && wk->conf->redis[0] ? wk->conf->redis : "off";
    dc_log(DC_LOG_INFO, "redis_reconfigured", "worker=%u redis=\"%s\"", wk->id, to);
    return dr_redis_open(wk, &wk->redis);
}

size_t
dr_redis_pending(const struct dr_redis *r)
{
    size_t n = 0;
    for (const struct get *g = r ? r->head : NULL; g; g = g->next)
        n += !g->answered; /* a GET that timed out has had its client answered already */
    return n;
}

void
dr_redis_free(struct dr_redis *r)
{
    if (r == NULL)
        return;
    free(r->prefix);
    free(r->unix_path);
    if (r->password) {
        explicit_bzero(r->password, strlen(r->password));
        free(r->password);
    }
    free(r);
}

static void
on_timer_closed(uv_handle_t *h)
{
    struct dr_redis *r = h->data;
    if (r->free_on_close)
        dr_redis_free(r);
}

int
dr_redis_get(struct dr_redis *r, const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool do_bit,
             dr_redis_get_cb cb, void *arg)
{
    if (r == NULL || r->state != S_UP || r->ac == NULL)
        return -ENOTCONN;
    if (r->ngets >= DR_REDIS_GETS_MAX)
        return -EBUSY;
    char key[DR_REDIS_KEY_MAX];
    int klen = dr_redis_key(key, sizeof(key), r->prefix, qname, qtype, qclass, do_bit);
    if (klen < 0)
        return klen;
    struct get *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    g->r = r;
    g->cb = cb;
    g->arg = arg;
    g->deadline = uv_now(r->wk->loop) + r->timeout_ms;
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, (size_t)klen};
    if (redisAsyncCommandArgv(r->ac, on_get, g, 2, argv, lens) != REDIS_OK) {
        free(g);
        return -ENOTCONN;
    }
    g->prev = r->tail;
    if (r->tail)
        r->tail->next = g;
    else
        r->head = g;
    r->tail = g;
    r->ngets++;
    if (!uv_is_active((uv_handle_t *)&r->timer))
        arm(r, r->timeout_ms);
    return 0;
}

void
dr_redis_store(struct dr_redis *r, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
               const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen,
               const struct dr_cache_sec *sec)
{
    if (r == NULL || r->state != S_UP || r->ac == NULL || r->writes + 2 > DR_REDIS_WRITES_MAX)
        return;
    const struct dr_conf *c = r->wk->conf;
    uint8_t status = sec ? sec->status : DR_VS_NONE, why = sec ? sec->why : 0;
    /* What a peer would refuse is not written (see local_status). */
    if (c->dnssec && (status == DR_VS_NONE || status == DR_VS_BOGUS))
        return;
    /* The lifetime the local cache gave it (its TTL policy, the signatures' validity). */
    int64_t now = dr_now();
    int n = dr_cache_lookup(r->wk->sh->cache, qname, qtype, qclass, now, r->scratch,
                            sizeof(r->scratch));
    uint32_t ttl = n > 0 ? dr_redis_min_ttl(r->scratch, (size_t)n) : 0;
    if (ttl == 0)
        return;
    int vlen = dr_redis_encode(r->value, sizeof(r->value), now + ttl, status, why, plain, plen,
                               dnssec, dlen);
    if (vlen < 0)
        return;
    uint64_t ex = ttl;
    if (c->serve_expired)
        ex += (uint64_t)(c->serve_expired_ttl_ms / 1000);
    char exs[24];
    snprintf(exs, sizeof(exs), "%" PRIu64, ex);
    for (int d = 0; d < 2; d++) {
        char key[DR_REDIS_KEY_MAX];
        int klen = dr_redis_key(key, sizeof(key), r->prefix, qname, qtype, qclass, d == 1);
        if (klen < 0)
            return;
        const char *argv[] = {"SET", key, (const char *)r->value, "EX", exs};
        size_t lens[] = {3, (size_t)klen, (size_t)vlen, 2, strlen(exs)};
        if (redisAsyncCommandArgv(r->ac, on_set, r, 5, argv, lens) != REDIS_OK)
            return;
        r->writes++;
    }
    count(r, DR_STAT_REDIS_STORES);
}
