/*
 * duet-origin's control commands (for duet-control over common/control.c) and its
 * Prometheus metrics, on the main thread.
 */
#ifndef DUET_ORIGIN_CONTROL_H
#define DUET_ORIGIN_CONTROL_H

#include "common/control.h"

/* status, stats, reload, sites, rotate-ticket-keys. arg: struct dw_shared. */
void dw_control_command(void *arg, int argc, char **argv, struct dc_control_reply *r);
/* GET /metrics. arg: struct dw_shared. */
void dw_control_metrics(void *arg, int argc, char **argv, struct dc_control_reply *r);

#endif
