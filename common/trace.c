#include "common/trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

int dc_trace_enabled;

/* The settings tracing runs with: an immutable snapshot that `trace on` replaces as a whole
 * (one atomic pointer), so event sites on other threads read them without locking and never
 * see one half-written. Old snapshots stay valid: a ring of SNAPSHOTS is reused, far more than
 * an event needs to finish with the one it loaded. */
struct settings {
    char daemon[16];
    char path[256];
    char client[64]; /* "" = any */
    char name[256];  /* "" = any; lower case, no final dot */
};
#define SNAPSHOTS 64
static struct settings snapshots[SNAPSHOTS];
static unsigned snapshot_next;
static struct settings *settings = &snapshots[0];

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static int trace_fd = -1;

static const struct settings *
current(void)
{
    return __atomic_load_n(&settings, __ATOMIC_ACQUIRE);
}

static void
copy_name(char *out, size_t size, const char *name)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.')
        n--;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    out[n] = '\0';
    if (strcmp(out, ".") == 0)
        out[0] = '\0';
}

int
dc_trace_start(const char *daemon, const char *path, const char *client, const char *name,
               char *why, size_t whylen)
{
    if (path == NULL || path[0] == '\0') {
        snprintf(why, whylen, "no trace-file is configured");
        return -EINVAL;
    }
    if (client && client[0]) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, client, buf) != 1 && inet_pton(AF_INET6, client, buf) != 1) {
            snprintf(why, whylen, "client '%s' is not an IPv4 or IPv6 address", client);
            return -EINVAL;
        }
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    pthread_mutex_lock(&trace_lock);
    snapshot_next = (snapshot_next + 1) % SNAPSHOTS;
    struct settings *st = &snapshots[snapshot_next];
    snprintf(st->daemon, sizeof(st->daemon), "%s", daemon);
    snprintf(st->path, sizeof(st->path), "%s", path);
    snprintf(st->client, sizeof(st->client), "%s", client ? client : "");
    copy_name(st->name, sizeof(st->name), name ? name : "");
    __atomic_store_n(&dc_trace_enabled, 0, __ATOMIC_SEQ_CST);
    /* An event that passed its check before this may still be writing: the descriptor
     * number stays the same for the life of the process (dup2 swaps the file behind it
     * atomically), so no write can land in a file that reused the number. */
    if (trace_fd < 0) {
        __atomic_store_n(&trace_fd, fd, __ATOMIC_SEQ_CST);
    } else {
        dup2(fd, trace_fd);
        close(fd);
    }
    __atomic_store_n(&settings, st, __ATOMIC_RELEASE);
    __atomic_store_n(&dc_trace_enabled, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&trace_lock);
    return 0;
}

void
dc_trace_stop(void)
{
    pthread_mutex_lock(&trace_lock);
    __atomic_store_n(&dc_trace_enabled, 0, __ATOMIC_SEQ_CST);
    /* The file stays open (see dc_trace_start): an event already past its check may still
     * write one line. */
    pthread_mutex_unlock(&trace_lock);
}

void
dc_trace_describe(char *out, size_t size)
{
    pthread_mutex_lock(&trace_lock);
    if (!__atomic_load_n(&dc_trace_enabled, __ATOMIC_RELAXED))
        snprintf(out, size, "off");
    else
        snprintf(out, size, "on file=%s client=%s name=%s", current()->path,
                 current()->client[0] ? current()->client : "any",
                 current()->name[0] ? current()->name : "any");
    pthread_mutex_unlock(&trace_lock);
}

bool
dc_trace_client_str(const char *ip)
{
    const struct settings *st = current();
    return st->client[0] == '\0' || (ip && strcmp(ip, st->client) == 0);
}

bool
dc_trace_client(const union dc_sockaddr *client)
{
    const struct settings *st = current();
    if (st->client[0] == '\0')
        return true;
    char ip[DC_ADDR_STRLEN];
    dc_addr_format(client, false, ip, sizeof(ip));
    return strcmp(ip, st->client) == 0;
}

bool
dc_trace_name(const char *name)
{
    const struct settings *st = current();
    if (st->name[0] == '\0')
        return true;
    char n[256];
    copy_name(n, sizeof(n), name);
    size_t ln = strlen(n), lf = strlen(st->name);
    if (ln < lf || strcmp(n + ln - lf, st->name) != 0)
        return false;
    return ln == lf || n[ln - lf - 1] == '.';
}

void
dc_trace_json(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; s && *s && o + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o < size ? o : size - 1] = '\0';
}

void
dc_trace_emit(int worker, const char *ev, const char *client_ip, const char *fields, ...)
{
    if (!DC_TRACE_ON())
        return; /* turned off while a traced connection or resolution was under way */
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int n = snprintf(line, sizeof(line),
                     "{\"t\":%lld.%06ld,\"d\":\"%s\",\"w\":%d,\"ev\":\"%s\",\"client\":\"%s\"%s",
                     (long long)tv.tv_sec, (long)tv.tv_usec, current()->daemon, worker, ev,
                     client_ip ? client_ip : "", fields && fields[0] ? "," : "");
    if (n < 0 || (size_t)n >= sizeof(line) - 3)
        return;
    va_list ap;
    va_start(ap, fields);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fields, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= sizeof(line) - 2)
        return; /* an event too long for a line is dropped, never cut in half */
    n += m;
    line[n++] = '}';
    line[n++] = '\n';
    int fd = __atomic_load_n(&trace_fd, __ATOMIC_RELAXED);
    if (fd >= 0 && write(fd, line, (size_t)n) < 0) {
        /* a full disk must not stop the daemon: the event is lost */
    }
}

int
dc_trace_command(const char *daemon, const char *path, int argc, char **argv, char *msg,
                 size_t msglen)
{
    char state[512];
    if (argc < 2) {
        dc_trace_describe(state, sizeof(state));
        snprintf(msg, msglen, "ok: trace %s\n", state);
        return 0;
    }
    if (strcmp(argv[1], "off") == 0 && argc == 2) {
        dc_trace_stop();
        snprintf(msg, msglen, "ok: trace off\n");
        return 0;
    }
    if (strcmp(argv[1], "on") != 0)
        goto usage;
    const char *client = NULL, *name = NULL;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(argv[i], "client") == 0)
            client = argv[i + 1];
        else if (strcmp(argv[i], "name") == 0)
            name = argv[i + 1];
        else
            goto usage;
    }
    char why[300];
    if (dc_trace_start(daemon, path, client, name, why, sizeof(why)) < 0) {
        snprintf(msg, msglen, "error: trace: %s\n", why);
        return -1;
    }
    dc_trace_describe(state, sizeof(state));
    snprintf(msg, msglen, "ok: trace %s\n", state);
    return 0;
usage:
    snprintf(msg, msglen, "error: usage: trace [on [client ADDR] [name NAME] | off]\n");
    return -1;
}
