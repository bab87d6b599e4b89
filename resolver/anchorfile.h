/*
 * resolver/anchorfile.h — trust anchor files, read into a struct dr_anchors and written back.
 *
 *   trust-anchor-file = FILE       static anchors: DS and/or DNSKEY records in zone-file
 *                                  syntax ($TTL, $ORIGIN, parentheses, comments); repeatable
 *   auto-trust-anchor-file = FILE  one trust point managed by RFC 5011: Unbound's autotrust
 *                                  file (DNSKEY lines with ";;state=N [ NAME ] ;;count=N
 *                                  ;;lastchange=T" comments and ";;id:", ";;last_queried:",
 *                                  … header lines), or plain DS/DNSKEY lines the first time;
 *                                  an Unbound root.key works as it is, and duet writes the
 *                                  same format back (dr_anchorfile_write())
 *
 * Not here: the set and its lookups (anchor.h), the RFC 5011 state machine that decides
 * what a managed trust point's file says next (autotrust.h), config wiring (conf.c).
 */
#ifndef DUET_RESOLVER_ANCHORFILE_H
#define DUET_RESOLVER_ANCHORFILE_H

#include "common/config.h"
#include "resolver/anchor.h"

/*
 * trust-anchor-file: adds every DS and DNSKEY record of path (RRSIGs are skipped, any other
 * type is an error) as static anchors of their owners. Each problem is appended to errs as
 * "path:line: why". Returns 0, or -EINVAL (errors reported), -ENOMEM, or -errno when the
 * file cannot be read (reported as "path: strerror").
 */
int dr_anchorfile_load(struct dr_anchors *a, const char *path, struct dc_conf_errors *errs);

/*
 * auto-trust-anchor-file: reads path (one trust point: every record must have the same
 * owner) as a managed trust point. Records without a ";;state=" comment are VALID (a first
 * file from IANA or unbound-anchor). A state file that cannot be parsed is an error, never
 * silently an empty trust point: a resolver that lost its anchors must not start. Errors and
 * returns as dr_anchorfile_load(); a trust point that is loaded twice is an error.
 */
int dr_anchorfile_load_auto(struct dr_anchors *a, const char *path, struct dc_conf_errors *errs);

/*
 * Writes z in Unbound's autotrust format to path atomically: a temp file next to it, fsync,
 * rename over path, fsync of the directory. Returns 0 or -errno (path is then untouched).
 */
int dr_anchorfile_write(const struct dr_anchor_zone *z, const char *path);

#endif
