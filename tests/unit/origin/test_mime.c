/* Unit tests for origin/mime.c. */
#include "origin/mime.h"

#include "test.h"

#define BIN "application/octet-stream"

static const char *
mt(const char *path)
{
    return dw_mime_type(path, strlen(path));
}

/* Every extension of the table, so a row out of sort order (invisible to bsearch) fails. */
static void
test_every_row(void)
{
    static const char *const rows[][2] = {
        {"7z", "application/x-7z-compressed"},
        {"aac", "audio/aac"},
        {"apng", "image/apng"},
        {"atom", "application/atom+xml"},
        {"avif", "image/avif"},
        {"bmp", "image/bmp"},
        {"bz2", "application/x-bzip2"},
        {"css", "text/css; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},
        {"eot", "application/vnd.ms-fontobject"},
        {"epub", "application/epub+zip"},
        {"flac", "audio/flac"},
        {"gif", "image/gif"},
        {"gz", "application/gzip"},
        {"htm", "text/html; charset=utf-8"},
        {"html", "text/html; charset=utf-8"},
        {"ico", "image/x-icon"},
        {"ics", "text/calendar; charset=utf-8"},
        {"jpeg", "image/jpeg"},
        {"jpg", "image/jpeg"},
        {"js", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"jsonld", "application/ld+json"},
        {"jxl", "image/jxl"},
        {"m4a", "audio/mp4"},
        {"m4v", "video/mp4"},
        {"map", "application/json"},
        {"md", "text/markdown; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
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
        {"txt", "text/plain; charset=utf-8"},
        {"vtt", "text/vtt; charset=utf-8"},
        {"wasm", "application/wasm"},
        {"wav", "audio/wav"},
        {"webm", "video/webm"},
        {"webmanifest", "application/manifest+json"},
        {"webp", "image/webp"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"xhtml", "application/xhtml+xml"},
        {"xml", "text/xml; charset=utf-8"},
        {"xsl", "application/xml"},
        {"xz", "application/x-xz"},
        {"yaml", "application/yaml"},
        {"yml", "application/yaml"},
        {"zip", "application/zip"},
        {"zst", "application/zstd"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "dir/file.%s", rows[i][0]);
        ASSERT_STR_EQ(mt(path), rows[i][1]);
        /* Upper case too. */
        for (char *p = path; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        ASSERT_STR_EQ(mt(path), rows[i][1]);
    }
}

static void
test_extension_rules(void)
{
    ASSERT_STR_EQ(mt("index.html"), "text/html; charset=utf-8");
    ASSERT_STR_EQ(mt("Index.HtMl"), "text/html; charset=utf-8");
    ASSERT_STR_EQ(mt("a/b/c.min.js"), "text/javascript; charset=utf-8");
    /* The last extension counts. */
    ASSERT_STR_EQ(mt("a.tar.gz"), "application/gzip");
    ASSERT_STR_EQ(mt("a.html.bak"), BIN);
    /* A dot in a directory name is not the file's extension. */
    ASSERT_STR_EQ(mt("site.html/README"), BIN);
    ASSERT_STR_EQ(mt("v1.2/file"), BIN);
    /* A leading dot: the rest is the extension, as nginx takes it. */
    ASSERT_STR_EQ(mt(".css"), "text/css; charset=utf-8");
    ASSERT_STR_EQ(mt(".htaccess"), BIN);
    /* Nothing or nothing after the dot. */
    ASSERT_STR_EQ(mt(""), BIN);
    ASSERT_STR_EQ(mt("README"), BIN);
    ASSERT_STR_EQ(mt("file."), BIN);
    ASSERT_STR_EQ(mt("a/"), BIN);
    ASSERT_STR_EQ(mt("a.png/"), BIN);
    /* Unknown and too long. */
    ASSERT_STR_EQ(mt("x.exe"), BIN);
    ASSERT_STR_EQ(mt("x.htmlx"), BIN);
    ASSERT_STR_EQ(mt("x.ht"), BIN);
    ASSERT_STR_EQ(mt("x.webmanifestwebmanifest"), BIN);
    ASSERT_STR_EQ(mt("x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), BIN);
    /* Only len bytes count; a NUL inside the extension is no match. */
    ASSERT_STR_EQ(dw_mime_type("a.png.txt", 5), "image/png");
    ASSERT_STR_EQ(dw_mime_type("a.pn\0g", 6), BIN);
    ASSERT_STR_EQ(dw_mime_type("a.png", 0), BIN);
    ASSERT_STR_EQ(dw_mime_type(NULL, 0), BIN);
    ASSERT_STR_EQ(dw_mime_type(NULL, 5), BIN);
}

int
main(void)
{
    TEST_RUN(test_every_row);
    TEST_RUN(test_extension_rules);
    return 0;
}
