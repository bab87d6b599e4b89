/*
 * Content-Type by file extension, the common table nginx's mime.types covers for static
 * sites (html, css, js, json, images, fonts, media, archives, text). Text types carry
 * "; charset=utf-8". Unknown: application/octet-stream. Pure, no allocation.
 */
#ifndef DUET_ORIGIN_MIME_H
#define DUET_ORIGIN_MIME_H

#include <stddef.h>

/* The type for path (its last extension, case-insensitive). Never NULL. */
const char *dw_mime_type(const char *path, size_t len);

#endif
