/*
 * duet-resolver's configuration: the option table (the interface users see, documented in
 * conf/duet-resolver.conf) and the struct it fills. A loaded configuration is immutable and
 * owns all its memory through its arena; reload builds a new one.
 */
#ifndef DUET_RESOLVER_CONF_H
#define DUET_RESOLVER_CONF_H

#include "common/cli.h"
#include "common/config.h"

#define DR_CONF_DEFAULT_PATH "/etc/duet/duet-resolver.conf"

struct dr_conf {
    struct dc_arena arena;
    struct dc_daemon_conf daemon;
};

extern const struct dc_conf_schema dr_conf_schema;

/* A zeroed configuration with its arena ready, for dc_cli_load_config(). NULL on ENOMEM. */
struct dr_conf *dr_conf_new(void);
void dr_conf_free(struct dr_conf *c);

#endif
