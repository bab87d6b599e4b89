/* Unit tests for common/log.c: line format, levels, journald prefixes, that debug arguments
 * are not evaluated when debug is off, truncation of long lines, and that a level set by one
 * thread while others test it is not a data race (seen by the ThreadSanitizer build). */
#include "common/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

static int pipefd[2];

static const char *
read_all(void)
{
    static char buf[8192];
    ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static int evaluated;

static int
side_effect(void)
{
    evaluated++;
    return 7;
}

static void
test_format_and_levels(void)
{
    unsetenv("JOURNAL_STREAM");
    dc_log_init(DC_LOG_INFO);
    dc_log(DC_LOG_WARN, "upstream_timeout", "server=%s rtt_ms=%d", "192.0.2.1", 1200);
    ASSERT_STR_EQ(read_all(), "level=warn event=upstream_timeout server=192.0.2.1 rtt_ms=1200\n");
    DC_LOG_INFO("start", NULL);
    ASSERT_STR_EQ(read_all(), "level=info event=start\n");
    DC_LOG_DEBUG("noise", "x=%d", side_effect());
    DC_LOG_INFO("after", NULL);
    ASSERT_STR_EQ(read_all(), "level=info event=after\n");
    ASSERT_EQ(evaluated, 0);
    dc_log_set_level(DC_LOG_DEBUG);
    DC_LOG_DEBUG("noise", "x=%d", side_effect());
    ASSERT_STR_EQ(read_all(), "level=debug event=noise x=7\n");
    ASSERT_EQ(evaluated, 1);
    dc_log_set_level(DC_LOG_ERROR);
    DC_LOG_WARN("hidden", NULL);
    DC_LOG_ERROR("shown", "why=%s", "disk");
    ASSERT_STR_EQ(read_all(), "level=error event=shown why=disk\n");
}

static void
test_journal_prefix(void)
{
    setenv("JOURNAL_STREAM", "8:1234", 1);
    dc_log_init(DC_LOG_DEBUG);
    DC_LOG_WARN("w", NULL);
    ASSERT_STR_EQ(read_all(), "<4>level=warn event=w\n");
    DC_LOG_DEBUG("d", "k=v");
    ASSERT_STR_EQ(read_all(), "<7>level=debug event=d k=v\n");
    unsetenv("JOURNAL_STREAM");
    dc_log_init(DC_LOG_DEBUG);
}

static void
test_long_line_is_cut(void)
{
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dc_log(DC_LOG_ERROR, "big", "v=%s", big);
    const char *line = read_all();
    size_t len = strlen(line);
    ASSERT_EQ(len, 2048);
    ASSERT(line[len - 1] == '\n');
    ASSERT(memcmp(line + len - 4, "...", 3) == 0);
}

static void
test_level_names(void)
{
    ASSERT_EQ(dc_log_level_parse("debug"), DC_LOG_DEBUG);
    ASSERT_EQ(dc_log_level_parse("warning"), DC_LOG_WARN);
    ASSERT_EQ(dc_log_level_parse("loud"), -1);
    ASSERT_STR_EQ(dc_log_level_name(DC_LOG_INFO), "info");
}

/* The main thread sets the level at reload while workers test it before every debug line:
 * under -DDUET_TSAN=ON a plain read of the level beside the setter is reported as a race. */
static void *
set_levels(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++)
        dc_log_set_level(i % 2 ? DC_LOG_DEBUG : DC_LOG_INFO);
    return NULL;
}

static void
test_level_set_while_threads_read(void)
{
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, set_levels, NULL), 0);
    int seen_debug = 0;
    for (int i = 0; i < 20000; i++)
        seen_debug += dc_log_enabled(DC_LOG_DEBUG);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT(seen_debug >= 0);
    dc_log_set_level(DC_LOG_INFO);
    ASSERT(!dc_log_enabled(DC_LOG_DEBUG));
}

int
main(void)
{
    ASSERT_EQ(pipe(pipefd), 0);
    dc_log_set_fd(pipefd[1]);
    TEST_RUN(test_format_and_levels);
    TEST_RUN(test_journal_prefix);
    TEST_RUN(test_long_line_is_cut);
    TEST_RUN(test_level_names);
    TEST_RUN(test_level_set_while_threads_read);
    dc_log_set_fd(-1);
    return 0;
}
