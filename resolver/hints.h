/*
 * Root hints: the file (IANA's named.root format, shipped in conf/root.hints) naming the
 * root servers and their addresses, read at start-up into the root's zone cut.
 */
#ifndef DUET_RESOLVER_HINTS_H
#define DUET_RESOLVER_HINTS_H

#include "common/config.h"
#include "resolver/deleg.h"

/*
 * Reads path into out (zone "."). Every record must be an NS for "." or an A/AAAA for one of
 * those NS names; others are errors. Each error is added to errs as "path:line: message".
 * Returns the number of errors; a file without a usable NS with an address is an error.
 */
int dr_hints_load(const char *path, struct dr_deleg *out, struct dc_conf_errors *errs);

#endif
