#include "common/cli.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

static void
usage(FILE *out, const char *program, const char *default_config)
{
    fprintf(out,
            "Usage: %s [-c FILE] [--check]\n"
            "  -c, --config FILE  configuration file (default %s)\n"
            "      --check        validate the configuration, print every error, exit\n"
            "      --version      print the version and exit\n"
            "  -h, --help         this text, then every configuration option\n",
            program, default_config);
}

enum dc_cli_result
dc_cli_parse(int argc, char **argv, const char *program, const char *default_config,
             const struct dc_conf_schema *schema, struct dc_cli *out)
{
    out->config_path = default_config;
    out->check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a file name\n", program, a);
                return DC_CLI_EXIT_USAGE;
            }
            out->config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            out->config_path = a + 9;
        } else if (strcmp(a, "--check") == 0) {
            out->check = true;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("%s %s\n", program, DUET_VERSION);
            return DC_CLI_EXIT_OK;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, program, default_config);
            if (schema) {
                fputc('\n', stdout);
                dc_conf_print_help(schema, stdout);
            }
            return DC_CLI_EXIT_OK;
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", program, a);
            usage(stderr, program, default_config);
            return DC_CLI_EXIT_USAGE;
        }
    }
    return DC_CLI_RUN;
}

void
dc_daemon_conf_opts(const struct dc_daemon_conf *c, struct dc_daemon_opts *out)
{
    out->workers = c->workers > 0 ? (unsigned)c->workers : dc_lifecycle_cpu_count();
    out->drain_ms = (uint64_t)c->drain_ms;
    out->user = c->user;
    out->group = c->group;
}

int
dc_cli_load_config(const struct dc_cli *cli, const char *program,
                   const struct dc_conf_schema *schema, void *conf, struct dc_arena *arena)
{
    struct dc_conf_errors errs = {NULL, 0};
    int n = dc_conf_load(schema, cli->config_path, conf, arena, &errs);
    if (n > 0) {
        dc_conf_errors_print(&errs, stderr);
        fprintf(stderr, "%s: %d error%s in %s\n", program, n, n == 1 ? "" : "s",
                cli->config_path);
        dc_conf_errors_deinit(&errs);
        return 1;
    }
    dc_conf_errors_deinit(&errs);
    if (cli->check) {
        printf("%s: configuration OK\n", cli->config_path);
        return 0;
    }
    return -1;
}
