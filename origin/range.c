#include "origin/range.h"

#include <stdbool.h>
#include <strings.h>

/*
 * Grammar (RFC 9110 §14.1, §14.1.2, and §5.6.1 for lists):
 *   Range = "bytes" "=" 1#( int-range / suffix-range )
 *   int-range = first-pos "-" [ last-pos ]       suffix-range = "-" suffix-length
 *
 * Where this is stricter or looser than the letter of the RFC, and why:
 *  - The unit is case-insensitive ("Bytes=", as nginx): range units are tokens compared
 *    without case (§14.1).
 *  - Optional whitespace (SP, HTAB) is allowed around list elements, including right after
 *    "=" and at the end, and empty list elements are skipped (§5.6.1.2 asks recipients to
 *    accept them). nginx also allows blanks inside a spec ("0 - 9"); we do not: the grammar
 *    has no whitespace there, and ignoring the header (200) is always safe.
 *  - Numbers too large for 64 bits saturate rather than fail: such a first-pos lies beyond
 *    any file (416), such a last-pos or suffix-length covers the whole file, which is what
 *    the RFC says for any value past the end. nginx instead answers 416 to every overflow.
 *  - last-pos < first-pos makes the spec invalid (§14.1.1); §14.2 lets a server ignore an
 *    invalid Range, and we do (200). nginx answers 416 here.
 *  - Several ranges are answered (multipart/byteranges, origin/response.c) within nginx's
 *    limits against the amplification §14.1.1 warns about: more than `max` satisfiable
 *    ranges, or ranges whose lengths add up to more than the file (overlapping ones, or
 *    many small ones), give NONE and the file is served whole (§14.2: "MAY ignore").
 *    Unsatisfiable ranges among satisfiable ones are dropped (§14.1.1); only when none is
 *    satisfiable is the answer 416. Ranges keep the order they were asked in, unmerged
 *    (nginx neither reorders nor merges).
 *  - A zero-length file: "bytes=0-" (first-pos 0 is not < 0) is unsatisfiable; a suffix
 *    with a non-zero length is satisfiable per §14.1.1 but would select nothing, and a
 *    Content-Range cannot say "bytes 0--1/0", so it gives NONE (200 with an empty body), as
 *    nginx does.
 */

enum { SPEC_INVALID = -1, SPEC_EMPTY = 0, SPEC_OK = 1 };

struct spec {
    bool suffix;    /* "-N" */
    bool open;      /* "N-" */
    uint64_t first; /* or the suffix length */
    uint64_t last;
};

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Decimal digits at *p, saturating at UINT64_MAX. False when there is no digit. */
static bool
parse_num(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        s++;
    }
    if (s == *p)
        return false;
    *p = s;
    *out = v;
    return true;
}

/* One list element, [p, end) without surrounding whitespace. */
static int
parse_spec(const char *p, const char *end, struct spec *sp)
{
    if (p == end)
        return SPEC_EMPTY;
    sp->suffix = sp->open = false;
    if (*p == '-') {
        p++;
        sp->suffix = true;
        if (!parse_num(&p, end, &sp->first))
            return SPEC_INVALID;
    } else {
        if (!parse_num(&p, end, &sp->first) || p == end || *p != '-')
            return SPEC_INVALID;
        p++;
        if (p == end)
            sp->open = true;
        else if (!parse_num(&p, end, &sp->last) || sp->last < sp->first)
            return SPEC_INVALID;
    }
    return p == end ? SPEC_OK : SPEC_INVALID;
}

/* The bytes [*first, *last] that sp selects in a file of size bytes: 1, 0 when it selects
 * none (unsatisfiable), -1 when it is satisfiable but selects nothing (a suffix of a
 * zero-length file). */
static int
resolve(const struct spec *sp, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (sp->suffix) {
        if (sp->first == 0)
            return 0;
        if (size == 0)
            return -1;
        *first = sp->first >= size ? 0 : size - sp->first;
        *last = size - 1;
        return 1;
    }
    if (sp->first >= size)
        return 0;
    *first = sp->first;
    *last = sp->open || sp->last >= size ? size - 1 : sp->last;
    return 1;
}

enum dw_range_result
dw_range_parse_set(const char *value, size_t len, uint64_t size, struct dw_range *out, size_t max,
                   size_t *n)
{
    *n = 0;
    if (value == NULL || len < 6 || strncasecmp(value, "bytes=", 6) != 0)
        return DW_RANGE_NONE;
    const char *p = value + 6, *end = value + len;
    uint64_t total = 0;
    bool empty_selection = false;
    size_t specs = 0;
    for (;;) {
        const char *comma = p;
        while (comma < end && *comma != ',')
            comma++;
        const char *s = p, *e = comma;
        while (s < e && is_ows(*s))
            s++;
        while (e > s && is_ows(e[-1]))
            e--;
        struct spec sp;
        int r = parse_spec(s, e, &sp);
        if (r == SPEC_INVALID) {
            *n = 0;
            return DW_RANGE_NONE;
        }
        if (r == SPEC_OK) {
            specs++;
            uint64_t first, last;
            int got = resolve(&sp, size, &first, &last);
            if (got < 0) {
                empty_selection = true;
            } else if (got > 0) {
                if (*n == max) {
                    *n = 0;
                    return DW_RANGE_NONE; /* too many */
                }
                out[*n].first = first;
                out[*n].last = last;
                (*n)++;
                total += last - first + 1; /* each <= size: no overflow before the check */
                if (total > size) {
                    *n = 0;
                    return DW_RANGE_NONE; /* overlapping or amplifying */
                }
            }
        }
        if (comma == end)
            break;
        p = comma + 1;
    }
    if (specs == 0 || empty_selection) {
        *n = 0;
        return DW_RANGE_NONE;
    }
    return *n ? DW_RANGE_OK : DW_RANGE_UNSATISFIABLE;
}

enum dw_range_result
dw_range_parse(const char *value, size_t len, uint64_t size, uint64_t *first, uint64_t *last)
{
    struct dw_range r[2];
    size_t n;
    enum dw_range_result res = dw_range_parse_set(value, len, size, r, 2, &n);
    if (res != DW_RANGE_OK)
        return res;
    if (n != 1)
        return DW_RANGE_NONE;
    *first = r[0].first;
    *last = r[0].last;
    return DW_RANGE_OK;
}
