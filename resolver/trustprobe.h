/*
 * resolver/trustprobe.h — the run-time side of RFC 5011: probing each managed trust point
 * (auto-trust-anchor-file) for its DNSKEY set, moving its keys through the RFC 5011 states
 * (resolver/autotrust.h) and writing the file back (resolver/anchorfile.h); when the keys
 * it trusts changed, asking for a reload so that every worker gets the new trusted set
 * through a new configuration.
 *
 * One owner: worker 0 (see trustprobe.c for why). Not here: the state machine itself
 * (autotrust.h), the file format (anchorfile.h), the reload (resolver/main.c).
 */
#ifndef DUET_RESOLVER_TRUSTPROBE_H
#define DUET_RESOLVER_TRUSTPROBE_H

#include "resolver/worker.h"

struct dr_trustprobe;

/* Called on the probing worker's thread when a trust point's trusted keys changed and its
 * file was written: the owner should reload the configuration (any thread may not). */
typedef void (*dr_trustprobe_reload_cb)(void *arg);

/*
 * Starts probing on wk's loop (wk's mesh must be running): a timer that fires soon after
 * start and then when the next trust point is due. The trust points are those of the
 * worker's configuration in force (wk->conf), re-read at every turn, so a reload that adds
 * or drops an auto-trust-anchor-file is followed. Returns a new object in *out, 0, or
 * -ENOMEM / a libuv error.
 */
int dr_trustprobe_open(struct dr_worker *wk, dr_trustprobe_reload_cb reload, void *arg,
                       struct dr_trustprobe **out);

/* Stops probing (worker stop or abort, on wk's thread): closes the timer; a probe in flight
 * ends with the mesh's resolution and changes nothing. */
void dr_trustprobe_close(struct dr_trustprobe *tp);

/* Frees tp once wk's loop has ended (every resolution over). NULL is fine. */
void dr_trustprobe_free(struct dr_trustprobe *tp);

#endif
