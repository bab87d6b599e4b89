/*
 * Validators and conditional requests (RFC 9110 §8.8, §13): ETag and Last-Modified values
 * for a file, HTTP dates, and the If-None-Match / If-Modified-Since / If-Range decisions.
 * Pure.
 */
#ifndef DUET_ORIGIN_COND_H
#define DUET_ORIGIN_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DW_ETAG_MAX 48
#define DW_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* A strong ETag from modification time and size, nginx's form: "\"<mtime hex>-<size hex>\"".
 * Writes it with its quotes and a NUL; returns the length. */
int dw_cond_etag(time_t mtime, uint64_t size, char out[DW_ETAG_MAX]);

/* IMF-fixdate of t into out (DW_DATE_LEN chars plus NUL). */
void dw_cond_date_format(time_t t, char out[DW_DATE_LEN + 1]);
/* Parses IMF-fixdate, and the obsolete RFC 850 and asctime forms. Returns 0 and sets *t,
 * or -EINVAL. */
int dw_cond_date_parse(const char *s, size_t len, time_t *t);

/*
 * Whether a GET/HEAD may be answered 304 Not Modified. inm/ims point at the header values
 * (NULL when absent). If-None-Match takes precedence (weak comparison, "*" matches, lists
 * separated by commas); If-Modified-Since is used only without If-None-Match, and only when
 * the file is not newer than the date. An unparseable date is ignored.
 */
bool dw_cond_not_modified(const char *inm, size_t inm_len, const char *ims, size_t ims_len,
                          const char *etag, time_t mtime);

/* Whether a Range may be honoured under If-Range (absent: yes; an ETag: strong match; a
 * date: exactly Last-Modified). */
bool dw_cond_if_range(const char *ifr, size_t len, const char *etag, time_t mtime);

#endif
