/*
 * resolver/anchor.c — trust anchors: static files, RFC 5011-managed files in Unbound's
 * autotrust format, negative trust anchors, and the RFC 5011 state machine.
 */
#include "resolver/anchor.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY          (24u * 3600u)
#define LINE_MAX_LEN 65536

void
dr_anchor_timing_default(struct dr_anchor_timing *t)
{
    t->add_holddown = 30 * DAY;
    t->remove_holddown = 30 * DAY;
    t->min_interval = 3600;
    t->max_interval = 15 * DAY;
    t->max_retry = DAY;
}

void
dr_anchors_init(struct dr_anchors *a)
{
    memset(a, 0, sizeof(*a));
    dr_anchor_timing_default(&a->timing);
}

void
dr_anchor_zone_deinit(struct dr_anchor_zone *z)
{
    for (size_t i = 0; i < z->nkeys; i++)
        ldns_rr_free(z->keys[i].rr);
    free(z->keys);
    ldns_rdf_deep_free(z->owner);
    free(z->file);
    memset(z, 0, sizeof(*z));
}

void
dr_anchors_deinit(struct dr_anchors *a)
{
    for (size_t i = 0; i < a->nzones; i++)
        dr_anchor_zone_deinit(&a->zones[i]);
    free(a->zones);
    for (size_t i = 0; i < a->ninsecure; i++)
        ldns_rdf_deep_free(a->insecure[i]);
    free(a->insecure);
    memset(a, 0, sizeof(*a));
}

const char *
dr_anchor_state_name(enum dr_anchor_state s)
{
    switch (s) {
    case DR_ANCHOR_START:
        return "START";
    case DR_ANCHOR_ADDPEND:
        return "ADDPEND";
    case DR_ANCHOR_VALID:
        return "VALID";
    case DR_ANCHOR_MISSING:
        return "MISSING";
    case DR_ANCHOR_REVOKED:
        return "REVOKED";
    case DR_ANCHOR_REMOVED:
        return "REMOVED";
    }
    return "?";
}

/* ─── key helpers ─────────────────────────────────────────────────────────────────────── */

uint16_t
dr_anchor_key_flags(const ldns_rr *rr)
{
    return ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
}

bool
dr_anchor_key_revoked(const ldns_rr *rr)
{
    return (dr_anchor_key_flags(rr) & DR_ANCHOR_KEY_REVOKE) != 0;
}

/* The same key, the REVOKE bit aside (a revoked key is the same key with another tag). */
bool
dr_anchor_key_same(const ldns_rr *a, const ldns_rr *b)
{
    if (ldns_rr_get_type(a) != LDNS_RR_TYPE_DNSKEY || ldns_rr_get_type(b) != LDNS_RR_TYPE_DNSKEY)
        return false;
    if (ldns_rr_rd_count(a) != 4 || ldns_rr_rd_count(b) != 4)
        return false;
    if ((dr_anchor_key_flags(a) & ~DR_ANCHOR_KEY_REVOKE) !=
        (dr_anchor_key_flags(b) & ~DR_ANCHOR_KEY_REVOKE))
        return false;
    for (size_t i = 1; i < 4; i++) {
        if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
            return false;
    }
    return true;
}

bool
dr_anchor_rr_is_key(const ldns_rr *rr)
{
    return ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY && ldns_rr_rd_count(rr) == 4;
}

/*
 * name is at or below parent. Both are uncompressed wire names, so the suffix of name with
 * parent's label count is compared byte by byte, case-insensitively (a length byte is at
 * most 63 and tolower() leaves it alone). No allocation: the validator asks this per name.
 */
static bool
name_under(const ldns_rdf *name, const ldns_rdf *parent)
{
    uint8_t n = ldns_dname_label_count(name), p = ldns_dname_label_count(parent);
    if (n < p)
        return false;
    const uint8_t *d = ldns_rdf_data(name);
    size_t len = ldns_rdf_size(name), off = 0;
    for (uint8_t skip = n - p; skip > 0; skip--) {
        if (off >= len)
            return false;
        off += 1u + d[off];
    }
    if (off > len || len - off != ldns_rdf_size(parent))
        return false;
    const uint8_t *q = ldns_rdf_data(parent);
    for (size_t i = 0; i < len - off; i++) {
        if (tolower(d[off + i]) != tolower(q[i]))
            return false;
    }
    return true;
}

struct dr_anchor_zone *
dr_anchors_zone_find(struct dr_anchors *a, const ldns_rdf *owner)
{
    for (size_t i = 0; i < a->nzones; i++) {
        if (ldns_dname_compare(a->zones[i].owner, owner) == 0)
            return &a->zones[i];
    }
    return NULL;
}

struct dr_anchor_zone *
dr_anchors_zone_add(struct dr_anchors *a, const ldns_rdf *owner)
{
    struct dr_anchor_zone *nz = realloc(a->zones, (a->nzones + 1) * sizeof(*nz));
    if (nz == NULL)
        return NULL;
    a->zones = nz;
    struct dr_anchor_zone *z = &nz[a->nzones];
    memset(z, 0, sizeof(*z));
    z->owner = ldns_rdf_clone(owner);
    if (z->owner == NULL)
        return NULL;
    ldns_dname2canonical(z->owner);
    a->nzones++;
    return z;
}

/* Appends a key (taking ownership of rr). Returns 0 or -ENOMEM (rr is then freed). */
int
dr_anchor_key_add(struct dr_anchor_zone *z, ldns_rr *rr, enum dr_anchor_state s, uint32_t count,
                  time_t when)
{
    struct dr_anchor_key *nk = realloc(z->keys, (z->nkeys + 1) * sizeof(*nk));
    if (nk == NULL) {
        ldns_rr_free(rr);
        return -ENOMEM;
    }
    z->keys = nk;
    nk[z->nkeys++] =
        (struct dr_anchor_key){.rr = rr, .state = s, .count = count, .last_change = when};
    return 0;
}

void
dr_anchor_key_drop(struct dr_anchor_zone *z, size_t i)
{
    ldns_rr_free(z->keys[i].rr);
    memmove(&z->keys[i], &z->keys[i + 1], (z->nkeys - i - 1) * sizeof(z->keys[0]));
    z->nkeys--;
}

/* ─── static anchors: trust-anchor-file ───────────────────────────────────────────────── */

static void report(struct dc_conf_errors *errs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct dc_conf_errors *errs, const char *file, int line, const char *fmt, ...)
{
    char body[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    struct dc_conf_ctx ctx = {.file = file, .line = line, .errs = errs};
    dc_conf_error(&ctx, "%s", body);
}

/* Checks one record for an anchor file; 1 = use it, 0 = skip it (RRSIG), -1 = error. */
static int
anchor_rr_ok(const ldns_rr *rr, struct dc_conf_errors *errs, const char *path, int line)
{
    ldns_rr_type t = ldns_rr_get_type(rr);
    if (t == LDNS_RR_TYPE_RRSIG)
        return 0;
    if (t != LDNS_RR_TYPE_DS && t != LDNS_RR_TYPE_DNSKEY) {
        char *ts = ldns_rr_type2str(t);
        report(errs, path, line, "only DS and DNSKEY records can be trust anchors, not %s",
               ts ? ts : "?");
        free(ts);
        return -1;
    }
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
        report(errs, path, line, "a trust anchor must be of class IN");
        return -1;
    }
    if (t == LDNS_RR_TYPE_DNSKEY && !dr_anchor_rr_is_key(rr)) {
        report(errs, path, line, "malformed DNSKEY");
        return -1;
    }
    if (t == LDNS_RR_TYPE_DNSKEY && (dr_anchor_key_flags(rr) & DR_ANCHOR_KEY_ZONE) == 0) {
        report(errs, path, line, "DNSKEY without the zone key flag (256) cannot be an anchor");
        return -1;
    }
    if (t == LDNS_RR_TYPE_DS && ldns_rr_rd_count(rr) != 4) {
        report(errs, path, line, "malformed DS");
        return -1;
    }
    return 1;
}

int
dr_anchors_load_file(struct dr_anchors *a, const char *path, struct dc_conf_errors *errs)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        int e = errno;
        report(errs, path, 0, "%s", strerror(e));
        return -e;
    }
    uint32_t ttl = 3600;
    ldns_rdf *origin = NULL, *prev = NULL;
    int line = 0, bad = 0, n = 0, rc = 0;
    while (!feof(f)) {
        ldns_rr *rr = NULL;
        int before = line;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
        if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
            st == LDNS_STATUS_SYNTAX_ORIGIN) {
            if (line == before && feof(f))
                break;
            continue;
        }
        if (st != LDNS_STATUS_OK) {
            report(errs, path, line, "%s", ldns_get_errorstr_by_id(st));
            bad++;
            if (line == before)
                break; /* no progress: stop rather than loop */
            continue;
        }
        int ok = anchor_rr_ok(rr, errs, path, line);
        if (ok <= 0) {
            bad += ok < 0;
            ldns_rr_free(rr);
            continue;
        }
        struct dr_anchor_zone *z = dr_anchors_zone_find(a, ldns_rr_owner(rr));
        if (z != NULL && z->file != NULL) {
            report(errs, path, line, "trust point is also an auto-trust-anchor-file (%s)", z->file);
            bad++;
            ldns_rr_free(rr);
            continue;
        }
        if (z == NULL)
            z = dr_anchors_zone_add(a, ldns_rr_owner(rr));
        if (z == NULL || dr_anchor_key_add(z, rr, DR_ANCHOR_VALID, 0, 0) < 0) {
            if (z == NULL)
                ldns_rr_free(rr);
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    ldns_rdf_deep_free(origin);
    ldns_rdf_deep_free(prev);
    fclose(f);
    if (rc == 0 && bad == 0 && n == 0) {
        report(errs, path, 0, "no DS or DNSKEY record in the file");
        bad++;
    }
    if (rc < 0) {
        report(errs, path, line, "out of memory");
        return rc;
    }
    return bad ? -EINVAL : 0;
}

/* ─── managed anchors: auto-trust-anchor-file (Unbound's autotrust format) ─────────────── */

/* Parses a decimal number after key in s ("...;;state=2 ..."). 1 = found, 0 = absent, -1 bad */
static int
field_num(const char *s, const char *key, long long lo, long long hi, long long *out)
{
    const char *p = strstr(s, key);
    if (p == NULL)
        return 0;
    p += strlen(key);
    while (*p == ' ' || *p == '\t')
        p++;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 1;
}

struct auto_ctx {
    const char *path;
    struct dc_conf_errors *errs;
    struct dr_anchor_zone tmp; /* filled, then moved into the set */
    uint32_t ttl;
    ldns_rdf *origin;
    int bad;
};

/* One header comment (";;id: . 1", ";;last_queried: 123 ;;…", …). Unknown ones are skipped. */
static void
auto_header(struct auto_ctx *c, const char *s, int line)
{
    static const struct {
        const char *key;
        size_t off;
        bool is_time;
    } fields[] = {
        {";;last_queried:", offsetof(struct dr_anchor_zone, last_queried), true},
        {";;last_success:", offsetof(struct dr_anchor_zone, last_success), true},
        {";;next_probe_time:", offsetof(struct dr_anchor_zone, next_probe), true},
        {";;query_failed:", offsetof(struct dr_anchor_zone, query_failed), false},
        {";;query_interval:", offsetof(struct dr_anchor_zone, query_interval), false},
        {";;retry_time:", offsetof(struct dr_anchor_zone, retry_time), false},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strncmp(s, fields[i].key, strlen(fields[i].key)) != 0)
            continue;
        long long v;
        if (field_num(s, fields[i].key, 0, fields[i].is_time ? LLONG_MAX / 2 : UINT32_MAX, &v) !=
            1) {
            report(c->errs, c->path, line, "bad number in '%.*s'", (int)strlen(fields[i].key) - 1,
                   fields[i].key);
            c->bad++;
            return;
        }
        char *base = (char *)&c->tmp;
        if (fields[i].is_time)
            *(time_t *)(base + fields[i].off) = (time_t)v;
        else
            *(uint32_t *)(base + fields[i].off) = (uint32_t)v;
        return;
    }
    if (strncmp(s, ";;id:", 5) == 0) {
        char name[300];
        if (sscanf(s + 5, " %299s", name) != 1) {
            report(c->errs, c->path, line, "bad ';;id:' line");
            c->bad++;
            return;
        }
        ldns_rdf *id = NULL;
        if (ldns_str2rdf_dname(&id, name) != LDNS_STATUS_OK) {
            report(c->errs, c->path, line, "bad name '%s' in ';;id:'", name);
            c->bad++;
            return;
        }
        if (c->tmp.owner != NULL && ldns_dname_compare(id, c->tmp.owner) != 0) {
            report(c->errs, c->path, line, "';;id: %s' is not the owner of the keys", name);
            c->bad++;
        }
        ldns_rdf_deep_free(id);
    }
}

/* One record line: "RR [; comment with ;;state=N ;;count=N ;;lastchange=T]". */
static int
auto_record(struct auto_ctx *c, char *text, int line)
{
    char *comment = strchr(text, ';');
    if (comment != NULL)
        *comment++ = '\0';
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, text, c->ttl, c->origin, NULL);
    if (st != LDNS_STATUS_OK) {
        report(c->errs, c->path, line, "%s", ldns_get_errorstr_by_id(st));
        c->bad++;
        return 0;
    }
    int ok = anchor_rr_ok(rr, c->errs, c->path, line);
    if (ok <= 0) {
        c->bad += ok < 0;
        ldns_rr_free(rr);
        return 0;
    }
    if (c->tmp.owner == NULL) {
        c->tmp.owner = ldns_rdf_clone(ldns_rr_owner(rr));
        if (c->tmp.owner == NULL) {
            ldns_rr_free(rr);
            return -ENOMEM;
        }
        ldns_dname2canonical(c->tmp.owner);
    } else if (ldns_dname_compare(c->tmp.owner, ldns_rr_owner(rr)) != 0) {
        report(c->errs, c->path, line,
               "an auto-trust-anchor-file holds one trust point: every record needs the owner "
               "of the first");
        c->bad++;
        ldns_rr_free(rr);
        return 0;
    }
    long long state = DR_ANCHOR_VALID, count = 0, last = 0;
    if (comment != NULL) {
        comment[-1] = ';'; /* field_num looks for ";;state=" */
        int r1 = field_num(comment - 1, ";;state=", 0, 5, &state);
        int r2 = field_num(comment - 1, ";;count=", 0, UINT32_MAX, &count);
        int r3 = field_num(comment - 1, ";;lastchange=", 0, LLONG_MAX / 2, &last);
        if (r1 < 0 || r2 < 0 || r3 < 0) {
            report(c->errs, c->path, line, "bad %s",
                   r1 < 0   ? "';;state=' (0 to 5)"
                   : r2 < 0 ? "';;count='"
                            : "';;lastchange='");
            c->bad++;
            ldns_rr_free(rr);
            return 0;
        }
    }
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY &&
        (state == DR_ANCHOR_REVOKED) != dr_anchor_key_revoked(rr) && state != DR_ANCHOR_REMOVED) {
        report(c->errs, c->path, line, "%s key %s the REVOKE bit",
               dr_anchor_state_name((enum dr_anchor_state)state),
               dr_anchor_key_revoked(rr) ? "with" : "without");
        c->bad++;
        ldns_rr_free(rr);
        return 0;
    }
    if (state == DR_ANCHOR_START) { /* Unbound never writes these; nothing to keep */
        ldns_rr_free(rr);
        return 0;
    }
    return dr_anchor_key_add(&c->tmp, rr, (enum dr_anchor_state)state, (uint32_t)count,
                             (time_t)last);
}

/* The parenthesis depth after the record text of s (up to a comment), starting at depth. */
static int
paren_depth(const char *s, int depth)
{
    for (; *s && *s != ';'; s++) {
        if (*s == '(')
            depth++;
        else if (*s == ')')
            depth--;
    }
    return depth;
}

int
dr_anchors_load_auto(struct dr_anchors *a, const char *path, struct dc_conf_errors *errs)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        int e = errno;
        report(errs, path, 0, "%s", strerror(e));
        return -e;
    }
    struct auto_ctx c = {.path = path, .errs = errs, .ttl = 3600};
    char *buf = malloc(LINE_MAX_LEN), *rec = malloc(LINE_MAX_LEN);
    int line = 0, rec_line = 0, depth = 0, rc = 0;
    size_t rec_len = 0;
    if (buf == NULL || rec == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    while (fgets(buf, LINE_MAX_LEN, f) != NULL) {
        line++;
        size_t len = strlen(buf);
        if (len == LINE_MAX_LEN - 1 && buf[len - 1] != '\n') {
            report(errs, path, line, "line too long");
            c.bad++;
            break;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (depth == 0) {
            const char *p = buf;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '\0')
                continue;
            if (*p == ';') {
                auto_header(&c, p, line);
                continue;
            }
            if (strncmp(p, "$TTL", 4) == 0) {
                long long v;
                char tmp[32];
                snprintf(tmp, sizeof(tmp), "x %.20s", p + 4);
                if (field_num(tmp, "x", 0, UINT32_MAX, &v) != 1) {
                    report(errs, path, line, "bad $TTL");
                    c.bad++;
                } else {
                    c.ttl = (uint32_t)v;
                }
                continue;
            }
            if (strncmp(p, "$ORIGIN", 7) == 0) {
                char name[300];
                ldns_rdf *o = NULL;
                if (sscanf(p + 7, " %299s", name) != 1 ||
                    ldns_str2rdf_dname(&o, name) != LDNS_STATUS_OK) {
                    report(errs, path, line, "bad $ORIGIN");
                    c.bad++;
                    continue;
                }
                ldns_rdf_deep_free(c.origin);
                c.origin = o;
                continue;
            }
            rec_len = 0;
            rec_line = line;
        }
        /* A record, maybe spread over lines by parentheses: the text before each line's
         * comment is joined; the comment of the record's last line (where Unbound puts
         * ";;state=") is kept after it. */
        const char *semi = strchr(buf, ';');
        size_t body = semi ? (size_t)(semi - buf) : len;
        depth = paren_depth(buf, depth);
        if (rec_len + len + 2 >= LINE_MAX_LEN) {
            report(errs, path, rec_line, "record too long");
            c.bad++;
            depth = 0;
            continue;
        }
        memcpy(rec + rec_len, buf, body);
        rec_len += body;
        rec[rec_len++] = ' ';
        rec[rec_len] = '\0';
        if (depth > 0)
            continue;
        if (depth < 0) {
            report(errs, path, rec_line, "unbalanced parentheses");
            c.bad++;
            depth = 0;
            continue;
        }
        for (char *p = rec; *p; p++) {
            if (*p == '(' || *p == ')')
                *p = ' ';
        }
        if (semi != NULL)
            memcpy(rec + rec_len, semi, strlen(semi) + 1);
        rc = auto_record(&c, rec, rec_line);
        if (rc < 0)
            goto out;
    }
    if (ferror(f)) {
        report(errs, path, line, "read error");
        c.bad++;
    }
    if (depth != 0) {
        report(errs, path, rec_line, "unbalanced parentheses at the end of the file");
        c.bad++;
    }
    if (c.bad == 0 && c.tmp.nkeys == 0) {
        report(errs, path, 0, "no trust anchor (DS or DNSKEY) in the file");
        c.bad++;
    }
    if (c.bad == 0) {
        size_t trusted = 0;
        for (size_t i = 0; i < c.tmp.nkeys; i++)
            trusted +=
                c.tmp.keys[i].state == DR_ANCHOR_VALID || c.tmp.keys[i].state == DR_ANCHOR_MISSING;
        if (trusted == 0) {
            report(errs, path, 0, "no key is VALID or MISSING: nothing to trust");
            c.bad++;
        }
    }
    if (c.bad == 0 && dr_anchors_zone_find(a, c.tmp.owner) != NULL) {
        char *o = ldns_rdf2str(c.tmp.owner);
        report(errs, path, 0, "trust point %s is already configured", o ? o : "?");
        free(o);
        c.bad++;
    }
    if (c.bad == 0) {
        struct dr_anchor_zone *nz = realloc(a->zones, (a->nzones + 1) * sizeof(*nz));
        c.tmp.file = strdup(path);
        if (nz == NULL || c.tmp.file == NULL) {
            if (nz != NULL)
                a->zones = nz;
            rc = -ENOMEM;
            goto out;
        }
        a->zones = nz;
        nz[a->nzones++] = c.tmp;
        memset(&c.tmp, 0, sizeof(c.tmp));
    }
out:
    if (rc == -ENOMEM)
        report(errs, path, 0, "out of memory");
    dr_anchor_zone_deinit(&c.tmp);
    ldns_rdf_deep_free(c.origin);
    free(buf);
    free(rec);
    fclose(f);
    if (rc < 0)
        return rc;
    return c.bad ? -EINVAL : 0;
}

int
dr_anchors_add_insecure(struct dr_anchors *a, const char *name)
{
    ldns_rdf *d = NULL;
    if (name == NULL || name[0] == '\0' || ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK)
        return -EINVAL;
    ldns_dname2canonical(d);
    ldns_rdf **ni = realloc(a->insecure, (a->ninsecure + 1) * sizeof(*ni));
    if (ni == NULL) {
        ldns_rdf_deep_free(d);
        return -ENOMEM;
    }
    a->insecure = ni;
    ni[a->ninsecure++] = d;
    return 0;
}

/* ─── lookups ─────────────────────────────────────────────────────────────────────────── */

bool
dr_anchors_insecure(const struct dr_anchors *a, const ldns_rdf *name)
{
    for (size_t i = 0; i < a->ninsecure; i++) {
        if (name_under(name, a->insecure[i]))
            return true;
    }
    return false;
}

const struct dr_anchor_zone *
dr_anchors_find(const struct dr_anchors *a, const ldns_rdf *name)
{
    const struct dr_anchor_zone *best = NULL;
    int best_labels = -1;
    for (size_t i = 0; i < a->nzones; i++) {
        int l = ldns_dname_label_count(a->zones[i].owner);
        if (l > best_labels && name_under(name, a->zones[i].owner)) {
            best = &a->zones[i];
            best_labels = l;
        }
    }
    if (best == NULL)
        return NULL;
    /* a negative anchor at or below the trust point wins; one above it does not */
    for (size_t i = 0; i < a->ninsecure; i++) {
        if (ldns_dname_label_count(a->insecure[i]) >= best_labels &&
            name_under(name, a->insecure[i]))
            return NULL;
    }
    return best;
}

int
dr_anchor_trusted(const struct dr_anchor_zone *z, ldns_rr_list *out)
{
    int n = 0;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct dr_anchor_key *k = &z->keys[i];
        if (k->state != DR_ANCHOR_VALID && k->state != DR_ANCHOR_MISSING)
            continue;
        ldns_rr *c = ldns_rr_clone(k->rr);
        if (c == NULL || !ldns_rr_list_push_rr(out, c)) {
            ldns_rr_free(c);
            return -ENOMEM;
        }
        n++;
    }
    return n;
}

/* ─── writing the state back ──────────────────────────────────────────────────────────── */

static void
put_time(FILE *out, const char *key, time_t v)
{
    char when[64] = "";
    struct tm tm;
    if (v > 0 && gmtime_r(&v, &tm) != NULL)
        strftime(when, sizeof(when), " ;;%a %b %e %H:%M:%S %Y UTC", &tm);
    fprintf(out, ";;%s: %lld%s\n", key, (long long)v, when);
}

static int
write_zone(FILE *out, const struct dr_anchor_zone *z)
{
    char *owner = ldns_rdf2str(z->owner);
    if (owner == NULL)
        return -ENOMEM;
    fprintf(out, "; autotrust trust anchor file (duet-resolver; Unbound's format)\n");
    fprintf(out, ";;id: %s 1\n", owner);
    free(owner);
    put_time(out, "last_queried", z->last_queried);
    put_time(out, "last_success", z->last_success);
    put_time(out, "next_probe_time", z->next_probe);
    fprintf(out, ";;query_failed: %u\n;;query_interval: %u\n;;retry_time: %u\n", z->query_failed,
            z->query_interval, z->retry_time);
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct dr_anchor_key *k = &z->keys[i];
        char *s = ldns_rr2str(k->rr);
        if (s == NULL)
            return -ENOMEM;
        size_t len = strlen(s);
        while (len > 0 && (s[len - 1] == '\n' || isspace((unsigned char)s[len - 1])))
            s[--len] = '\0';
        char state[16];
        snprintf(state, sizeof(state), "%-7s", dr_anchor_state_name(k->state));
        /* ldns ends a DNSKEY with its ";{id = TAG (ksk), size = Nb}" comment, as Unbound */
        fprintf(out, "%s", s);
        free(s);
        char when[64] = "";
        struct tm tm;
        if (k->last_change > 0 && gmtime_r(&k->last_change, &tm) != NULL)
            strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y UTC", &tm);
        fprintf(out, " ;;state=%d [ %s ] ;;count=%u ;;lastchange=%lld ;;%s\n", (int)k->state, state,
                k->count, (long long)k->last_change, when);
    }
    return 0;
}

int
dr_anchor_write(const struct dr_anchor_zone *z, const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    FILE *out = fdopen(fd, "w");
    if (out == NULL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return -e;
    }
    int rc = write_zone(out, z);
    if (rc == 0 && fflush(out) != 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (fclose(out) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    /* the rename itself must reach the disk: fsync the directory */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            rc = -errno;
        close(dfd);
    }
    return rc;
}
