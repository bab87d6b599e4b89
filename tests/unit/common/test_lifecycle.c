/*
 * dc_daemon_run for real: each case runs the daemon in a fork()ed child (it installs signal
 * handlers and calls exit()), with $NOTIFY_SOCKET pointing at a datagram socket this process
 * bound. The parent waits for READY=1, sends real signals and checks the notifications, the
 * exit status and a byte trail the daemon's callbacks write to a pipe:
 *   P prepare, C cleanup, R reload, S worker_stop, A worker_abort, x a post made during
 *   worker_start, '0'+id a post from the main thread that ran on worker id's thread.
 * Every wait is bounded; a child that overstays is killed.
 */
#include "common/lifecycle.h"

#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode {
    M_LISTEN,      /* TCP listener per worker, closed by worker_stop */
    M_STUCK,       /* repeating timer worker_stop ignores, worker_abort closes */
    M_STUCK_NOABT, /* same, no worker_abort: the default closes the timer */
    M_FAIL_ONE,    /* worker 1's worker_start fails */
    M_SELF_STOP,   /* worker 0 calls dc_daemon_request_stop() from its loop */
    M_PREP_FAIL,   /* prepare fails */
};

struct wstate {
    uv_tcp_t tcp;
    uv_timer_t timer;
};

enum { START_FAILED = 42 };

static char sock_path[128];
static int notify_fd = -1;
static int trail[2];
static enum mode mode;
static unsigned reloads;
static uv_thread_t main_thread, worker_threads[8];

static void
mark(char c)
{
    ASSERT_EQ(write(trail[1], &c, 1), 1);
}

static int
on_prepare(struct dc_daemon *d)
{
    main_thread = uv_thread_self();
    ASSERT_EQ(dc_daemon_workers(d), 2);
    ASSERT_NULL(dc_daemon_worker(d, 2));
    mark('P');
    return mode == M_PREP_FAIL ? -EADDRINUSE : 0;
}

static void
on_posted_early(struct dc_worker *w, void *arg)
{
    (void)arg;
    if (mode != M_FAIL_ONE) /* runs on the target's loop, after its start succeeded */
        ASSERT_NOT_NULL(dc_worker_data(w));
    mark('x');
}

static void
on_posted(struct dc_worker *w, void *arg)
{
    uv_thread_t self = uv_thread_self();
    ASSERT_EQ(dc_worker_id(w), (uintptr_t)arg);
    ASSERT(uv_thread_equal(&self, &worker_threads[dc_worker_id(w)]));
    mark((char)('0' + dc_worker_id(w)));
}

static void
free_on_close(uv_handle_t *h)
{
    free(h->data);
}

static void
on_tick(uv_timer_t *t)
{
    (void)t;
}

static void
on_self_stop(uv_timer_t *t)
{
    struct dc_worker *w = t->data;
    dc_daemon_request_stop(dc_worker_daemon(w));
    uv_close((uv_handle_t *)t, NULL);
}

static int
on_worker_start(struct dc_worker *w)
{
    unsigned id = dc_worker_id(w);
    uv_thread_t self = uv_thread_self();
    ASSERT(!uv_thread_equal(&self, &main_thread));
    ASSERT_LT(id, 8);
    worker_threads[id] = self;
    if (mode == M_FAIL_ONE && id == 1)
        return -EADDRNOTAVAIL;
    /* The default abort closes with a NULL callback, so that mode keeps its state static. */
    static struct wstate static_states[8];
    struct wstate *st = mode == M_STUCK_NOABT ? &static_states[id] : calloc(1, sizeof(*st));
    ASSERT_NOT_NULL(st);
    dc_worker_set_data(w, st);
    uv_loop_t *loop = dc_worker_loop(w);
    if (mode == M_STUCK || mode == M_STUCK_NOABT) {
        ASSERT_EQ(uv_timer_init(loop, &st->timer), 0);
        st->timer.data = st;
        ASSERT_EQ(uv_timer_start(&st->timer, on_tick, 5, 5), 0);
        return 0;
    }
    struct sockaddr_in a;
    ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &a), 0);
    ASSERT_EQ(uv_tcp_init(loop, &st->tcp), 0);
    st->tcp.data = st;
    ASSERT_EQ(uv_tcp_bind(&st->tcp, (struct sockaddr *)&a, 0), 0);
    ASSERT_EQ(uv_listen((uv_stream_t *)&st->tcp, 16, NULL), 0);
    /* Posting to the next worker, whose loop may not exist yet: it must queue. */
    struct dc_worker *next = dc_daemon_worker(dc_worker_daemon(w), (id + 1) % 2);
    int err = dc_worker_post(next, on_posted_early, NULL);
    if (mode == M_FAIL_ONE)
        ASSERT(err == 0 || err == -ESHUTDOWN); /* worker 1 may already be gone */
    else
        ASSERT_EQ(err, 0);
    if (mode == M_SELF_STOP && id == 0) {
        static uv_timer_t stop_timer;
        ASSERT_EQ(uv_timer_init(loop, &stop_timer), 0);
        stop_timer.data = w;
        ASSERT_EQ(uv_timer_start(&stop_timer, on_self_stop, 50, 0), 0);
    }
    return 0;
}

static void
on_worker_stop(struct dc_worker *w)
{
    ASSERT(dc_worker_stopping(w));
    struct wstate *st = dc_worker_data(w);
    if (mode != M_STUCK && mode != M_STUCK_NOABT)
        uv_close((uv_handle_t *)&st->tcp, free_on_close);
    mark('S');
}

static void
on_worker_abort(struct dc_worker *w)
{
    struct wstate *st = dc_worker_data(w);
    uv_close((uv_handle_t *)&st->timer, free_on_close);
    mark('A');
}

static int
on_reload(struct dc_daemon *d)
{
    uv_thread_t self = uv_thread_self();
    ASSERT(uv_thread_equal(&self, &main_thread));
    for (unsigned i = 0; i < dc_daemon_workers(d); i++)
        ASSERT_EQ(dc_worker_post(dc_daemon_worker(d, i), on_posted, (void *)(uintptr_t)i), 0);
    mark('R');
    return reloads++ == 0 ? 0 : -EINVAL; /* the second reload is refused */
}

static void
on_status(struct dc_daemon *d, char *buf, size_t size)
{
    snprintf(buf, size, "test %u workers", dc_daemon_workers(d));
}

static void
on_cleanup(struct dc_daemon *d)
{
    (void)d;
    mark('C');
}

/* Forks the daemon. drain_ms and the mode pick the case; the parent keeps notify_fd. */
static pid_t
start_daemon(enum mode m, uint64_t drain_ms, const char *watchdog_usec)
{
    static unsigned n;
    snprintf(sock_path, sizeof(sock_path), "/tmp/duet-lc-%ld-%u", (long)getpid(), n++);
    unlink(sock_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(notify_fd, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
    ASSERT_EQ(bind(notify_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(pipe2(trail, O_CLOEXEC), 0);
    mode = m;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(notify_fd);
        close(trail[0]);
        setenv("NOTIFY_SOCKET", sock_path, 1);
        if (watchdog_usec != NULL)
            setenv("WATCHDOG_USEC", watchdog_usec, 1);
        struct dc_daemon_opts opts = {.workers = 2, .drain_ms = drain_ms};
        struct dc_daemon_ops ops = {
            .prepare = on_prepare,
            .worker_start = on_worker_start,
            .worker_stop = on_worker_stop,
            .worker_abort = m == M_STUCK_NOABT ? NULL : on_worker_abort,
            .reload = on_reload,
            .status = m == M_LISTEN ? on_status : NULL,
            .cleanup = on_cleanup,
        };
        int rc = dc_daemon_run(&opts, &ops, NULL);
        close(trail[1]);
        /* exit(), not _exit(), so that LeakSanitizer checks the child too; it reports with
         * status 1, hence the start-up failure's 1 is passed on as START_FAILED. */
        exit(rc == 1 ? START_FAILED : rc);
    }
    close(trail[1]);
    return pid;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next notification that is not WATCHDOG=1 (nor STATUS= unless want is one), within 5 s. */
static void
expect_msg(const char *want)
{
    bool want_status = strncmp(want, "STATUS=", 7) == 0;
    int64_t deadline = now_ms() + 5000;
    char buf[2048];
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            TEST_FAIL("no \"%s\" within 5 s", want);
        struct pollfd p = {.fd = notify_fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) != 1)
            continue;
        ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        ASSERT_GE(n, 0);
        buf[n] = '\0';
        if (strcmp(buf, "WATCHDOG=1") == 0 || (!want_status && strncmp(buf, "STATUS=", 7) == 0))
            continue;
        ASSERT_STR_EQ(buf, want);
        return;
    }
}

/* Waits up to ms for the child; kills it and fails on timeout. Returns the exit code. */
static int
wait_exit(pid_t pid, int ms)
{
    int status;
    for (int64_t deadline = now_ms() + ms; now_ms() < deadline;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        ASSERT_GE(r, 0);
        if (r == pid) {
            if (!WIFEXITED(status))
                TEST_FAIL("daemon died from signal %d", WTERMSIG(status));
            return WEXITSTATUS(status);
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    TEST_FAIL("daemon still running after %d ms", ms);
}

/* After the child exited: counts the trail bytes, checks no READY=1 is left unread when
 * forbidden, and closes both fds. */
static void
finish(unsigned counts[256], bool ready_allowed)
{
    memset(counts, 0, 256 * sizeof(counts[0]));
    unsigned char buf[256];
    ssize_t n;
    while ((n = read(trail[0], buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            counts[buf[i]]++;
    close(trail[0]);
    char msg[2048];
    while ((n = recv(notify_fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) >= 0) {
        msg[n] = '\0';
        if (!ready_allowed)
            ASSERT(strcmp(msg, "READY=1") != 0);
    }
    close(notify_fd);
    unlink(sock_path);
}

static void
test_ready_reload_stop(void)
{
    pid_t pid = start_daemon(M_LISTEN, 5000, NULL);
    expect_msg("READY=1");
    expect_msg("STATUS=test 2 workers");

    kill(pid, SIGHUP); /* accepted */
    expect_msg("RELOADING=1");
    expect_msg("READY=1");
    kill(pid, SIGHUP); /* refused: still READY=1, old config serving */
    expect_msg("RELOADING=1");
    expect_msg("READY=1");

    kill(pid, SIGTERM);
    expect_msg("STOPPING=1");
    ASSERT_EQ(wait_exit(pid, 5000), 0);
    unsigned c[256];
    finish(c, true);
    ASSERT_EQ(c['P'], 1);
    ASSERT_EQ(c['R'], 2);
    ASSERT_EQ(c['x'], 2);
    ASSERT_EQ(c['0'], 2); /* one post per reload ran on worker 0's thread */
    ASSERT_EQ(c['1'], 2);
    ASSERT_EQ(c['S'], 2);
    ASSERT_EQ(c['A'], 0); /* drained without the deadline */
    ASSERT_EQ(c['C'], 1);
}

static void
test_sigint_stops_too(void)
{
    pid_t pid = start_daemon(M_LISTEN, 5000, NULL);
    expect_msg("READY=1");
    kill(pid, SIGINT);
    expect_msg("STOPPING=1");
    ASSERT_EQ(wait_exit(pid, 5000), 0);
    unsigned c[256];
    finish(c, true);
    ASSERT_EQ(c['S'], 2);
    ASSERT_EQ(c['C'], 1);
}

static void
test_drain_deadline_aborts(void)
{
    pid_t pid = start_daemon(M_STUCK, 200, NULL);
    expect_msg("READY=1");
    int64_t t0 = now_ms();
    kill(pid, SIGTERM);
    expect_msg("STOPPING=1");
    ASSERT_EQ(wait_exit(pid, 5000), 0);
    ASSERT_GE(now_ms() - t0, 150); /* waited for the deadline (minus timer slack) */
    unsigned c[256];
    finish(c, true);
    ASSERT_EQ(c['S'], 2);
    ASSERT_EQ(c['A'], 2);
    ASSERT_EQ(c['C'], 1);
}

static void
test_second_signal_aborts_early(void)
{
    pid_t pid = start_daemon(M_STUCK, 60000, NULL);
    expect_msg("READY=1");
    int64_t t0 = now_ms();
    kill(pid, SIGTERM);
    expect_msg("STOPPING=1");
    kill(pid, SIGTERM);
    ASSERT_EQ(wait_exit(pid, 5000), 0);
    ASSERT_LT(now_ms() - t0, 5000);
    unsigned c[256];
    finish(c, true);
    ASSERT_EQ(c['A'], 2);
}

static void
test_default_abort_closes_handles(void)
{
    pid_t pid = start_daemon(M_STUCK_NOABT, 0, NULL); /* drain 0: abort at once */
    expect_msg("READY=1");
    kill(pid, SIGTERM);
    expect_msg("STOPPING=1");
    ASSERT_EQ(wait_exit(pid, 5000), 0);
    unsigned c[256];
    finish(c, true);
    ASSERT_EQ(c['S'], 2);
    ASSERT_EQ(c['A'], 0);
}

static void
test_worker_start_failure(void)
{
    pid_t pid = start_daemon(M_FAIL_ONE, 5000, NULL);
    ASSERT_EQ(wait_exit(pid, 5000), START_FAILED);
    unsigned c[256];
    finish(c, false); /* no READY=1 ever */
    ASSERT_EQ(c['P'], 1);
    ASSERT_EQ(c['S'], 1); /* the worker that did start was stopped */
    ASSERT_EQ(c['C'], 1);
}

static void
test_prepare_failure(void)
{
    pid_t pid = start_daemon(M_PREP_FAIL, 5000, NULL);
    ASSERT_EQ(wait_exit(pid, 5000), START_FAILED);
    unsigned c[256];
    finish(c, false);
    ASSERT_EQ(c['P'], 1);
    ASSERT_EQ(c['S'], 0);
    ASSERT_EQ(c['C'], 0); /* a failed prepare undoes its own work */
}

static void
test_request_stop_from_worker(void)
{
    pid_t pid = start_daemon(M_SELF_STOP, 5000, NULL);
    expect_msg("READY=1");
    expect_msg("STOPPING=1");
    ASSERT_EQ(wait_exit(pid, 5000), 0);
    unsigned c[256];
    finish(c, true);
    ASSERT_EQ(c['S'], 2);
}

static void
test_watchdog_pings(void)
{
    pid_t pid = start_daemon(M_LISTEN, 5000, "100000"); /* every 50 ms */
    expect_msg("READY=1");
    char buf[256];
    bool seen = false;
    for (int64_t deadline = now_ms() + 5000; !seen && now_ms() < deadline;) {
        struct pollfd p = {.fd = notify_fd, .events = POLLIN};
        if (poll(&p, 1, 100) != 1)
            continue;
        ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        ASSERT_GE(n, 0);
        buf[n] = '\0';
        seen = strcmp(buf, "WATCHDOG=1") == 0;
    }
    ASSERT(seen);
    kill(pid, SIGTERM);
    expect_msg("STOPPING=1");
    ASSERT_EQ(wait_exit(pid, 5000), 0);
    unsigned c[256];
    finish(c, true);
}

static void
test_cpu_count(void)
{
    unsigned n = dc_lifecycle_cpu_count();
    ASSERT_GE(n, 1);
    ASSERT_LE(n, (unsigned)sysconf(_SC_NPROCESSORS_CONF));
}

int
main(void)
{
    TEST_RUN(test_cpu_count);
    TEST_RUN(test_ready_reload_stop);
    TEST_RUN(test_sigint_stops_too);
    TEST_RUN(test_drain_deadline_aborts);
    TEST_RUN(test_second_signal_aborts_early);
    TEST_RUN(test_default_abort_closes_handles);
    TEST_RUN(test_worker_start_failure);
    TEST_RUN(test_prepare_failure);
    TEST_RUN(test_request_stop_from_worker);
    TEST_RUN(test_watchdog_pings);
    return 0;
}
