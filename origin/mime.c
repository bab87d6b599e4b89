#include "origin/mime.h"

#include <stdlib.h>
#include <string.h>

/*
 * Choices, where nginx's mime.types and the registries differ:
 *  - js/mjs: "text/javascript", the registration RFC 9239 (2022) made current and what
 *    browsers expect for modules; nginx's older mime.types says application/javascript.
 *  - Every text/ type carries "; charset=utf-8" (origin/mime.h). application/json does not:
 *    RFC 8259 §11 defines no charset parameter (JSON is UTF-8). Neither do the +xml types:
 *    XML declares its encoding itself.
 *  - xml: "text/xml" as nginx, so it carries the charset like other text; ico: image/x-icon
 *    as nginx (browsers know it better than image/vnd.microsoft.icon).
 *  - No "svgz": it is gzip bytes that would need Content-Encoding to render.
 */
struct mime {
    const char *ext; /* lower case; the table is sorted by strcmp for bsearch */
    const char *type;
};

#define TEXT(t) "text/" t "; charset=utf-8"

static const struct mime table[] = {
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"atom", "application/atom+xml"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"css", TEXT("css")},
    {"csv", TEXT("csv")},
    {"eot", "application/vnd.ms-fontobject"},
    {"epub", "application/epub+zip"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", TEXT("html")},
    {"html", TEXT("html")},
    {"ico", "image/x-icon"},
    {"ics", TEXT("calendar")},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", TEXT("javascript")},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"jxl", "image/jxl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"map", "application/json"},
    {"md", TEXT("markdown")},
    {"mjs", TEXT("javascript")},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ttf", "font/ttf"},
    {"txt", TEXT("plain")},
    {"vtt", TEXT("vtt")},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xml", TEXT("xml")},
    {"xsl", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

#define DEFAULT_TYPE "application/octet-stream"

/* Longer than any extension in the table: anything longer cannot match. */
#define EXT_MAX 16

static int
cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct mime *)elem)->ext);
}

/*
 * The extension is what follows the last '.' of the last path segment, as nginx's
 * ngx_http_set_exten takes it (so ".htaccess" has the extension "htaccess", and "a.tar.gz"
 * is gzip). It is lowered into a stack buffer, since the request path must not be touched.
 */
const char *
dw_mime_type(const char *path, size_t len)
{
    if (path == NULL)
        return DEFAULT_TYPE;
    size_t dot = len;
    for (size_t i = len; i > 0; i--) {
        char c = path[i - 1];
        if (c == '/')
            break;
        if (c == '.') {
            dot = i - 1;
            break;
        }
    }
    size_t n = dot < len ? len - dot - 1 : 0;
    if (n == 0 || n >= EXT_MAX)
        return DEFAULT_TYPE;
    char ext[EXT_MAX];
    for (size_t i = 0; i < n; i++) {
        char c = path[dot + 1 + i];
        ext[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    ext[n] = '\0';
    /* A NUL inside the extension would make it look shorter to strcmp than it is. */
    if (strlen(ext) != n)
        return DEFAULT_TYPE;
    const struct mime *m =
        bsearch(ext, table, sizeof(table) / sizeof(table[0]), sizeof(table[0]), cmp);
    return m != NULL ? m->type : DEFAULT_TYPE;
}
