/*
 * Helpers shared by the DNSSEC unit tests: the signed zones of data/dnssec_zones.h
 * (ldns-signzone output, fixed inception and expiration) parsed into ldns records, and
 * picking RRsets and their RRSIGs out of them.
 */
#ifndef DUET_TEST_DNSSEC_TEST_H
#define DUET_TEST_DNSSEC_TEST_H

#include <ldns/ldns.h>
#include <stdio.h>

#include "resolver/dname.h"
#include "test.h"

#include "resolver/data/dnssec_zones.h"

/* A time inside every signature's validity window. */
#define T_VALID (DNSSEC_ZONES_INCEPTION + 14 * 86400)

/* Parses zone text (one record a line, comments allowed) into a new list. */
static inline ldns_rr_list *
zone_parse(const char *text)
{
    ldns_rr_list *l = ldns_rr_list_new();
    char *copy = strdup(text), *save = NULL;
    ASSERT_NOT_NULL(l);
    ASSERT_NOT_NULL(copy);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        ldns_rr *rr = NULL;
        char *semi = NULL;
        /* DNSKEY lines carry a ";{id = ...}" comment; no record here has ';' in its data. */
        if ((semi = strchr(line, ';')) != NULL)
            *semi = '\0';
        ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL);
        if (st != LDNS_STATUS_OK)
            TEST_FAIL("cannot parse \"%s\": %s", line, ldns_get_errorstr_by_id(st));
        ldns_rr_list_push_rr(l, rr);
    }
    free(copy);
    return l;
}

/* Wire form of a presentation name (static buffer per call site is the caller's). */
static inline const uint8_t *
name_of(const char *text, uint8_t out[DR_NAME_MAX])
{
    if (dr_dname_from_str(text, out) < 0)
        TEST_FAIL("bad name %s", text);
    return out;
}

/* name_of into one of 64 rotating buffers: a test can hold that many names at once. */
static inline const uint8_t *
N(const char *s)
{
    static uint8_t buf[64][DR_NAME_MAX];
    static int i;
    i = (i + 1) % 64;
    return name_of(s, buf[i]);
}

/* Copies (deep) of the records of zone owned by owner with type; for type RRSIG, those
 * covering `covered` (0: any). Never empty unless want_empty. */
static inline ldns_rr_list *
pick(const ldns_rr_list *zone, const char *owner, ldns_rr_type type, ldns_rr_type covered)
{
    uint8_t o[DR_NAME_MAX];
    name_of(owner, o);
    ldns_rr_list *l = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(zone); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(zone, i);
        const ldns_rdf *ow = ldns_rr_owner(rr);
        if (ldns_rr_get_type(rr) != type || !dr_dname_equal(ldns_rdf_data(ow), o))
            continue;
        if (type == LDNS_RR_TYPE_RRSIG && covered != 0 &&
            ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) != covered)
            continue;
        ldns_rr_list_push_rr(l, ldns_rr_clone(rr));
    }
    return l;
}

/* Every record of zone of one type (deep copies). */
static inline ldns_rr_list *
pick_type(const ldns_rr_list *zone, ldns_rr_type type)
{
    ldns_rr_list *l = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(zone); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(zone, i)) == type)
            ldns_rr_list_push_rr(l, ldns_rr_clone(ldns_rr_list_rr(zone, i)));
    return l;
}

static inline ldns_rr *
rr_from(const char *text)
{
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL);
    if (st != LDNS_STATUS_OK)
        TEST_FAIL("cannot parse \"%s\": %s", text, ldns_get_errorstr_by_id(st));
    return rr;
}

#endif
