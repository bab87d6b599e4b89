/*
 * duet-control: talks to a running duet daemon over its control socket (common/control.h).
 *
 *   duet-control [--resolver | --origin | -s SOCKET] COMMAND [ARG...]
 *
 * Prints the daemon's reply; exits 0 on success, 1 when the daemon reports an error, 2 when
 * it cannot be reached (with the reason: not running, no permission, ...).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RESOLVER_SOCKET "/run/duet/duet-resolver.control"
#define ORIGIN_SOCKET   "/run/duet/duet-origin.control"

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: duet-control [--resolver | --origin | -s SOCKET] COMMAND [ARG...]\n"
            "  Both daemons: status, stats, reload\n"
            "  duet-resolver: flush [NAME [subtree]], lookup NAME\n"
            "  duet-origin:   sites, rotate-ticket-keys\n"
            "  default socket: %s (--origin: %s)\n",
            RESOLVER_SOCKET, ORIGIN_SOCKET);
}

int
main(int argc, char **argv)
{
    const char *path = RESOLVER_SOCKET;
    const char *who = "duet-resolver";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--resolver") == 0) {
            path = RESOLVER_SOCKET;
        } else if (strcmp(argv[i], "--origin") == 0) {
            path = ORIGIN_SOCKET;
            who = "duet-origin";
        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            path = argv[++i];
            who = "the daemon";
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    char line[4096];
    size_t n = 0;
    for (; i < argc; i++) {
        int w = snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", argv[i]);
        if (w < 0 || (size_t)w >= sizeof(line) - n - 1) {
            fprintf(stderr, "duet-control: command too long\n");
            return 2;
        }
        n += (size_t)w;
    }
    line[n++] = '\n';

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "duet-control: socket path too long: %s\n", path);
        return 2;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = errno;
        if (err == ENOENT || err == ECONNREFUSED)
            fprintf(stderr, "duet-control: cannot connect to %s: %s (is %s running?)\n", path,
                    strerror(err), who);
        else if (err == EACCES || err == EPERM)
            fprintf(stderr, "duet-control: cannot connect to %s: %s (run as root or as a "
                            "member of the service's group)\n",
                    path, strerror(err));
        else
            fprintf(stderr, "duet-control: cannot connect to %s: %s\n", path, strerror(err));
        return 2;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (write(fd, line, n) != (ssize_t)n) {
        fprintf(stderr, "duet-control: write to %s: %s\n", path, strerror(errno));
        close(fd);
        return 2;
    }
    int status = 0;
    bool first = true;
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "duet-control: read from %s: %s\n", path, strerror(errno));
            status = 2;
            break;
        }
        if (r == 0)
            break;
        if (first && r >= 6 && memcmp(buf, "error:", 6) == 0)
            status = 1;
        first = false;
        fwrite(buf, 1, (size_t)r, stdout);
    }
    close(fd);
    return status;
}
