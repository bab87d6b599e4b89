#include "origin/conf.h"

#include <stdlib.h>

static const struct dc_conf_option top[] = {
    DC_DAEMON_CONF_ROWS(struct dw_conf, daemon),
    DC_CONF_OPT_END,
};

const struct dc_conf_schema dw_conf_schema = {
    .program = "duet-origin",
    .options = top,
    .sections = NULL,
    .check = NULL,
};

struct dw_conf *
dw_conf_new(void)
{
    struct dw_conf *c = calloc(1, sizeof(*c));
    if (c)
        dc_arena_init(&c->arena, 0);
    return c;
}

void
dw_conf_free(struct dw_conf *c)
{
    if (c == NULL)
        return;
    dc_arena_deinit(&c->arena);
    free(c);
}
