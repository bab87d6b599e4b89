/*
 * The Range request header (RFC 9110 §14): one range, or a set of them for a
 * multipart/byteranges answer, within limits against overlapping and many small ranges.
 * Pure.
 */
#ifndef DUET_ORIGIN_RANGE_H
#define DUET_ORIGIN_RANGE_H

#include <stddef.h>
#include <stdint.h>

enum dw_range_result {
    DW_RANGE_NONE = 0,      /* send the whole file: syntax we ignore (RFC: a server may) or
                               too many or overlapping ranges */
    DW_RANGE_OK,            /* one satisfiable range: 206 with [*first, *last] */
    DW_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * / size */
};

struct dw_range {
    uint64_t first, last; /* inclusive */
};

/*
 * Parses value (as below) into at most max satisfiable ranges out[0..*n), in the order
 * asked. OK: *n >= 1 (unsatisfiable ones dropped). UNSATISFIABLE: none satisfiable. NONE
 * (serve the whole file): bad syntax, more than max satisfiable ranges, or ranges whose
 * lengths add up to more than size (overlaps; nginx's guard).
 */
enum dw_range_result dw_range_parse_set(const char *value, size_t len, uint64_t size,
                                        struct dw_range *out, size_t max, size_t *n);

/*
 * Parses value ("bytes=0-99", "bytes=100-", "bytes=-500") against a file of size bytes.
 * last is inclusive and clamped to size - 1. A bad unit or malformed syntax gives NONE; a
 * well-formed single range that starts at or beyond size (or a suffix of 0) gives
 * UNSATISFIABLE; a set that selects several ranges gives NONE (served whole).
 */
enum dw_range_result dw_range_parse(const char *value, size_t len, uint64_t size,
                                    uint64_t *first, uint64_t *last);

#endif
