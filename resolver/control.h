/*
 * duet-resolver's control commands (for duet-control over common/control.c) and its
 * Prometheus metrics. Both run on the main thread and only read shared state (summed
 * per-worker counters, the shared caches) or call thread-safe cache operations.
 */
#ifndef DUET_RESOLVER_CONTROL_H
#define DUET_RESOLVER_CONTROL_H

#include "common/control.h"

/* status, stats, reload, flush [NAME [subtree]], lookup NAME. arg: struct dr_shared. */
void dr_control_command(void *arg, int argc, char **argv, struct dc_control_reply *r);
/* GET /metrics. arg: struct dr_shared. */
void dr_control_metrics(void *arg, int argc, char **argv, struct dc_control_reply *r);

#endif
