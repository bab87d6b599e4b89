/*
 * The configuration syntax both daemons share, and the tables that give it meaning.
 *
 * Syntax: '#' starts a comment (outside double quotes); 'key = value' sets an option;
 * '[type NAME]' (or '[type]') opens a named section that lasts until the next header. A
 * value wrapped whole in double quotes has them removed, so 'user = ""' is the empty string.
 *
 * Meaning comes from a schema: one table of options for the top level and one per section
 * type, each row naming the option, its type, its default (as config text, parsed by the
 * same code as the file), its bounds and the field it fills. Loading parses the whole file,
 * collects every error as "file:line: message" and fills the caller's struct; nothing is
 * half-applied to a live configuration because the caller loads into a fresh struct.
 *
 * Not here: what any option means to a daemon (resolver/ and origin/ own their tables).
 */
#ifndef DUET_COMMON_CONFIG_H
#define DUET_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/arena.h"

enum dc_conf_type {
    DC_CONF_STR,      /* char *: copied into the arena */
    DC_CONF_BOOL,     /* bool: yes|no|on|off|true|false */
    DC_CONF_INT,      /* int64_t within [min, max]; "auto" gives 0 when DC_CONF_AUTO is set */
    DC_CONF_SIZE,     /* uint64_t bytes: 512, 64k, 64K, 64M, 1G (powers of 1024) */
    DC_CONF_DURATION, /* int64_t milliseconds: 500ms, 30s, 5m, 2h, 1d; a bare number is s */
    DC_CONF_ENUM,     /* int: index of the value in choices "a|b|c" */
    DC_CONF_CUSTOM,   /* the option's parse callback fills the field */
};

#define DC_CONF_MULTI 0x1u /* may be given more than once (each occurrence parsed in turn) */
#define DC_CONF_AUTO  0x2u /* DC_CONF_INT: the word "auto" stands for 0 */

/* Where a value being parsed came from, and where errors go. */
struct dc_conf_ctx {
    struct dc_arena *arena; /* the configuration's arena: callbacks allocate from it */
    const char *file;
    int line;
    struct dc_conf_errors *errs;
    void *conf; /* the top-level struct being filled */
};

/*
 * Parses value into field (the option's destination inside its struct). Returns 0, or -1
 * after reporting why with dc_conf_error(). For DC_CONF_MULTI options the callback is
 * called once per occurrence and appends.
 */
typedef int (*dc_conf_parse_cb)(struct dc_conf_ctx *ctx, const char *value, void *field);

struct dc_conf_option {
    const char *name;
    enum dc_conf_type type;
    size_t offset;          /* of the field in the top-level or section struct */
    const char *def;        /* default in config syntax; NULL leaves the field zeroed */
    int64_t min, max;       /* bounds for INT, SIZE, DURATION (ms); min == max == 0: none */
    const char *choices;    /* DC_CONF_ENUM: "error|warn|info|debug" */
    dc_conf_parse_cb parse; /* DC_CONF_CUSTOM */
    unsigned flags;         /* DC_CONF_MULTI, DC_CONF_AUTO */
    const char *help;       /* one line, for --help */
};

/* Table rows. T is the struct type the table fills, F its field. */
#define DC_CONF_OPT(name, type, T, F, def, min, max, choices, parse, flags, help)                  \
    {name, type, offsetof(T, F), def, min, max, choices, parse, flags, help}
#define DC_CONF_OPT_STR(name, T, F, def, help)                                                     \
    DC_CONF_OPT(name, DC_CONF_STR, T, F, def, 0, 0, NULL, NULL, 0, help)
#define DC_CONF_OPT_BOOL(name, T, F, def, help)                                                    \
    DC_CONF_OPT(name, DC_CONF_BOOL, T, F, def, 0, 0, NULL, NULL, 0, help)
#define DC_CONF_OPT_INT(name, T, F, def, min, max, help)                                           \
    DC_CONF_OPT(name, DC_CONF_INT, T, F, def, min, max, NULL, NULL, 0, help)
#define DC_CONF_OPT_SIZE(name, T, F, def, min, max, help)                                          \
    DC_CONF_OPT(name, DC_CONF_SIZE, T, F, def, min, max, NULL, NULL, 0, help)
#define DC_CONF_OPT_DURATION(name, T, F, def, min, max, help)                                      \
    DC_CONF_OPT(name, DC_CONF_DURATION, T, F, def, min, max, NULL, NULL, 0, help)
#define DC_CONF_OPT_ENUM(name, T, F, def, choices, help)                                           \
    DC_CONF_OPT(name, DC_CONF_ENUM, T, F, def, 0, 0, choices, NULL, 0, help)
#define DC_CONF_OPT_CUSTOM(name, T, F, def, parse, flags, help)                                    \
    DC_CONF_OPT(name, DC_CONF_CUSTOM, T, F, def, 0, 0, NULL, parse, flags, help)
#define DC_CONF_OPT_END {NULL, DC_CONF_STR, 0, NULL, 0, 0, NULL, NULL, 0, NULL}

/* A section type such as [site NAME]. Each occurrence fills one struct of `size` bytes,
 * appended to an array in the top-level struct. */
struct dc_conf_section {
    const char *type;                      /* "site"; NULL ends the list */
    const struct dc_conf_option *options;  /* ends with DC_CONF_OPT_END */
    size_t size;                           /* of one section struct */
    size_t name_offset;                    /* char * field that receives NAME */
    size_t array_offset, count_offset;     /* void * and size_t fields in the top struct */
    bool name_required;                    /* '[type]' without a name is an error */
    /* Sections are stored by value in a growing array, so callbacks must not keep pointers
     * to a section struct: it moves when the next section of its type is opened. */
    /* Called after the section's options and defaults are in; reports with dc_conf_error
     * (ctx->line is the header's line). May be NULL. */
    int (*check)(struct dc_conf_ctx *ctx, void *section);
    const char *help;
};

#define DC_CONF_SECTION(type, T, opts, Top, array, count, name_field, required, check, help)      \
    {type, opts, sizeof(T), offsetof(T, name_field), offsetof(Top, array), offsetof(Top, count),  \
     required, check, help}
#define DC_CONF_SECTION_END {NULL, NULL, 0, 0, 0, 0, false, NULL, NULL}

struct dc_conf_schema {
    const char *program;                    /* "duet-resolver" */
    const struct dc_conf_option *options;   /* top level */
    const struct dc_conf_section *sections; /* may be NULL */
    /* Whole-configuration checks after everything is parsed (ctx->line is 0). May be NULL. */
    int (*check)(struct dc_conf_ctx *ctx, void *conf);
};

/* Every error a load found, in file order. */
struct dc_conf_errors {
    char **msgs; /* "file:line: message" */
    size_t n;
};

/*
 * Reads path and fills conf (a zeroed top-level struct) according to schema, allocating
 * from arena (which the caller owns and frees with the configuration). Returns the number
 * of errors (0 = success); each is appended to errs. A missing or unreadable file is one
 * error "path: <strerror>".
 */
int dc_conf_load(const struct dc_conf_schema *schema, const char *path, void *conf,
                 struct dc_arena *arena, struct dc_conf_errors *errs);
/* The same from text in memory; name stands for the file in messages. */
int dc_conf_load_string(const struct dc_conf_schema *schema, const char *name, const char *text,
                        void *conf, struct dc_arena *arena, struct dc_conf_errors *errs);

/* A repeatable string option: DC_CONF_OPT_CUSTOM(..., dc_conf_parse_strv, DC_CONF_MULTI, ...)
 * appends each occurrence to a struct dc_conf_strv field. */
struct dc_conf_strv {
    char **v;
    size_t n;
};
int dc_conf_parse_strv(struct dc_conf_ctx *ctx, const char *value, void *field);

/* Records an error at ctx's file and line (no line part when ctx->line is 0). */
void dc_conf_error(struct dc_conf_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void dc_conf_errors_print(const struct dc_conf_errors *errs, FILE *out);
void dc_conf_errors_deinit(struct dc_conf_errors *errs);

/* Copies the rows of src (up to its DC_CONF_OPT_END) into out, adding base to each offset,
 * so a table written for a struct can fill that struct embedded at `base` in another.
 * Returns the number of rows copied (the END row is not copied). */
size_t dc_conf_rows_copy(struct dc_conf_option *out, const struct dc_conf_option *src,
                         size_t base);

/* Prints every option and section with its default and help line. */
void dc_conf_print_help(const struct dc_conf_schema *schema, FILE *out);

/* The value parsers the types above use, for callbacks that need them. Each returns 0, or
 * -EINVAL (bad syntax) / -ERANGE (overflow) and leaves *out untouched. */
int dc_conf_parse_bool(const char *s, bool *out);
int dc_conf_parse_int(const char *s, int64_t *out);
int dc_conf_parse_size(const char *s, uint64_t *out);
int dc_conf_parse_duration(const char *s, int64_t *ms);

#endif
