#include "resolver/conf.h"

#include <stdlib.h>

static const struct dc_conf_option top[] = {
    DC_DAEMON_CONF_ROWS(struct dr_conf, daemon),
    DC_CONF_OPT_END,
};

const struct dc_conf_schema dr_conf_schema = {
    .program = "duet-resolver",
    .options = top,
    .sections = NULL,
    .check = NULL,
};

struct dr_conf *
dr_conf_new(void)
{
    struct dr_conf *c = calloc(1, sizeof(*c));
    if (c)
        dc_arena_init(&c->arena, 0);
    return c;
}

void
dr_conf_free(struct dr_conf *c)
{
    if (c == NULL)
        return;
    dc_arena_deinit(&c->arena);
    free(c);
}
