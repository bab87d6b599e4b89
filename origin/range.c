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
 *  - Several ranges give NONE: nginx would answer multipart/byteranges; we serve the whole
 *    file, which §14.2 allows ("MAY ignore"), and it leaves no way to ask for overlapping
 *    or many small ranges (the amplification §14.1.1 warns about).
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

enum dw_range_result
dw_range_parse(const char *value, size_t len, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (value == NULL || len < 6 || strncasecmp(value, "bytes=", 6) != 0)
        return DW_RANGE_NONE;
    const char *p = value + 6, *end = value + len;
    struct spec one = {0}, sp;
    int n = 0;
    for (;;) {
        const char *comma = p;
        while (comma < end && *comma != ',')
            comma++;
        const char *s = p, *e = comma;
        while (s < e && is_ows(*s))
            s++;
        while (e > s && is_ows(e[-1]))
            e--;
        int r = parse_spec(s, e, &sp);
        if (r == SPEC_INVALID)
            return DW_RANGE_NONE;
        if (r == SPEC_OK && n++ == 0)
            one = sp;
        if (comma == end)
            break;
        p = comma + 1;
    }
    if (n != 1)
        return DW_RANGE_NONE;

    if (one.suffix) {
        if (one.first == 0)
            return DW_RANGE_UNSATISFIABLE;
        if (size == 0)
            return DW_RANGE_NONE;
        *first = one.first >= size ? 0 : size - one.first;
        *last = size - 1;
        return DW_RANGE_OK;
    }
    if (one.first >= size)
        return DW_RANGE_UNSATISFIABLE;
    *first = one.first;
    *last = one.open || one.last >= size ? size - 1 : one.last;
    return DW_RANGE_OK;
}
