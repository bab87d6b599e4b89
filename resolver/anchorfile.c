/*
 * resolver/anchorfile.c — trust anchor files: trust-anchor-file (zone-file syntax) and
 * auto-trust-anchor-file (Unbound's autotrust format), read into a struct dr_anchors, and
 * a managed trust point written back atomically.
 */
#include "resolver/anchorfile.h"

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

#define LINE_MAX_LEN 65536

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
dr_anchorfile_load(struct dr_anchors *a, const char *path, struct dc_conf_errors *errs)
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
dr_anchorfile_load_auto(struct dr_anchors *a, const char *path, struct dc_conf_errors *errs)
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
        c.tmp.file = strdup(path);
        if (c.tmp.file == NULL || dr_anchors_zone_take(a, &c.tmp) < 0) {
            rc = -ENOMEM;
            goto out;
        }
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
dr_anchorfile_write(const struct dr_anchor_zone *z, const char *path)
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
