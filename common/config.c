#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_SIZE (16u << 20)
#define MAX_OPTIONS   128

/* ---- value parsers ---- */

static bool
word_eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

int
dc_conf_parse_bool(const char *s, bool *out)
{
    if (word_eq(s, "yes") || word_eq(s, "on") || word_eq(s, "true")) {
        *out = true;
        return 0;
    }
    if (word_eq(s, "no") || word_eq(s, "off") || word_eq(s, "false")) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

int
dc_conf_parse_int(const char *s, int64_t *out)
{
    if (*s == '\0' || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0')
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

/* Splits "64M" into 64 and "M". The number part is a decimal integer. */
static int
split_number(const char *s, uint64_t *num, const char **unit)
{
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
        s++;
    }
    *num = v;
    *unit = s;
    return 0;
}

int
dc_conf_parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *unit;
    int rc = split_number(s, &v, &unit);
    if (rc < 0)
        return rc;
    unsigned shift;
    if (*unit == '\0' || word_eq(unit, "b"))
        shift = 0;
    else if (word_eq(unit, "k") || word_eq(unit, "kb"))
        shift = 10;
    else if (word_eq(unit, "m") || word_eq(unit, "mb"))
        shift = 20;
    else if (word_eq(unit, "g") || word_eq(unit, "gb"))
        shift = 30;
    else
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = v << shift;
    return 0;
}

int
dc_conf_parse_duration(const char *s, int64_t *ms)
{
    uint64_t v;
    const char *unit;
    int rc = split_number(s, &v, &unit);
    if (rc < 0)
        return rc;
    uint64_t mul;
    if (*unit == '\0' || strcmp(unit, "s") == 0)
        mul = 1000;
    else if (strcmp(unit, "ms") == 0)
        mul = 1;
    else if (strcmp(unit, "m") == 0)
        mul = 60 * 1000;
    else if (strcmp(unit, "h") == 0)
        mul = 3600 * 1000;
    else if (strcmp(unit, "d") == 0)
        mul = 86400 * 1000;
    else
        return -EINVAL;
    if (v > (uint64_t)INT64_MAX / mul)
        return -ERANGE;
    *ms = (int64_t)(v * mul);
    return 0;
}

/* ---- errors ---- */

static void
errors_add(struct dc_conf_errors *errs, char *msg)
{
    char **nv = realloc(errs->msgs, (errs->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(msg);
        return;
    }
    errs->msgs = nv;
    errs->msgs[errs->n++] = msg;
}

void
dc_conf_error(struct dc_conf_ctx *ctx, const char *fmt, ...)
{
    char body[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    char *msg = NULL;
    int n = ctx->line > 0 ? asprintf(&msg, "%s:%d: %s", ctx->file, ctx->line, body)
                          : asprintf(&msg, "%s: %s", ctx->file, body);
    if (n < 0)
        return;
    errors_add(ctx->errs, msg);
}

void
dc_conf_errors_print(const struct dc_conf_errors *errs, FILE *out)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(out, "%s\n", errs->msgs[i]);
}

void
dc_conf_errors_deinit(struct dc_conf_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
}

int
dc_conf_parse_strv(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    struct dc_conf_strv *sv = field;
    char **slot = dc_arena_push(ctx->arena, (void **)&sv->v, &sv->n, sizeof(char *));
    if (slot == NULL || (*slot = dc_arena_strdup(ctx->arena, value)) == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- typed options ---- */

static void
format_bound(const struct dc_conf_option *o, int64_t v, char *buf, size_t size)
{
    if (o->type == DC_CONF_DURATION && v % 1000 == 0)
        snprintf(buf, size, "%" PRId64 "s", v / 1000);
    else if (o->type == DC_CONF_DURATION)
        snprintf(buf, size, "%" PRId64 "ms", v);
    else if (o->type == DC_CONF_SIZE && v >= 1024 && v % (1 << 20) == 0)
        snprintf(buf, size, "%" PRId64 "M", v >> 20);
    else if (o->type == DC_CONF_SIZE && v >= 1024 && v % 1024 == 0)
        snprintf(buf, size, "%" PRId64 "k", v >> 10);
    else
        snprintf(buf, size, "%" PRId64, v);
}

static int
check_range(struct dc_conf_ctx *ctx, const struct dc_conf_option *o, const char *value, int64_t v)
{
    if (o->min == 0 && o->max == 0)
        return 0;
    if (v >= o->min && v <= o->max)
        return 0;
    char lo[32], hi[32];
    format_bound(o, o->min, lo, sizeof(lo));
    format_bound(o, o->max, hi, sizeof(hi));
    dc_conf_error(ctx, "%s: %s is out of range (%s to %s)", o->name, value, lo, hi);
    return -1;
}

static int
enum_index(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && strncmp(p, value, len) == 0)
            return i;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return -1;
}

static int
parse_value(struct dc_conf_ctx *ctx, const struct dc_conf_option *o, const char *value, void *base)
{
    void *field = (char *)base + o->offset;
    int rc;
    switch (o->type) {
    case DC_CONF_STR: {
        char *s = dc_arena_strdup(ctx->arena, value);
        if (s == NULL) {
            dc_conf_error(ctx, "out of memory");
            return -1;
        }
        *(char **)field = s;
        return 0;
    }
    case DC_CONF_BOOL:
        if (dc_conf_parse_bool(value, (bool *)field) < 0) {
            dc_conf_error(ctx, "%s: '%s' is not a boolean (use yes or no)", o->name, value);
            return -1;
        }
        return 0;
    case DC_CONF_INT: {
        int64_t v;
        if ((o->flags & DC_CONF_AUTO) && strcmp(value, "auto") == 0) {
            *(int64_t *)field = 0;
            return 0;
        }
        rc = dc_conf_parse_int(value, &v);
        if (rc < 0) {
            dc_conf_error(ctx, "%s: '%s' is not %s", o->name, value,
                          (o->flags & DC_CONF_AUTO) ? "a whole number or 'auto'"
                                                    : "a whole number");
            return -1;
        }
        if (check_range(ctx, o, value, v) < 0)
            return -1;
        *(int64_t *)field = v;
        return 0;
    }
    case DC_CONF_SIZE: {
        uint64_t v;
        rc = dc_conf_parse_size(value, &v);
        if (rc < 0) {
            dc_conf_error(ctx, "%s: '%s' is not a size (use e.g. 512, 64k, 64M, 1G)", o->name,
                          value);
            return -1;
        }
        if (v > (uint64_t)INT64_MAX || check_range(ctx, o, value, (int64_t)v) < 0) {
            if (v > (uint64_t)INT64_MAX)
                dc_conf_error(ctx, "%s: %s is too large", o->name, value);
            return -1;
        }
        *(uint64_t *)field = v;
        return 0;
    }
    case DC_CONF_DURATION: {
        int64_t v;
        rc = dc_conf_parse_duration(value, &v);
        if (rc < 0) {
            dc_conf_error(ctx, "%s: '%s' is not a duration (use e.g. 500ms, 30s, 5m, 2h, 1d)",
                          o->name, value);
            return -1;
        }
        if (check_range(ctx, o, value, v) < 0)
            return -1;
        *(int64_t *)field = v;
        return 0;
    }
    case DC_CONF_ENUM: {
        int i = enum_index(o->choices, value);
        if (i < 0) {
            dc_conf_error(ctx, "%s: '%s' is not one of %s", o->name, value, o->choices);
            return -1;
        }
        *(int *)field = i;
        return 0;
    }
    case DC_CONF_CUSTOM:
        return o->parse(ctx, value, field) == 0 ? 0 : -1;
    }
    return -1;
}

/* ---- the file ---- */

/* One table being filled: the top level or one section instance. */
struct scope {
    const struct dc_conf_option *options;
    const struct dc_conf_section *section; /* NULL at top level */
    size_t index;                          /* which instance of the section */
    int header_line;
    int seen[MAX_OPTIONS]; /* line of first occurrence, 0 = not given */
};

struct parser {
    const struct dc_conf_schema *schema;
    struct dc_conf_ctx ctx;
    void *conf;
    struct scope top, sec;
    bool in_section;  /* a known section is open */
    bool skip_section; /* an unknown section is open: its keys are not checked again */
};

static void *
scope_base(struct parser *p, struct scope *s)
{
    if (s->section == NULL)
        return p->conf;
    void *array = *(void **)((char *)p->conf + s->section->array_offset);
    return (char *)array + s->index * s->section->size;
}

static const struct dc_conf_option *
find_option(const struct dc_conf_option *opts, const char *key, size_t *idx)
{
    for (size_t i = 0; opts && opts[i].name; i++) {
        if (strcmp(opts[i].name, key) == 0) {
            *idx = i;
            return &opts[i];
        }
    }
    return NULL;
}

/* Applies the defaults of everything not given, then the section's check. */
static void
scope_finish(struct parser *p, struct scope *s)
{
    void *base = scope_base(p, s);
    const char *file = p->ctx.file;
    int line = p->ctx.line;
    for (size_t i = 0; s->options && s->options[i].name; i++) {
        const struct dc_conf_option *o = &s->options[i];
        if (s->seen[i] || o->def == NULL)
            continue;
        /* A default that does not parse is a bug in the table; say so loudly. */
        p->ctx.file = "<built-in default>";
        p->ctx.line = 0;
        parse_value(&p->ctx, o, o->def, base);
    }
    p->ctx.file = file;
    p->ctx.line = s->header_line;
    if (s->section && s->section->check)
        s->section->check(&p->ctx, base);
    p->ctx.line = line;
}

static void
open_section(struct parser *p, char *hdr)
{
    /* hdr is the text between '[' and ']', trimmed. */
    char *type = hdr, *name = hdr;
    while (*name && !isspace((unsigned char)*name))
        name++;
    if (*name) {
        *name++ = '\0';
        while (isspace((unsigned char)*name))
            name++;
    }
    if (p->in_section)
        scope_finish(p, &p->sec);
    p->in_section = false;
    p->skip_section = true;

    const struct dc_conf_section *sec = NULL;
    for (size_t i = 0; p->schema->sections && p->schema->sections[i].type; i++)
        if (strcmp(p->schema->sections[i].type, type) == 0)
            sec = &p->schema->sections[i];
    if (sec == NULL) {
        dc_conf_error(&p->ctx, "unknown section type '%s'", type);
        return;
    }
    if (*name == '\0' && sec->name_required) {
        dc_conf_error(&p->ctx, "[%s] needs a name, as in [%s NAME]", type, type);
        return;
    }
    void **array = (void **)((char *)p->conf + sec->array_offset);
    size_t *count = (size_t *)((char *)p->conf + sec->count_offset);
    void *inst = dc_arena_push(p->ctx.arena, array, count, sec->size);
    char *nm = dc_arena_strdup(p->ctx.arena, name);
    if (inst == NULL || nm == NULL) {
        dc_conf_error(&p->ctx, "out of memory");
        return;
    }
    *(char **)((char *)inst + sec->name_offset) = nm;
    memset(&p->sec, 0, sizeof(p->sec));
    p->sec.options = sec->options;
    p->sec.section = sec;
    p->sec.index = *count - 1;
    p->sec.header_line = p->ctx.line;
    p->in_section = true;
    p->skip_section = false;
}

static void
set_option(struct parser *p, const char *key, const char *value)
{
    if (p->skip_section)
        return; /* already reported the unknown section */
    struct scope *s = p->in_section ? &p->sec : &p->top;
    size_t idx;
    const struct dc_conf_option *o = find_option(s->options, key, &idx);
    if (o == NULL) {
        size_t j;
        if (p->in_section && find_option(p->top.options, key, &j))
            dc_conf_error(&p->ctx, "'%s' belongs before the first section, not in [%s]", key,
                          p->sec.section->type);
        else if (p->in_section)
            dc_conf_error(&p->ctx, "unknown option '%s' in [%s]", key, p->sec.section->type);
        else
            dc_conf_error(&p->ctx, "unknown option '%s'", key);
        return;
    }
    if (idx >= MAX_OPTIONS) {
        dc_conf_error(&p->ctx, "%s: option table too large", key);
        return;
    }
    if (s->seen[idx] && !(o->flags & DC_CONF_MULTI)) {
        dc_conf_error(&p->ctx, "'%s' is given twice (first on line %d)", key, s->seen[idx]);
        return;
    }
    if (!s->seen[idx])
        s->seen[idx] = p->ctx.line;
    parse_value(&p->ctx, o, value, scope_base(p, s));
}

/* Cuts a '#' comment that is not inside double quotes. */
static void
strip_comment(char *s)
{
    bool quoted = false;
    for (; *s; s++) {
        if (*s == '"')
            quoted = !quoted;
        else if (*s == '#' && !quoted) {
            *s = '\0';
            return;
        }
    }
}

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static bool
valid_key(const char *k)
{
    if (*k == '\0')
        return false;
    for (; *k; k++)
        if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '-' || *k == '_'))
            return false;
    return true;
}

static void
parse_line(struct parser *p, char *line)
{
    strip_comment(line);
    line = trim(line);
    if (*line == '\0')
        return;
    if (*line == '[') {
        /* The last ']' ends the header, so names may hold brackets: [listen [::1]:443]. */
        char *close = strrchr(line, ']');
        if (close == NULL || *trim(close + 1) != '\0') {
            dc_conf_error(&p->ctx, "section header must look like [type NAME]");
            p->skip_section = true;
            if (p->in_section)
                scope_finish(p, &p->sec);
            p->in_section = false;
            return;
        }
        *close = '\0';
        open_section(p, trim(line + 1));
        return;
    }
    char *eq = strchr(line, '=');
    if (eq == NULL) {
        dc_conf_error(&p->ctx, "expected 'key = value' or '[section NAME]', got '%.40s'", line);
        return;
    }
    *eq = '\0';
    char *key = trim(line), *value = trim(eq + 1);
    if (!valid_key(key)) {
        dc_conf_error(&p->ctx, "'%.40s' is not an option name", key);
        return;
    }
    size_t vlen = strlen(value);
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"' &&
        memchr(value + 1, '"', vlen - 2) == NULL) {
        value[vlen - 1] = '\0';
        value++;
    } else if (vlen == 0) {
        dc_conf_error(&p->ctx, "%s: missing value (write %s = \"\" for an empty one)", key, key);
        return;
    }
    set_option(p, key, value);
}

int
dc_conf_load_string(const struct dc_conf_schema *schema, const char *name, const char *text,
                    void *conf, struct dc_arena *arena, struct dc_conf_errors *errs)
{
    size_t before = errs->n;
    struct parser p;
    memset(&p, 0, sizeof(p));
    p.schema = schema;
    p.conf = conf;
    p.ctx.arena = arena;
    p.ctx.file = name;
    p.ctx.errs = errs;
    p.ctx.conf = conf;
    p.top.options = schema->options;

    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        dc_conf_error(&p.ctx, "out of memory");
        return (int)(errs->n - before);
    }
    memcpy(buf, text, len + 1);
    char *line = buf;
    for (int lineno = 1; line != NULL; lineno++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        p.ctx.line = lineno;
        parse_line(&p, line);
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    p.ctx.line = 0;
    if (p.in_section)
        scope_finish(&p, &p.sec);
    scope_finish(&p, &p.top);
    p.ctx.line = 0;
    if (schema->check)
        schema->check(&p.ctx, conf);
    return (int)(errs->n - before);
}

int
dc_conf_load(const struct dc_conf_schema *schema, const char *path, void *conf,
             struct dc_arena *arena, struct dc_conf_errors *errs)
{
    struct dc_conf_ctx ctx = {.arena = arena, .file = path, .line = 0, .errs = errs};
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        dc_conf_error(&ctx, "cannot open: %s", strerror(errno));
        return 1;
    }
    char *text = malloc(MAX_FILE_SIZE + 1);
    if (text == NULL) {
        fclose(f);
        dc_conf_error(&ctx, "out of memory");
        return 1;
    }
    size_t n = fread(text, 1, MAX_FILE_SIZE + 1, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(text);
        dc_conf_error(&ctx, "cannot read: %s", strerror(err));
        return 1;
    }
    if (n > MAX_FILE_SIZE) {
        free(text);
        dc_conf_error(&ctx, "larger than %u MiB; is this a configuration file?",
                      MAX_FILE_SIZE >> 20);
        return 1;
    }
    if (memchr(text, '\0', n) != NULL) {
        free(text);
        dc_conf_error(&ctx, "contains a NUL byte; is this a configuration file?");
        return 1;
    }
    text[n] = '\0';
    int rc = dc_conf_load_string(schema, path, text, conf, arena, errs);
    free(text);
    return rc;
}

size_t
dc_conf_rows_copy(struct dc_conf_option *out, const struct dc_conf_option *src, size_t base)
{
    size_t n = 0;
    for (; src[n].name; n++) {
        out[n] = src[n];
        out[n].offset += base;
    }
    return n;
}

/* ---- help ---- */

static const char *
type_name(const struct dc_conf_option *o)
{
    switch (o->type) {
    case DC_CONF_STR:
        return "text";
    case DC_CONF_BOOL:
        return "yes|no";
    case DC_CONF_INT:
        return (o->flags & DC_CONF_AUTO) ? "number|auto" : "number";
    case DC_CONF_SIZE:
        return "size";
    case DC_CONF_DURATION:
        return "duration";
    case DC_CONF_ENUM:
        return o->choices;
    case DC_CONF_CUSTOM:
        return "value";
    }
    return "?";
}

static void
print_options(const struct dc_conf_option *opts, const char *indent, FILE *out)
{
    for (size_t i = 0; opts && opts[i].name; i++) {
        const struct dc_conf_option *o = &opts[i];
        fprintf(out, "%s%-22s %-18s %s%s%s%s\n", indent, o->name, type_name(o),
                o->help ? o->help : "", o->def ? " [default: " : "", o->def ? o->def : "",
                o->def ? "]" : "");
    }
}

void
dc_conf_print_help(const struct dc_conf_schema *schema, FILE *out)
{
    fprintf(out, "Configuration options of %s:\n", schema->program);
    print_options(schema->options, "  ", out);
    for (size_t i = 0; schema->sections && schema->sections[i].type; i++) {
        const struct dc_conf_section *s = &schema->sections[i];
        fprintf(out, "\n[%s%s]  %s\n", s->type, s->name_required ? " NAME" : "",
                s->help ? s->help : "");
        print_options(s->options, "  ", out);
    }
}
