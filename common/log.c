#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dc_log_level_current = DC_LOG_INFO;
static bool journal_prefix;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const int level_prio[] = {3, 4, 6, 7};

void
dc_log_init(enum dc_log_level level)
{
    const char *js = getenv("JOURNAL_STREAM");
    journal_prefix = js != NULL && *js != '\0';
    dc_log_set_level(level);
}

void
dc_log_set_level(enum dc_log_level level)
{
    __atomic_store_n(&dc_log_level_current, (int)level, __ATOMIC_RELAXED);
}

void
dc_log_set_fd(int fd)
{
    log_fd = fd < 0 ? STDERR_FILENO : fd;
}

int
dc_log_level_parse(const char *s)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcmp(s, level_names[i]) == 0)
            return (int)i;
    if (strcmp(s, "warning") == 0)
        return DC_LOG_WARN;
    return -1;
}

const char *
dc_log_level_name(enum dc_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

void
dc_log(enum dc_log_level level, const char *event, const char *fields, ...)
{
    if (!dc_log_enabled(level))
        return;
    char line[2048];
    size_t cap = sizeof(line) - 1; /* room for the newline */
    int saved_errno = errno;
    int n = 0;
    if (journal_prefix)
        n = snprintf(line, cap, "<%d>", level_prio[(unsigned)level & 3]);
    n += snprintf(line + n, cap - (size_t)n, "level=%s event=%s", dc_log_level_name(level), event);
    if (fields != NULL && *fields != '\0' && (size_t)n < cap - 1) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fields);
        n += vsnprintf(line + n, cap - (size_t)n, fields, ap);
        va_end(ap);
    }
    if ((size_t)n >= cap) {
        n = (int)cap;
        memcpy(line + n - 3, "...", 3);
    }
    line[n++] = '\n';
    /* One write per line; a short write to a pipe or tty is retried for the rest. */
    const char *p = line;
    size_t left = (size_t)n;
    for (int tries = 0; left > 0 && tries < 8; tries++) {
        ssize_t w = write(log_fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    errno = saved_errno;
}
