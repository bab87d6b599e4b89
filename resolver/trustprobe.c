/*
 * resolver/trustprobe.c — RFC 5011 at run time: each managed trust point's DNSKEY set is
 * fetched when it is due, checked against the keys the trust point trusts now, fed to the
 * state machine (autotrust.c) and the file written back (anchorfile.c).
 *
 * Who probes: worker 0, on its own loop. A probe is a DNS resolution like any other and the
 * resolutions live in a worker's mesh (iterator, upstream sockets, caches, deadlines); the
 * main thread has a loop but only for the control socket and metrics, and no mesh. Worker 0
 * already does the other once-per-process chore (priming the root). One owner also means
 * one writer of each anchor file and at most one probe in flight per trust point.
 *
 * What a probe works on: the configuration in force holds the trust points immutably and is
 * shared by every worker, so a probe never changes it. It re-reads the trust point's file
 * into a private struct dr_anchors (the file is the RFC 5011 state: counts, last changes,
 * revocations survive restarts through it), verifies the DNSKEY set against that trust
 * point's trusted keys (VALID and MISSING: never a key still in its add hold-down) with
 * the validator's own signature checks, applies dr_autotrust_update() or, on any failure,
 * dr_autotrust_probe_failed(), and writes the file back atomically (Unbound writes its
 * autotrust file after every probe too). When the set of trusted keys changed, it asks the
 * owner (main.c) for a reload: the new configuration reads the file again and reaches every
 * worker the way a SIGHUP's does; a refused reload leaves the old one serving, and is asked
 * for again (at most every RELOAD_AGAIN_S) while the trusted keys in force differ from the
 * file's.
 *
 * Timing: wall clock seconds (the file's times are). A trust point is first probed about a
 * second after start (or after a reload that adds it is noticed, within RESCAN_S), then at
 * its next_probe: the RFC 5011 query interval after a success, the retry time after a
 * failure (autotrust.h), both bounded below by the timing's min_interval (an hour unless
 * permit-small-holddown).
 */
#include "resolver/trustprobe.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "common/log.h"
#include "resolver/anchor.h"
#include "resolver/anchorfile.h"
#include "resolver/autotrust.h"
#include "resolver/dnskey.h"
#include "resolver/rrsig.h"

#define FIRST_PROBE_MS 1000 /* after start: let the root priming go first */
#define RESCAN_S       60   /* at least this often, look for trust points a reload added */
#define MIN_TIMER_MS   100  /* never spin: a due point starts a probe or gets a retry time */
#define RELOAD_AGAIN_S 60   /* a refused reload is asked for again at most this often */

/* One managed trust point, known by its file (what the configuration names). */
struct point {
    char *file;      /* owned */
    ldns_rdf *owner; /* owned */
    time_t next;     /* when to probe next (wall clock) */
    time_t reloaded; /* when this point last asked for a reload */
    bool in_flight;  /* a probe is running: never two at once */
    bool seen;       /* still in the configuration at the last scan */
};

/* One DNSKEY resolution in flight; w first, so that the waiter is the probe. */
struct probe {
    struct dr_waiter w;
    struct dr_trustprobe *tp;
    char *file; /* the point it is for (points may move or go while it runs) */
};

struct dr_trustprobe {
    struct dr_worker *wk;
    uv_timer_t timer;
    bool closing;
    dr_trustprobe_reload_cb reload;
    void *arg;
    struct point *pts;
    size_t npts;
    unsigned inflight;
};

static void on_timer(uv_timer_t *t);

static struct point *
point_find(struct dr_trustprobe *tp, const char *file)
{
    for (size_t i = 0; i < tp->npts; i++) {
        if (strcmp(tp->pts[i].file, file) == 0)
            return &tp->pts[i];
    }
    return NULL;
}

static void
point_drop(struct dr_trustprobe *tp, size_t i)
{
    free(tp->pts[i].file);
    ldns_rdf_deep_free(tp->pts[i].owner);
    tp->pts[i] = tp->pts[--tp->npts];
}

/* Makes tp->pts follow the managed trust points of the worker's configuration in force. */
static void
scan(struct dr_trustprobe *tp, time_t now)
{
    const struct dr_conf *c = tp->wk->conf;
    for (size_t i = 0; i < tp->npts; i++)
        tp->pts[i].seen = false;
    for (size_t i = 0; c->dnssec && c->anchors && i < c->anchors->nzones; i++) {
        const struct dr_anchor_zone *z = &c->anchors->zones[i];
        if (z->file == NULL)
            continue;
        struct point *pt = point_find(tp, z->file);
        if (pt == NULL) {
            struct point *v = realloc(tp->pts, (tp->npts + 1) * sizeof(*v));
            if (v == NULL)
                continue; /* tried again at the next scan */
            tp->pts = v;
            pt = &v[tp->npts];
            *pt = (struct point){
                .file = strdup(z->file), .owner = ldns_rdf_clone(z->owner), .next = now};
            if (pt->file == NULL || pt->owner == NULL) {
                free(pt->file);
                ldns_rdf_deep_free(pt->owner);
                continue;
            }
            tp->npts++;
        }
        pt->seen = true;
    }
    for (size_t i = 0; i < tp->npts;) {
        if (!tp->pts[i].seen && !tp->pts[i].in_flight)
            point_drop(tp, i);
        else
            i++;
    }
}

/* Arms the timer for the next due point (RESCAN_S at most). */
static void
schedule(struct dr_trustprobe *tp)
{
    if (tp->closing)
        return;
    time_t now = time(NULL), next = now + RESCAN_S;
    for (size_t i = 0; i < tp->npts; i++) {
        if (!tp->pts[i].in_flight && tp->pts[i].seen && tp->pts[i].next < next)
            next = tp->pts[i].next;
    }
    uint64_t ms = next > now ? (uint64_t)(next - now) * 1000 : 0;
    uv_timer_start(&tp->timer, on_timer, ms < MIN_TIMER_MS ? MIN_TIMER_MS : ms, 0);
}

/* ─── one probe's result ──────────────────────────────────────────────────────────────── */

static int
key_tag(const ldns_rr *rr)
{
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS)
        return ldns_rr_rd_count(rr) > 0 ? ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) : -1;
    return dr_dnskey_tag(rr);
}

/* The same key before and after an update: a DS anchor becomes its DNSKEY, a revoked key
 * keeps its key. */
static bool
same_key(const ldns_rr *a, const ldns_rr *b)
{
    bool ads = ldns_rr_get_type(a) == LDNS_RR_TYPE_DS, bds = ldns_rr_get_type(b) == LDNS_RR_TYPE_DS;
    if (ads && bds)
        return ldns_rr_compare(a, b) == 0;
    if (ads || bds)
        return ldns_rr_compare_ds(a, b);
    return dr_anchor_key_same(a, b);
}

/* The keys of a trust point and their states before an update, to log what changed. */
struct snapshot {
    ldns_rr **rr;
    enum dr_anchor_state *state;
    size_t n;
};

static void
snapshot_take(const struct dr_anchor_zone *z, struct snapshot *s)
{
    s->rr = calloc(z->nkeys ? z->nkeys : 1, sizeof(*s->rr));
    s->state = calloc(z->nkeys ? z->nkeys : 1, sizeof(*s->state));
    s->n = 0;
    if (s->rr == NULL || s->state == NULL)
        return; /* no log lines then; the update itself does not depend on it */
    for (size_t i = 0; i < z->nkeys; i++) {
        s->rr[s->n] = ldns_rr_clone(z->keys[i].rr);
        s->state[s->n] = z->keys[i].state;
        if (s->rr[s->n] != NULL)
            s->n++;
    }
}

static void
snapshot_free(struct snapshot *s)
{
    for (size_t i = 0; s->rr && i < s->n; i++)
        ldns_rr_free(s->rr[i]);
    free(s->rr);
    free(s->state);
}

static bool
trusted_state(enum dr_anchor_state s)
{
    return s == DR_ANCHOR_VALID || s == DR_ANCHOR_MISSING;
}

/* One line per key that changed state; a key that revoked itself has a new tag too. */
static void
log_key(const char *zone, const char *file, const ldns_rr *old, const ldns_rr *now,
        enum dr_anchor_state from, enum dr_anchor_state to)
{
    int tag = key_tag(old), now_tag = key_tag(now);
    char also[32] = "";
    if (now_tag != tag)
        snprintf(also, sizeof(also), " now_tag=%d", now_tag);
    dc_log(DC_LOG_INFO, "trust_anchor_key", "zone=%s file=%s tag=%d%s old=%s new=%s", zone, file,
           tag, also, dr_anchor_state_name(from), dr_anchor_state_name(to));
}

/*
 * Logs one line per key whose state differs between the snapshot and z (a new key comes
 * from START, a forgotten one goes to START); returns true when the trusted keys changed.
 */
static bool
log_changes(const struct snapshot *s, const struct dr_anchor_zone *z, const char *zone,
            const char *file)
{
    bool changed = false;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct dr_anchor_key *k = &z->keys[i];
        enum dr_anchor_state from = DR_ANCHOR_START;
        const ldns_rr *old = NULL;
        for (size_t j = 0; j < s->n && old == NULL; j++) {
            if (same_key(s->rr[j], k->rr)) {
                old = s->rr[j];
                from = s->state[j];
            }
        }
        bool rr_changed = old != NULL && ldns_rr_compare(old, k->rr) != 0;
        if (from != k->state || rr_changed)
            log_key(zone, file, old ? old : k->rr, k->rr, from, k->state);
        if (trusted_state(from) != trusted_state(k->state) || (rr_changed && trusted_state(from)))
            changed = true;
    }
    for (size_t j = 0; j < s->n; j++) {
        bool kept = false;
        for (size_t i = 0; i < z->nkeys && !kept; i++)
            kept = same_key(s->rr[j], z->keys[i].rr);
        if (!kept) {
            log_key(zone, file, s->rr[j], s->rr[j], s->state[j], DR_ANCHOR_START);
            changed |= trusted_state(s->state[j]);
        }
    }
    return changed;
}

/* Whether the configuration in force trusts other keys for the trust point of file than z
 * does: its reload was refused or has not reached this worker yet. */
static bool
conf_differs(const struct dr_trustprobe *tp, const char *file, const struct dr_anchor_zone *z)
{
    const struct dr_anchors *ca = tp->wk->conf->anchors;
    const struct dr_anchor_zone *cz = NULL;
    for (size_t i = 0; ca && i < ca->nzones && cz == NULL; i++) {
        if (ca->zones[i].file && strcmp(ca->zones[i].file, file) == 0)
            cz = &ca->zones[i];
    }
    if (cz == NULL)
        return false; /* no longer configured: nothing to reload for */
    ldns_rr_list *x = ldns_rr_list_new(), *y = ldns_rr_list_new();
    bool differs = false;
    if (x && y && dr_anchor_trusted(cz, x) >= 0 && dr_anchor_trusted(z, y) >= 0) {
        ldns_rr_list_sort(x);
        ldns_rr_list_sort(y);
        differs = ldns_rr_list_compare(x, y) != 0;
    }
    ldns_rr_list_deep_free(x);
    ldns_rr_list_deep_free(y);
    return differs;
}

/* The DNSKEY RRset at owner and the RRSIGs over it from a reply, and the RRset's original
 * TTL. NULL, or why the reply cannot be used. */
static const char *
extract(const uint8_t *reply, size_t len, const ldns_rdf *owner, ldns_rr_list *keys,
        ldns_rr_list *sigs, uint32_t *ttl)
{
    ldns_pkt *p = NULL;
    if (reply == NULL || ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK)
        return "unparsable reply";
    const char *why = NULL;
    if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR)
        why = "no answer (SERVFAIL, NXDOMAIN or timeout)";
    ldns_rr_list *an = ldns_pkt_answer(p);
    *ttl = 0;
    for (size_t i = 0; why == NULL && an && i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
            continue;
        ldns_rr_type t = ldns_rr_get_type(rr);
        bool is_sig = t == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) >= 9 &&
                      ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == LDNS_RR_TYPE_DNSKEY;
        if (t != LDNS_RR_TYPE_DNSKEY && !is_sig)
            continue;
        ldns_rr *c = ldns_rr_clone(rr);
        if (c == NULL || !ldns_rr_list_push_rr(is_sig ? sigs : keys, c)) {
            ldns_rr_free(c);
            why = "out of memory";
            break;
        }
        if (is_sig && *ttl == 0)
            *ttl = ldns_rdf2native_int32(ldns_rr_rrsig_origttl(rr));
        else if (!is_sig && *ttl == 0 && ldns_rr_list_rr_count(sigs) == 0)
            *ttl = ldns_rr_ttl(rr);
    }
    if (why == NULL && ldns_rr_list_rr_count(keys) == 0)
        why = "no DNSKEY set in the answer";
    else if (why == NULL && ldns_rr_list_rr_count(sigs) == 0)
        why = "no RRSIG over the DNSKEY set";
    ldns_pkt_free(p);
    return why;
}

/*
 * Whether keys (signed by sigs) is signed by a key z trusts now: a DS anchor through the
 * DNSKEY it names, a DNSKEY anchor directly, as the validator checks an anchor's zone
 * (resolver/val.c). Only SECURE will do: a DNSKEY set of an algorithm duet cannot check
 * proves nothing about the next keys.
 */
static const char *
verify(const struct dr_anchor_zone *z, const ldns_rr_list *keys, const ldns_rr_list *sigs,
       time_t now)
{
    ldns_rr_list *trusted = ldns_rr_list_new(), *ds = ldns_rr_list_new(), *dk = ldns_rr_list_new();
    const char *why = "out of memory";
    if (trusted && ds && dk && dr_anchor_trusted(z, trusted) >= 0) {
        for (size_t i = 0; i < ldns_rr_list_rr_count(trusted); i++) {
            ldns_rr *rr = ldns_rr_list_rr(trusted, i);
            ldns_rr_list_push_rr(ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS ? ds : dk, rr);
        }
        enum dr_sec s = DR_SEC_BOGUS;
        enum dr_why w = DR_WHY_NONE;
        if (ldns_rr_list_rr_count(ds) > 0)
            s = dr_dnskey_verify_set(keys, sigs, ds, (int64_t)now, DR_RRSIG_SKEW, &w);
        if (s != DR_SEC_SECURE && ldns_rr_list_rr_count(dk) > 0) {
            struct dr_rrsig_result res;
            s = dr_rrsig_verify(keys, sigs, dk, ldns_rdf_data(z->owner), (int64_t)now,
                                DR_RRSIG_SKEW, &res);
        }
        why = s == DR_SEC_SECURE ? NULL
                                 : "the DNSKEY set is not signed by a key the trust point trusts";
    }
    ldns_rr_list_free(ds);
    ldns_rr_list_free(dk);
    ldns_rr_list_deep_free(trusted);
    return why;
}

/* The probe of pt ended with reply: update the file and decide the next probe. */
static void
probe_result(struct dr_trustprobe *tp, struct point *pt, const struct dr_waiter *w,
             const uint8_t *reply, size_t len)
{
    time_t now = time(NULL);
    const struct dr_anchor_timing *t = &tp->wk->conf->anchors->timing;
    char *zone = ldns_rdf2str(pt->owner);
    struct dr_anchors a;
    dr_anchors_init(&a);
    struct dc_conf_errors errs = {NULL, 0};
    ldns_rr_list *keys = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
    struct snapshot before = {0};
    pt->next = now + (t->min_interval ? t->min_interval : 1); /* unless the file says more */
    if (keys == NULL || sigs == NULL || zone == NULL)
        goto out;
    if (dr_anchorfile_load_auto(&a, pt->file, &errs) < 0 || a.nzones != 1) {
        DC_LOG_WARN("trust_anchor_probe_failed", "zone=%s file=%s reason=\"%s\"", zone, pt->file,
                    errs.n ? errs.msgs[0] : "cannot read the anchor file");
        goto out;
    }
    struct dr_anchor_zone *z = &a.zones[0];
    uint32_t ttl = 0;
    const char *why = ldns_dname_compare(z->owner, pt->owner) != 0
                          ? "the file's trust point is not the configured one"
                          : extract(reply, len, z->owner, keys, sigs, &ttl);
    if (why == NULL)
        why = verify(z, keys, sigs, now);
    snapshot_take(z, &before);
    struct dr_autotrust_changes ch = {0};
    if (why == NULL) {
        int rc = dr_autotrust_update(z, keys, sigs, ttl, now, t, &ch);
        if (rc < 0)
            why = rc == -EINVAL ? "the DNSKEY set is not at the trust point" : "out of memory";
    }
    bool changed = false;
    if (why != NULL) {
        dr_autotrust_probe_failed(z, now, t);
        DC_LOG_WARN("trust_anchor_probe_failed",
                    "zone=%s file=%s reason=\"%s\" status=%u failures=%u retry_in=%lld", zone,
                    pt->file, why, (unsigned)w->sec, z->query_failed,
                    (long long)(z->next_probe - now));
    } else {
        changed = log_changes(&before, z, zone, pt->file);
        DC_LOG_DEBUG("trust_anchor_probe", "zone=%s file=%s keys=%zu next_in=%lld", zone, pt->file,
                     ldns_rr_list_rr_count(keys), (long long)(z->next_probe - now));
    }
    pt->next = z->next_probe > now ? z->next_probe : now + 1;
    int wr = dr_anchorfile_write(z, pt->file);
    if (wr < 0) {
        DC_LOG_WARN("trust_anchor_write_failed", "zone=%s file=%s error=\"%s\"", zone, pt->file,
                    strerror(-wr));
    } else if (changed || (now - pt->reloaded >= RELOAD_AGAIN_S && conf_differs(tp, pt->file, z))) {
        dc_log(DC_LOG_INFO, "trust_anchor_changed", "zone=%s file=%s action=reload", zone,
               pt->file);
        pt->reloaded = now;
        tp->reload(tp->arg);
    }
out:
    snapshot_free(&before);
    dc_conf_errors_deinit(&errs);
    dr_anchors_deinit(&a);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(sigs);
    free(zone);
}

static void
on_probe_done(struct dr_waiter *w, const uint8_t *reply, size_t len)
{
    struct probe *pr = (struct probe *)w;
    struct dr_trustprobe *tp = pr->tp;
    tp->inflight--;
    struct point *pt = point_find(tp, pr->file);
    if (pt != NULL) {
        pt->in_flight = false;
        if (!tp->closing && pt->seen) /* not dropped from the configuration meanwhile */
            probe_result(tp, pt, w, reply, len);
    }
    free(pr->file);
    free(pr);
    schedule(tp); /* pt's next probe, which the timer did not know while it ran */
}

/* Starts pt's probe; on failure to start, pt waits a retry time. */
static void
probe_start(struct dr_trustprobe *tp, struct point *pt, time_t now)
{
    const struct dr_anchor_timing *t = &tp->wk->conf->anchors->timing;
    struct probe *pr = calloc(1, sizeof(*pr));
    char *file = strdup(pt->file);
    if (pr == NULL || file == NULL) {
        free(pr);
        free(file);
        pt->next = now + t->min_interval;
        return;
    }
    pr->tp = tp;
    pr->file = file;
    pr->w.done = on_probe_done;
    pr->w.dnssec_ok = true; /* the RRSIGs are what the probe checks */
    pr->w.cd = true;        /* and it checks them itself, even when the validator says bogus */
    pt->in_flight = true;
    tp->inflight++;
    int rc = dr_mesh_resolve(tp->wk->mesh, ldns_rdf_data(pt->owner), LDNS_RR_TYPE_DNSKEY,
                             LDNS_RR_CLASS_IN, &pr->w);
    if (rc < 0) {
        tp->inflight--;
        pt->in_flight = false;
        pt->next = now + t->min_interval;
        DC_LOG_WARN("trust_anchor_probe_failed", "file=%s reason=\"%s\"", pt->file,
                    rc == -EBUSY ? "resolver busy" : strerror(-rc));
        free(pr->file);
        free(pr);
    }
    /* else pr is freed by on_probe_done, which may have run already */
}

static void
on_timer(uv_timer_t *timer)
{
    struct dr_trustprobe *tp = timer->data;
    if (tp->closing || tp->wk->stopping)
        return;
    time_t now = time(NULL);
    scan(tp, now);
    /* A probe may finish within dr_mesh_resolve(); points do not move during this loop
     * (only scan() adds or drops them). */
    for (size_t i = 0; i < tp->npts; i++) {
        struct point *pt = &tp->pts[i];
        if (pt->seen && !pt->in_flight && pt->next <= now)
            probe_start(tp, pt, now);
    }
    schedule(tp);
}

/* ─── lifetime ────────────────────────────────────────────────────────────────────────── */

int
dr_trustprobe_open(struct dr_worker *wk, dr_trustprobe_reload_cb reload, void *arg,
                   struct dr_trustprobe **out)
{
    struct dr_trustprobe *tp = calloc(1, sizeof(*tp));
    if (tp == NULL)
        return -ENOMEM;
    tp->wk = wk;
    tp->reload = reload;
    tp->arg = arg;
    int rc = uv_timer_init(wk->loop, &tp->timer);
    if (rc < 0) {
        free(tp);
        return rc;
    }
    tp->timer.data = tp;
    uv_timer_start(&tp->timer, on_timer, FIRST_PROBE_MS, 0);
    *out = tp;
    return 0;
}

void
dr_trustprobe_close(struct dr_trustprobe *tp)
{
    if (tp == NULL || tp->closing)
        return;
    tp->closing = true;
    uv_timer_stop(&tp->timer);
    uv_close((uv_handle_t *)&tp->timer, NULL);
}

void
dr_trustprobe_free(struct dr_trustprobe *tp)
{
    if (tp == NULL)
        return;
    assert(tp->inflight == 0); /* the loop ended: every resolution, probes too, has ended */
    while (tp->npts > 0)
        point_drop(tp, tp->npts - 1);
    free(tp->pts);
    free(tp);
}
