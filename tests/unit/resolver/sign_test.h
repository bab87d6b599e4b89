/*
 * Helpers for unit tests that sign their own data at run time with ldns (keys made in
 * memory, nothing read from disk): a key for a zone with its validity window, a whole zone
 * signed with NSEC or NSEC3 as ldns-signzone would, an RRset re-signed with another window,
 * and a DS for a key. dnssec_test.h holds the pre-signed zones of data/dnssec_zones.h; this
 * header is for tests that need keys and signatures they can vary (test_val.c,
 * test_autotrust.c).
 */
#ifndef DUET_TEST_SIGN_TEST_H
#define DUET_TEST_SIGN_TEST_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdio.h>

#include "resolver/dname.h"
#include "test.h"

/* A new key pair for owner (presentation form) with DNSKEY flags, algorithm alg (an
 * LDNS_SIGN_* value; bits for RSA) whose signatures are valid from inception to expiration
 * (Unix seconds). The caller frees it with ldns_key_deep_free(). */
static inline ldns_key *
test_key_new(const char *owner, ldns_signing_algorithm alg, uint16_t bits, uint16_t flags,
             uint32_t inception, uint32_t expiration)
{
    ldns_key *k = ldns_key_new_frm_algorithm(alg, bits);
    ASSERT_NOT_NULL(k);
    ldns_rdf *o = ldns_dname_new_frm_str(owner);
    ASSERT_NOT_NULL(o);
    ldns_key_set_pubkey_owner(k, o);
    ldns_key_set_flags(k, flags);
    ldns_key_set_inception(k, inception);
    ldns_key_set_expiration(k, expiration);
    ldns_rr *rr = ldns_key2rr(k);
    ASSERT_NOT_NULL(rr);
    ldns_key_set_keytag(k, ldns_calc_keytag(rr));
    ldns_rr_free(rr);
    return k;
}

/* RRSIGs over rrset (one RRset) by each of the n keys, valid over each key's window. The
 * keys stay the caller's; the result is the caller's to free. */
static inline ldns_rr_list *
test_sign_rrset_by(const ldns_rr_list *rrset, ldns_key *const *keys, size_t n)
{
    ldns_key_list *kl = ldns_key_list_new();
    ASSERT_NOT_NULL(kl);
    for (size_t i = 0; i < n; i++)
        ldns_key_list_push_key(kl, keys[i]);
    ldns_rr_list *sigs = ldns_sign_public((ldns_rr_list *)rrset, kl);
    ASSERT_NOT_NULL(sigs);
    ldns_key_list_set_key_count(kl, 0); /* the list would free the keys: they are the caller's */
    ldns_key_list_free(kl);
    return sigs;
}

/* RRSIGs by key over rrset. */
static inline ldns_rr_list *
test_sign_rrset(const ldns_rr_list *rrset, ldns_key *key)
{
    return test_sign_rrset_by(rrset, &key, 1);
}

/* NSEC3 parameters for test_zone_sign(); iterations < 0 means sign with NSEC. */
struct test_nsec3 {
    int iterations;
    bool optout;
};

/*
 * The zone in text (zone-file syntax, $ORIGIN origin) with key's DNSKEY added and signed by
 * key (NULL: left unsigned), as a new list of every record (the caller deep-frees it).
 */
static inline ldns_rr_list *
test_zone_sign(const char *origin, const char *text, ldns_key *key, struct test_nsec3 n3)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    ASSERT_NOT_NULL(f);
    ldns_rdf *o = ldns_dname_new_frm_str(origin);
    ldns_dnssec_zone *z = NULL;
    ldns_status st = ldns_dnssec_zone_new_frm_fp(&z, f, o, 3600, LDNS_RR_CLASS_IN);
    fclose(f);
    if (st != LDNS_STATUS_OK)
        TEST_FAIL("zone %s: %s", origin, ldns_get_errorstr_by_id(st));
    if (key) {
        ASSERT_EQ(ldns_dnssec_zone_add_rr(z, ldns_key2rr(key)), LDNS_STATUS_OK);
        ldns_key_list *kl = ldns_key_list_new();
        ldns_key_list_push_key(kl, key);
        ldns_rr_list *added = ldns_rr_list_new();
        if (n3.iterations < 0) {
            st = ldns_dnssec_zone_sign(z, added, kl, ldns_dnssec_default_replace_signatures, NULL);
        } else {
            st = ldns_dnssec_zone_sign_nsec3_flg(
                z, added, kl, ldns_dnssec_default_replace_signatures, NULL, LDNS_SHA1,
                n3.optout ? LDNS_NSEC3_VARS_OPTOUT_MASK : 0, (uint16_t)n3.iterations, 0, NULL, 0);
        }
        if (st != LDNS_STATUS_OK)
            TEST_FAIL("signing %s: %s", origin, ldns_get_errorstr_by_id(st));
        ldns_rr_list_free(added); /* the records themselves belong to the zone */
        ldns_key_list_set_key_count(kl, 0);
        ldns_key_list_free(kl);
    }
    /* Out through the zone printer and back: every record as its own ldns_rr. */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ASSERT_NOT_NULL(m);
    ldns_dnssec_zone_print(m, z);
    fclose(m);
    ldns_rr_list *out = ldns_rr_list_new();
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *semi = strchr(line, ';'); /* DNSKEY lines end in a ";{id = ...}" comment */
        if (semi)
            *semi = '\0';
        if (line[0] == '\0')
            continue;
        ldns_rr *rr = NULL;
        st = ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL);
        if (st != LDNS_STATUS_OK)
            TEST_FAIL("cannot parse \"%s\": %s", line, ldns_get_errorstr_by_id(st));
        ldns_rr_list_push_rr(out, rr);
    }
    free(buf);
    ldns_dnssec_zone_deep_free(z);
    ldns_rdf_deep_free(o);
    return out;
}

/* The DS (digest SHA-256) of key's DNSKEY; the caller frees. */
static inline ldns_rr *
test_key_ds(ldns_key *key)
{
    ldns_rr *k = ldns_key2rr(key);
    ldns_rr *ds = ldns_key_rr2ds(k, LDNS_SHA256);
    ASSERT_NOT_NULL(ds);
    ldns_rr_free(k);
    return ds;
}

#endif
