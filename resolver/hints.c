#include "resolver/hints.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <string.h>

#include "resolver/msg.h"
#include "resolver/scrub.h"

static int
rr_owner(const ldns_rr *rr, uint8_t out[DR_NAME_MAX])
{
    const ldns_rdf *o = ldns_rr_owner(rr);
    if (ldns_rdf_size(o) > DR_NAME_MAX)
        return -1;
    memcpy(out, ldns_rdf_data(o), ldns_rdf_size(o));
    return 0;
}

int
dr_hints_load(const char *path, struct dr_deleg *out, struct dc_conf_errors *errs)
{
    struct dc_conf_ctx ctx = {.file = path, .line = 0, .errs = errs};
    size_t before = errs->n;
    memset(out, 0, sizeof(*out));
    out->zone[0] = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        dc_conf_error(&ctx, "cannot open root hints: %s", strerror(errno));
        return 1;
    }
    uint32_t ttl = 3600;
    ldns_rdf *origin = NULL, *prev = NULL;
    int line = 1;
    /* Addresses may come before or after their NS record: collect both, match at the end. */
    ldns_rr_list *addrs = ldns_rr_list_new();
    for (int count = 0; count < 10000 && !feof(f); count++) {
        ldns_rr *rr = NULL;
        int start = line;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
        ctx.line = start;
        if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
            st == LDNS_STATUS_SYNTAX_ORIGIN) {
            continue;
        }
        if (st != LDNS_STATUS_OK) {
            if (feof(f))
                break;
            ctx.line = line;
            dc_conf_error(&ctx, "%s", ldns_get_errorstr_by_id(st));
            continue;
        }
        ctx.line = line;
        uint8_t owner[DR_NAME_MAX];
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_NS && rr_owner(rr, owner) == 0 && owner[0] == 0) {
            const ldns_rdf *ns = ldns_rr_rdf(rr, 0);
            if (ns && ldns_rdf_size(ns) <= DR_NAME_MAX)
                dr_deleg_add_ns(out, ldns_rdf_data(ns));
            ldns_rr_free(rr);
        } else if (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) {
            ldns_rr_list_push_rr(addrs, rr);
        } else {
            dc_conf_error(&ctx, "only NS records for \".\" and A/AAAA records belong in root "
                                "hints");
            ldns_rr_free(rr);
        }
    }
    fclose(f);
    ldns_rdf_deep_free(origin);
    ldns_rdf_deep_free(prev);
    size_t usable = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(addrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(addrs, i);
        uint8_t owner[DR_NAME_MAX];
        const ldns_rdf *a = ldns_rr_rdf(rr, 0);
        if (rr_owner(rr, owner) < 0 || a == NULL)
            continue;
        for (unsigned j = 0; j < out->nns; j++) {
            if (!dr_dname_equal(out->ns[j].name, owner))
                continue;
            union dc_sockaddr sa;
            if (!dr_scrub_address(rr, &sa))
                continue;
            dr_deleg_add_addr(&out->ns[j], &sa);
            usable++;
        }
    }
    ldns_rr_list_deep_free(addrs);
    if (usable == 0 && errs->n == before) {
        ctx.line = 0;
        dc_conf_error(&ctx, "no root server with an address in the root hints");
    }
    return (int)(errs->n - before);
}
