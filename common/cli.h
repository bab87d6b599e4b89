/*
 * What every duet daemon shares on its command line and at the top of its config file.
 *
 * Command line: -c FILE / --config FILE, --check (validate the config, print every error as
 * file:line, exit 1 on any), --version, --help. Options common to both daemons: workers,
 * user, group, log-level, drain-timeout; a daemon embeds struct dc_daemon_conf in its
 * config struct and opens its table with DC_DAEMON_CONF_ROWS().
 */
#ifndef DUET_COMMON_CLI_H
#define DUET_COMMON_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/lifecycle.h"

struct dc_cli {
    const char *config_path;
    bool check;
};

enum dc_cli_result {
    DC_CLI_RUN = 0,   /* go on with cli filled in */
    DC_CLI_EXIT_OK,   /* --help or --version printed: exit 0 */
    DC_CLI_EXIT_USAGE /* bad arguments, message printed: exit 2 */
};

/* Parses argv. program names the daemon in messages; default_config is used without -c;
 * --help also prints schema's options. */
enum dc_cli_result dc_cli_parse(int argc, char **argv, const char *program,
                                const char *default_config, const struct dc_conf_schema *schema,
                                struct dc_cli *out);

/*
 * Loads cli->config_path into conf (zeroed, allocating from arena). On any error prints each
 * as file:line and a count to stderr and returns 1 (the exit status). With --check and no
 * error prints "<path>: configuration OK" and returns 0. Otherwise returns -1: go on.
 */
int dc_cli_load_config(const struct dc_cli *cli, const char *program,
                       const struct dc_conf_schema *schema, void *conf, struct dc_arena *arena);

struct dc_daemon_conf {
    int64_t workers;   /* 0 = auto (one per core) */
    char *user;        /* "" = no privilege drop */
    char *group;       /* "" = the user's primary group */
    int log_level;     /* enum dc_log_level */
    int64_t drain_ms;  /* how long a graceful stop may take */
};

/* The rows for a struct dc_daemon_conf that is field F of the config struct T, to open a
 * daemon's top-level table with. */
#define DC_DAEMON_CONF_ROWS(T, F)                                                                  \
    DC_CONF_OPT("workers", DC_CONF_INT, T, F.workers, "auto", 1, 256, NULL, NULL, DC_CONF_AUTO,    \
                "worker threads, each with its own event loop; auto = one per core"),              \
        DC_CONF_OPT_STR("user", T, F.user, "",                                                     \
                        "drop to this user after binding sockets; \"\" = stay as started"),        \
        DC_CONF_OPT_STR("group", T, F.group, "",                                                   \
                        "group for the privilege drop; \"\" = the user's primary group"),          \
        DC_CONF_OPT_ENUM("log-level", T, F.log_level, "info", "error|warn|info|debug",             \
                         "lowest level logged"),                                                   \
        DC_CONF_OPT_DURATION("drain-timeout", T, F.drain_ms, "10s", 0, 3600000,                    \
                             "on SIGTERM, how long in-flight work may take before it is cut")

/* The lifecycle options a daemon config asks for (workers resolved from "auto"). */
void dc_daemon_conf_opts(const struct dc_daemon_conf *c, struct dc_daemon_opts *out);

#endif
