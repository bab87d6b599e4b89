/*
 * duet-origin's configuration: the option table (the interface users see, documented in
 * conf/duet-origin.conf) and the struct it fills. A loaded configuration is immutable and
 * owns all its memory through its arena; reload builds a new one.
 */
#ifndef DUET_ORIGIN_CONF_H
#define DUET_ORIGIN_CONF_H

#include "common/cli.h"
#include "common/config.h"

#define DW_CONF_DEFAULT_PATH "/etc/duet/duet-origin.conf"

struct dw_conf {
    struct dc_arena arena;
    struct dc_daemon_conf daemon;
};

extern const struct dc_conf_schema dw_conf_schema;

/* A zeroed configuration with its arena ready, for dc_cli_load_config(). NULL on ENOMEM. */
struct dw_conf *dw_conf_new(void);
void dw_conf_free(struct dw_conf *c);

#endif
