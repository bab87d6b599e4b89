/*
 * Local zones: names answered from the configuration instead of resolved, the way Unbound's
 * local-zone / local-data serve test sites (e.g. "site1.test A 127.0.0.1").
 *
 *   [local-zone site1.test]
 *   type = static                 # static | redirect | refuse | transparent
 *   data = site1.test. 300 IN A 127.0.0.1
 *
 * Types (Unbound's semantics):
 *   static       the data answers; another type at a name with data is NODATA; a name in
 *                the zone without data is NXDOMAIN. Both negatives carry the zone's SOA
 *                in the authority section when the data includes one.
 *   redirect     every name in the zone is answered with the apex's data (owner rewritten
 *                to the name asked); no data of that type at the apex: NODATA.
 *   refuse       REFUSED for every name in the zone.
 *   transparent  the data answers where it matches name and type; anything else is
 *                resolved as usual.
 * The zone that applies is the closest enclosing one. Answers have AA set, as Unbound's do.
 *
 * Everything is precomputed when the configuration is loaded: each answer is a wire reply
 * stored once, and a lookup patches a copy (ID, RD, the client's case), like the cache.
 */
#ifndef DUET_RESOLVER_LOCALZONE_H
#define DUET_RESOLVER_LOCALZONE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "resolver/conf.h"
#include "resolver/msg.h"

struct dr_local;

/*
 * Builds the local zones of conf. Each bad data line (syntax, an owner outside its zone, a
 * CNAME beside other data) and each bad zone name is reported through
 * dc_conf_error with the file and line it came from (ctx->file; lines from
 * conf->local_zones[i].data_lines, the zone header line is not kept so zone-name errors use
 * the first data line or 0). Returns the table (possibly empty: no zones) or NULL when
 * there were errors or memory ran out.
 */
struct dr_local *dr_local_build(const struct dr_conf *conf, struct dc_conf_ctx *ctx);
void dr_local_free(struct dr_local *l);

/* No local zone decides this question: resolve it. */
#define DR_LOCAL_PASS 0

/*
 * Answers q from the local zones: writes the reply (header with q's ID, RD copied, QR, AA,
 * RA set; the question with the client's case; no OPT record) into out and returns its
 * length; returns DR_LOCAL_PASS when the question is not in a local zone or a transparent
 * zone has no data for it; -ENOSPC when cap is too small. No allocation.
 */
int dr_local_answer(const struct dr_local *l, const struct dr_msg_query *q, uint8_t *out,
                    size_t cap);

/* Number of zones (for status lines). */
size_t dr_local_count(const struct dr_local *l);

#endif
