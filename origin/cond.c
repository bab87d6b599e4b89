#include "origin/cond.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char wday_short[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const wday_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char month_name[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* The largest time an IMF-fixdate can hold: 9999-12-31T23:59:59Z. */
#define DATE_MAX ((time_t)253402300799LL)

int
dw_cond_etag(time_t mtime, uint64_t size, char out[DW_ETAG_MAX])
{
    /* nginx prints mtime with %xT; a (rare) negative mtime becomes its two's complement,
     * still a stable, distinct tag. */
    return snprintf(out, DW_ETAG_MAX, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)mtime, size);
}

static void
put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/*
 * Written by hand rather than with strftime: strftime's %a and %b follow LC_TIME, and the
 * names in an HTTP date are fixed English. Times outside what four year digits can hold are
 * clamped, so the result always has exactly DW_DATE_LEN characters.
 */
void
dw_cond_date_format(time_t t, char out[DW_DATE_LEN + 1])
{
    struct tm tm;
    if (t < 0)
        t = 0;
    if (t > DATE_MAX)
        t = DATE_MAX;
    gmtime_r(&t, &tm);
    memcpy(out, "Sun, 06 Nov 1994 08:49:37 GMT", DW_DATE_LEN + 1);
    memcpy(out, wday_short[tm.tm_wday], 3);
    put2(out + 5, tm.tm_mday);
    memcpy(out + 8, month_name[tm.tm_mon], 3);
    int year = tm.tm_year + 1900;
    put2(out + 12, year / 100);
    put2(out + 14, year % 100);
    put2(out + 17, tm.tm_hour);
    put2(out + 20, tm.tm_min);
    put2(out + 23, tm.tm_sec);
}

/* A cursor over the date text. Every matcher advances only on success. */
struct cur {
    const char *p, *end;
};

static bool
lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Exactly n digits (a leading space counts as a zero when space_pad, for asctime's day). */
static bool
digits(struct cur *c, int n, bool space_pad, int *out)
{
    if (c->end - c->p < n)
        return false;
    int v = 0;
    for (int i = 0; i < n; i++) {
        char ch = c->p[i];
        if (space_pad && i == 0 && ch == ' ')
            ch = '0';
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    c->p += n;
    *out = v;
    return true;
}

static bool
month(struct cur *c, int *out)
{
    for (int i = 0; i < 12; i++) {
        if (lit(c, month_name[i])) {
            *out = i;
            return true;
        }
    }
    return false;
}

static bool
time_of_day(struct cur *c, int *h, int *m, int *s)
{
    return digits(c, 2, false, h) && lit(c, ":") && digits(c, 2, false, m) && lit(c, ":") &&
           digits(c, 2, false, s);
}

static bool
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (m 1..12), proleptic Gregorian (Hinnant's algorithm), so
 * no timegm() and no dependence on TZ. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/*
 * The three forms of RFC 9110 §5.6.7, names compared with case as the grammar writes them.
 * The weekday must be a weekday name but is not checked against the date (nginx ignores it
 * entirely). Seconds may be 60 (a leap second, RFC 9110's time-of-day). RFC 850's two-digit
 * year is 2000-2069 for 00-69 and 1970-1999 for 70-99, nginx's fixed pivot: the RFC's
 * "not more than 50 years ahead of now" rule would make parsing depend on the clock, and
 * the two differ only for 70-75 (until 2026), years no modification time carries.
 */
int
dw_cond_date_parse(const char *s, size_t len, time_t *t)
{
    if (s == NULL)
        return -EINVAL;
    struct cur c = {s, s + len};
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
        c.p++;
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;

    int wd = -1;
    bool is_long = false;
    for (int i = 0; i < 7 && wd < 0; i++) {
        if (lit(&c, wday_long[i])) {
            wd = i;
            is_long = true;
        } else if (lit(&c, wday_short[i])) {
            wd = i;
        }
    }
    if (wd < 0)
        return -EINVAL;

    int y, mon, d, h, mi, sec;
    if (is_long) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        if (!(lit(&c, ", ") && digits(&c, 2, false, &d) && lit(&c, "-") && month(&c, &mon) &&
              lit(&c, "-") && digits(&c, 2, false, &y) && lit(&c, " ") &&
              time_of_day(&c, &h, &mi, &sec) && lit(&c, " GMT")))
            return -EINVAL;
        y += y < 70 ? 2000 : 1900;
    } else if (lit(&c, ", ")) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (!(digits(&c, 2, false, &d) && lit(&c, " ") && month(&c, &mon) && lit(&c, " ") &&
              digits(&c, 4, false, &y) && lit(&c, " ") && time_of_day(&c, &h, &mi, &sec) &&
              lit(&c, " GMT")))
            return -EINVAL;
    } else {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (!(lit(&c, " ") && month(&c, &mon) && lit(&c, " ") && digits(&c, 2, true, &d) &&
              lit(&c, " ") && time_of_day(&c, &h, &mi, &sec) && lit(&c, " ") &&
              digits(&c, 4, false, &y)))
            return -EINVAL;
    }
    if (c.p != c.end)
        return -EINVAL;

    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int dim = mdays[mon] + (mon == 1 && is_leap(y));
    if (d < 1 || d > dim || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    int64_t days = days_from_civil(y, mon + 1, d);
    *t = (time_t)(days * 86400 + h * 3600 + mi * 60 + sec);
    return 0;
}

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3). */
static bool
is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/*
 * One entity-tag at *p: sets *weak and the opaque-tag (with its quotes) in [*op, *op+*olen).
 * False on a syntax error.
 */
static bool
entity_tag(const char **p, const char *end, bool *weak, const char **op, size_t *olen)
{
    const char *s = *p;
    *weak = false;
    if (end - s >= 2 && s[0] == 'W' && s[1] == '/') {
        *weak = true;
        s += 2;
    }
    if (s == end || *s != '"')
        return false;
    const char *q = s + 1;
    while (q < end && *q != '"') {
        if (!is_etagc((unsigned char)*q))
            return false;
        q++;
    }
    if (q == end)
        return false;
    *op = s;
    *olen = (size_t)(q + 1 - s);
    *p = q + 1;
    return true;
}

/* Our own tag split into weakness and opaque part; false when it is not an entity-tag. */
static bool
own_tag(const char *etag, bool *weak, const char **op, size_t *olen)
{
    if (etag == NULL)
        return false;
    const char *p = etag, *end = etag + strlen(etag);
    return entity_tag(&p, end, weak, op, olen) && p == end;
}

static void
trim(const char **s, const char **end)
{
    while (*s < *end && is_ows(**s))
        (*s)++;
    while (*end > *s && is_ows((*end)[-1]))
        (*end)--;
}

/*
 * If-None-Match = "*" / #entity-tag, compared weakly (§13.1.2: W/ is ignored on both
 * sides). The whole list is checked: a field with a syntax error anywhere is ignored as a
 * whole, which sends the full response; never a 304 on a guess.
 */
static bool
inm_matches(const char *v, size_t len, const char *etag)
{
    const char *p = v, *end = v + len;
    trim(&p, &end);
    if (end - p == 1 && *p == '*')
        return true;
    bool ow, weak, match = false, any = false;
    const char *oo, *op;
    size_t ol, olen;
    if (!own_tag(etag, &ow, &oo, &ol))
        return false;
    while (p < end) {
        if (*p == ',' || is_ows(*p)) {
            p++; /* empty list elements and OWS around commas */
            continue;
        }
        if (!entity_tag(&p, end, &weak, &op, &olen))
            return false;
        any = true;
        if (olen == ol && memcmp(op, oo, ol) == 0)
            match = true;
        while (p < end && is_ows(*p))
            p++;
        if (p < end && *p != ',')
            return false;
    }
    return any && match;
}

/*
 * A date in the future proves nothing about the copy the client holds, so it is ignored
 * (RFC 2616 §14.25 said so; Apache still does), unless it is exactly our Last-Modified:
 * a file whose mtime is ahead of the clock still gets its 304s.
 */
bool
dw_cond_not_modified(const char *inm, size_t inm_len, const char *ims, size_t ims_len,
                     const char *etag, time_t mtime)
{
    if (inm != NULL)
        return inm_matches(inm, inm_len, etag);
    if (ims == NULL)
        return false;
    time_t since;
    if (dw_cond_date_parse(ims, ims_len, &since) < 0)
        return false;
    if (since == mtime)
        return true;
    return mtime < since && since <= time(NULL);
}

/*
 * If-Range = entity-tag / HTTP-date. A weak tag on either side never matches (§13.1.5
 * requires the strong comparison); a date must equal Last-Modified exactly, as nginx does.
 * Whatever does not parse makes the Range ignored, which is the safe side: the client gets
 * the whole current file rather than a piece of a different one.
 */
bool
dw_cond_if_range(const char *ifr, size_t len, const char *etag, time_t mtime)
{
    if (ifr == NULL)
        return true;
    const char *p = ifr, *end = ifr + len;
    trim(&p, &end);
    /* "W/" and not just 'W': "Wed, 09 ..." is a date. */
    if (p < end && (*p == '"' || (end - p >= 2 && p[0] == 'W' && p[1] == '/'))) {
        bool weak, ow;
        const char *op, *oo;
        size_t olen, ol;
        if (!entity_tag(&p, end, &weak, &op, &olen) || p != end)
            return false;
        if (!own_tag(etag, &ow, &oo, &ol) || weak || ow)
            return false;
        return olen == ol && memcmp(op, oo, ol) == 0;
    }
    time_t t;
    if (dw_cond_date_parse(p, (size_t)(end - p), &t) < 0)
        return false;
    return t == mtime;
}
