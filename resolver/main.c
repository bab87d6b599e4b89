/* duet-resolver: parses arguments and configuration, then runs the daemon. */
#include <stdio.h>

#include "common/cli.h"
#include "common/lifecycle.h"
#include "common/log.h"
#include "resolver/conf.h"

static int
worker_start(struct dc_worker *w)
{
    (void)w;
    return 0;
}

static void
worker_stop(struct dc_worker *w)
{
    (void)w;
}

static int
reload(struct dc_daemon *d)
{
    (void)d;
    return 0;
}

int
main(int argc, char **argv)
{
    struct dc_cli cli;
    switch (dc_cli_parse(argc, argv, "duet-resolver", DR_CONF_DEFAULT_PATH, &dr_conf_schema,
                         &cli)) {
    case DC_CLI_RUN:
        break;
    case DC_CLI_EXIT_OK:
        return 0;
    case DC_CLI_EXIT_USAGE:
        return 2;
    }
    struct dr_conf *conf = dr_conf_new();
    if (conf == NULL) {
        fprintf(stderr, "duet-resolver: out of memory\n");
        return 1;
    }
    int rc = dc_cli_load_config(&cli, "duet-resolver", &dr_conf_schema, conf, &conf->arena);
    if (rc >= 0) {
        dr_conf_free(conf);
        return rc;
    }
    dc_log_init(conf->daemon.log_level);
    struct dc_daemon_opts opts;
    dc_daemon_conf_opts(&conf->daemon, &opts);
    static const struct dc_daemon_ops ops = {
        .worker_start = worker_start,
        .worker_stop = worker_stop,
        .reload = reload,
    };
    DC_LOG_INFO("start", "version=%s workers=%u", DUET_VERSION, opts.workers);
    rc = dc_daemon_run(&opts, &ops, conf);
    dr_conf_free(conf);
    return rc;
}
