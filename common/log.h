/*
 * Logging: one line per event on stderr, "level=L event=E key=value ...".
 *
 * The level is process-wide. DC_LOG_DEBUG() tests it before evaluating its arguments, so a
 * debug line costs one predictable branch when debug is off. The main thread changes the
 * level at reload while workers test it, so both sides use relaxed atomics: no ordering is
 * needed (a worker may log one more or one fewer debug line around a reload), only the
 * absence of a data race, and a relaxed load is a plain load on the CPUs we run on. When $JOURNAL_STREAM is set
 * (stderr is connected to journald) each line starts with "<N>" so journald keeps the
 * priority (sd-daemon(3)). Each line is written with a single write(2), so lines from
 * different threads never interleave.
 */
#ifndef DUET_COMMON_LOG_H
#define DUET_COMMON_LOG_H

#include <stdbool.h>

enum dc_log_level {
    DC_LOG_ERROR = 0, /* the daemon cannot do something it was asked to */
    DC_LOG_WARN = 1,  /* something is wrong but serving goes on */
    DC_LOG_INFO = 2,  /* lifecycle events: start, reload, stop */
    DC_LOG_DEBUG = 3, /* per query / per request detail */
};

/* Read with dc_log_enabled(), written with dc_log_set_level(): never directly. */
extern int dc_log_level_current;

/* Sets the level; reads $JOURNAL_STREAM once to decide on "<N>" prefixes. */
void dc_log_init(enum dc_log_level level);
void dc_log_set_level(enum dc_log_level level);
/* "error" | "warn" | "info" | "debug" → level, or -1. */
int dc_log_level_parse(const char *s);
const char *dc_log_level_name(enum dc_log_level level);

/* Logs one event. fields is a printf format for the key=value part (may be NULL or ""). A
 * line longer than 2 KiB is cut and ends with "...". */
void dc_log(enum dc_log_level level, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* Redirects output to fd (tests); -1 restores stderr. */
void dc_log_set_fd(int fd);

#define dc_log_enabled(level)                                                                      \
    ((int)(level) <= __atomic_load_n(&dc_log_level_current, __ATOMIC_RELAXED))

#define DC_LOG_ERROR(event, ...) dc_log(DC_LOG_ERROR, event, __VA_ARGS__)
#define DC_LOG_WARN(event, ...)  dc_log(DC_LOG_WARN, event, __VA_ARGS__)
#define DC_LOG_INFO(event, ...)                                                                    \
    do {                                                                                           \
        if (dc_log_enabled(DC_LOG_INFO))                                                           \
            dc_log(DC_LOG_INFO, event, __VA_ARGS__);                                               \
    } while (0)
#define DC_LOG_DEBUG(event, ...)                                                                   \
    do {                                                                                           \
        if (__builtin_expect(dc_log_enabled(DC_LOG_DEBUG), 0))                                     \
            dc_log(DC_LOG_DEBUG, event, __VA_ARGS__);                                              \
    } while (0)

#endif
