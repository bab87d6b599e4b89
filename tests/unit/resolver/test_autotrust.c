/* Unit tests for resolver/autotrust.c: the RFC 5011 states of a managed trust point. */
#include "resolver/autotrust.h"
#include "resolver/anchorfile.h"

#include <errno.h>
#include <unistd.h>

#include "test.h"

static char dir[] = "/tmp/duet-test-autotrust-XXXXXX";

#include "anchor_test.h"
#include "sign_test.h"

static time_t T0;
static struct dr_anchor_timing timing;

struct tkey {
    ldns_key *key;
    ldns_rr *rr;
};

static struct tkey
tkey_new(const char *owner)
{
    struct tkey k;
    k.key = test_key_new(owner, LDNS_SIGN_ECDSAP256SHA256, 256, 257, (uint32_t)(T0 - 3600),
                         (uint32_t)(T0 + 365 * 86400));
    k.rr = ldns_key2rr(k.key);
    return k;
}

/* The key with the REVOKE bit set (a new tag, the same key pair, which from now on signs
 * as the revoked key); k->rr keeps the unrevoked record. Free only the result's rr. */
static struct tkey
tkey_revoke(struct tkey *k)
{
    struct tkey r = {k->key, NULL};
    ldns_key_set_flags(r.key, 257 | 0x80);
    r.rr = ldns_key2rr(r.key);
    ldns_key_set_keytag(r.key, ldns_calc_keytag(r.rr));
    return r;
}

static void
tkey_free(struct tkey *k)
{
    ldns_key_deep_free(k->key);
    ldns_rr_free(k->rr);
}

/* A DNSKEY set of the given keys (NULL-terminated after `in`), signed by `signers`. */
struct tset {
    ldns_rr_list *keys, *sigs;
};

static struct tset
tset_make(struct tkey **in, size_t nin, struct tkey **signers, size_t nsig)
{
    struct tset s = {ldns_rr_list_new(), NULL};
    for (size_t i = 0; i < nin; i++)
        ldns_rr_list_push_rr(s.keys, ldns_rr_clone(in[i]->rr));
    ldns_key *keys[8];
    ASSERT_LE(nsig, 8);
    for (size_t i = 0; i < nsig; i++)
        keys[i] = signers[i]->key;
    s.sigs = test_sign_rrset_by(s.keys, keys, nsig);
    return s;
}

static void
tset_free(struct tset *s)
{
    ldns_rr_list_deep_free(s->keys);
    ldns_rr_list_deep_free(s->sigs);
}

/* update z with a set of keys signed by signers at time now */
static struct dr_autotrust_changes
see(struct dr_anchor_zone *z, struct tkey **in, size_t nin, struct tkey **signers, size_t nsig,
    time_t now)
{
    struct tset s = tset_make(in, nin, signers, nsig);
    struct dr_autotrust_changes ch;
    ASSERT_EQ(dr_autotrust_update(z, s.keys, s.sigs, 60, now, &timing, &ch), 0);
    tset_free(&s);
    return ch;
}

static enum dr_anchor_state
state_of(const struct dr_anchor_zone *z, const struct tkey *k)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        const ldns_rr *rr = z->keys[i].rr;
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY)
            continue;
        /* compare the public key itself: the REVOKE bit changes flags and tag */
        if (ldns_rdf_compare(ldns_rr_rdf(rr, 3), ldns_rr_rdf(k->rr, 3)) == 0)
            return z->keys[i].state;
    }
    return DR_ANCHOR_START;
}

static int
trusted_count(const struct dr_anchor_zone *z)
{
    ldns_rr_list *l = ldns_rr_list_new();
    int n = dr_anchor_trusted(z, l);
    ldns_rr_list_deep_free(l);
    return n;
}

/* A managed trust point "test." that trusts key a (written and loaded as a file). */
static void
zone_trusting(struct dr_anchors *a, const struct tkey *k, const char *file)
{
    char *s = ldns_rr2str(k->rr);
    const char *p = write_file(file, s);
    free(s);
    struct dc_conf_errors errs = {0};
    dr_anchors_init(a);
    a->timing = timing;
    ASSERT_EQ(dr_anchorfile_load_auto(a, p, &errs), 0);
    ASSERT_EQ(a->zones[0].keys[0].state, DR_ANCHOR_VALID);
}

static void
test_new_key_waits_out_the_add_holddown(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "add.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *signer[] = {&A};

    struct dr_autotrust_changes ch = see(z, ab, 2, signer, 1, T0); /* NewKey: Start -> AddPend */
    ASSERT_EQ(ch.added, 1);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(trusted_count(z), 1);
    ASSERT_EQ(z->last_success, T0);
    ASSERT_EQ(z->next_probe, T0 + (time_t)z->query_interval);

    ch = see(z, ab, 2, signer, 1, T0 + 99); /* hold-down not over */
    ASSERT_EQ(ch.valid, 0);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(trusted_count(z), 1);

    ch = see(z, ab, 2, signer, 1, T0 + 100); /* AddTime: AddPend -> Valid */
    ASSERT_EQ(ch.valid, 1);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);
    ASSERT_EQ(trusted_count(z), 2);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_pending_key_that_disappears_is_forgotten(void)
{
    struct tkey A = tkey_new("test."), C = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "keyrem.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ac[] = {&A, &C}, *only_a[] = {&A};
    see(z, ac, 2, only_a, 1, T0);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_ADDPEND);
    struct dr_autotrust_changes ch = see(z, only_a, 1, only_a, 1, T0 + 50); /* AddPend -> Start */
    ASSERT_EQ(ch.removed, 1);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_START);
    ASSERT_EQ(z->nkeys, 1);
    /* back again: the hold-down starts over */
    see(z, ac, 2, only_a, 1, T0 + 60);
    see(z, ac, 2, only_a, 1, T0 + 130);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_ADDPEND);
    see(z, ac, 2, only_a, 1, T0 + 160);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_VALID);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&C);
}

static void
test_add_holddown_is_at_least_the_original_ttl(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "ttl.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *signer[] = {&A};
    struct tset s = tset_make(ab, 2, signer, 1);
    ASSERT_EQ(dr_autotrust_update(z, s.keys, s.sigs, 500, T0, &timing, NULL), 0);
    ASSERT_EQ(dr_autotrust_update(z, s.keys, s.sigs, 500, T0 + 100, &timing, NULL), 0);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(dr_autotrust_update(z, s.keys, s.sigs, 500, T0 + 500, &timing, NULL), 0);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);
    tset_free(&s);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_valid_key_missing_stays_trusted_and_comes_back(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "missing.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *only_b[] = {&B}, *signer_a[] = {&A};
    see(z, ab, 2, signer_a, 1, T0);
    see(z, ab, 2, signer_a, 1, T0 + 100);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);
    struct dr_autotrust_changes ch = see(z, only_b, 1, only_b, 1, T0 + 200); /* KeyRem */
    ASSERT_EQ(ch.missing, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_MISSING);
    ASSERT_EQ(trusted_count(z), 2);          /* Missing is still a trust anchor */
    ch = see(z, ab, 2, only_b, 1, T0 + 300); /* KeyPres */
    ASSERT_EQ(ch.valid, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_ksk_roll_old_key_revoked_by_itself_then_removed(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "roll.key");
    struct dr_anchor_zone *z = &a.zones[0];

    /* 1. publish B, signed by A; hold-down; B valid */
    struct tkey *ab[] = {&A, &B}, *sa[] = {&A};
    see(z, ab, 2, sa, 1, T0);
    see(z, ab, 2, sa, 1, T0 + 100);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);

    /* 2. A published with the REVOKE bit, the set signed by revoked A and by B */
    struct tkey Ar = tkey_revoke(&A);
    struct tkey *arb[] = {&Ar, &B}, *sarb[] = {&Ar, &B};
    struct dr_autotrust_changes ch = see(z, arb, 2, sarb, 2, T0 + 150);
    ASSERT_EQ(ch.revoked, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REVOKED);
    ASSERT_EQ(trusted_count(z), 1); /* only B */
    ldns_rr_list *t = ldns_rr_list_new();
    ASSERT_EQ(dr_anchor_trusted(z, t), 1);
    ASSERT_EQ(ldns_rdf_compare(ldns_rr_rdf(ldns_rr_list_rr(t, 0), 3), ldns_rr_rdf(B.rr, 3)), 0);
    ldns_rr_list_deep_free(t);

    /* 3. the remove hold-down: Revoked -> Removed, never trusted again */
    struct tkey *only_b[] = {&B};
    see(z, only_b, 1, only_b, 1, T0 + 349);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REVOKED);
    ch = see(z, only_b, 1, only_b, 1, T0 + 350);
    ASSERT_EQ(ch.removed, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REMOVED);
    /* the old key, unrevoked (A.rr), shows up again: it stays removed */
    struct tkey *aub[] = {&A, &B};
    ch = see(z, aub, 2, only_b, 1, T0 + 400);
    ASSERT_EQ(ch.added, 0);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REMOVED);
    ASSERT_EQ(trusted_count(z), 1);
    ldns_rr_free(Ar.rr);
    tkey_free(&A);
    tkey_free(&B);
    dr_anchors_deinit(&a);
}

static void
test_revoked_key_not_signed_by_itself_is_ignored(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "norevoke.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *sa[] = {&A};
    see(z, ab, 2, sa, 1, T0);
    see(z, ab, 2, sa, 1, T0 + 100);
    /* A appears revoked, but only B signed the set: anyone could publish that */
    struct tkey Ar = tkey_revoke(&A);
    struct tkey *arb[] = {&Ar, &B}, *sb[] = {&B};
    struct dr_autotrust_changes ch = see(z, arb, 2, sb, 1, T0 + 150);
    ASSERT_EQ(ch.revoked, 0);
    ASSERT_EQ(ch.ignored, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    ASSERT_EQ(trusted_count(z), 2);
    /* nor a self-signature made at a time it was not valid (the clock is a parameter) */
    struct tkey *sarb[] = {&Ar, &B};
    struct tset s = tset_make(arb, 2, sarb, 2);
    ASSERT_EQ(dr_autotrust_update(z, s.keys, s.sigs, 60, T0 + 400 * 86400, &timing, &ch), 0);
    ASSERT_EQ(ch.revoked, 0);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    /* and the real thing works */
    ASSERT_EQ(dr_autotrust_update(z, s.keys, s.sigs, 60, T0 + 200, &timing, &ch), 0);
    ASSERT_EQ(ch.revoked, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REVOKED);
    tset_free(&s);
    ldns_rr_free(Ar.rr);
    tkey_free(&A);
    tkey_free(&B);
    dr_anchors_deinit(&a);
}

static void
test_restart_keeps_the_state(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test."), C = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "restart.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *abc[] = {&A, &B, &C}, *sa[] = {&A};
    see(z, abc, 3, sa, 1, T0);
    see(z, abc, 3, sa, 1, T0 + 100); /* B and C valid */
    struct tkey *ab[] = {&A, &B};
    see(z, ab, 2, sa, 1, T0 + 120); /* C missing */
    struct tkey D = tkey_new("test.");
    struct tkey *abd[] = {&A, &B, &D};
    see(z, abd, 3, sa, 1, T0 + 130); /* D pending since T0+130; C still missing */
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_MISSING);
    ASSERT_EQ(state_of(z, &D), DR_ANCHOR_ADDPEND);
    const char *p = z->file;
    ASSERT_EQ(dr_anchorfile_write(z, p), 0);
    /* no temp file is left next to it */
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", p, (long)getpid());
    ASSERT_NE(access(tmp, F_OK), 0);

    struct dr_anchors b;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&b);
    if (dr_anchorfile_load_auto(&b, p, &errs) != 0) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("the written state does not load");
    }
    struct dr_anchor_zone *y = &b.zones[0];
    ASSERT_EQ(y->nkeys, z->nkeys);
    for (size_t i = 0; i < z->nkeys; i++) {
        ASSERT_EQ(ldns_rr_compare(y->keys[i].rr, z->keys[i].rr), 0);
        ASSERT_EQ(y->keys[i].state, z->keys[i].state);
        ASSERT_EQ(y->keys[i].count, z->keys[i].count);
        ASSERT_EQ(y->keys[i].last_change, z->keys[i].last_change);
    }
    ASSERT_EQ(y->last_success, T0 + 130);
    ASSERT_EQ(y->next_probe, z->next_probe);
    ASSERT_EQ(y->query_interval, z->query_interval);
    ASSERT_EQ(y->retry_time, z->retry_time);
    /* the hold-down that started before the restart ends on time after it */
    see(y, abd, 3, sa, 1, T0 + 229);
    ASSERT_EQ(state_of(y, &D), DR_ANCHOR_ADDPEND);
    see(y, abd, 3, sa, 1, T0 + 230);
    ASSERT_EQ(state_of(y, &D), DR_ANCHOR_VALID);
    ASSERT_EQ(state_of(y, &C), DR_ANCHOR_MISSING);

    /* a directory that does not exist: an error, nothing written */
    ASSERT_EQ(dr_anchorfile_write(z, path_in_dir("no/such/dir/x.key")), -ENOENT);
    dr_anchors_deinit(&a);
    dr_anchors_deinit(&b);
    tkey_free(&A);
    tkey_free(&B);
    tkey_free(&C);
    tkey_free(&D);
}

static void
test_ds_anchor_becomes_its_dnskey(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    ldns_rr *ds = ldns_key_rr2ds(A.rr, LDNS_SHA256);
    char *s = ldns_rr2str(ds);
    const char *p = write_file("ds.key", s);
    free(s);
    ldns_rr_free(ds);
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    ASSERT_EQ(dr_anchorfile_load_auto(&a, p, &errs), 0);
    struct dr_anchor_zone *z = &a.zones[0];
    ASSERT_EQ(ldns_rr_get_type(z->keys[0].rr), LDNS_RR_TYPE_DS);
    struct tkey *ab[] = {&A, &B}, *sa[] = {&A};
    struct dr_autotrust_changes ch = see(z, ab, 2, sa, 1, T0);
    ASSERT_EQ(ch.valid, 1);
    ASSERT_EQ(ch.added, 1); /* B: a new key, pending */
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    ASSERT_EQ(ldns_rr_get_type(z->keys[0].rr), LDNS_RR_TYPE_DNSKEY);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(z->nkeys, 2);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_update_rejects_a_foreign_or_empty_set(void)
{
    struct tkey A = tkey_new("test."), X = tkey_new("other.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "foreign.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *x[] = {&X};
    struct tset s = tset_make(x, 1, x, 1);
    ASSERT_EQ(dr_autotrust_update(z, s.keys, s.sigs, 60, T0, &timing, NULL), -EINVAL);
    ldns_rr_list *empty = ldns_rr_list_new();
    ASSERT_EQ(dr_autotrust_update(z, empty, NULL, 60, T0, &timing, NULL), -EINVAL);
    ASSERT_EQ(z->nkeys, 1);
    ASSERT_EQ(z->last_success, 0);
    ldns_rr_list_free(empty);
    tset_free(&s);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&X);
}

static void
test_query_interval_and_retry_follow_rfc5011_2_3(void)
{
    struct dr_anchor_timing t;
    dr_anchor_timing_default(&t);
    ASSERT_EQ(t.add_holddown, 30 * 86400);
    ASSERT_EQ(t.remove_holddown, 30 * 86400);
    /* root: TTL 2 days, signatures 10 days: half the TTL */
    ASSERT_EQ(dr_autotrust_query_interval(172800, 10 * 86400, &t), 86400);
    /* signatures about to expire: half of that, but at least an hour */
    ASSERT_EQ(dr_autotrust_query_interval(172800, 4 * 3600, &t), 2 * 3600);
    ASSERT_EQ(dr_autotrust_query_interval(60, 60, &t), 3600);
    /* a huge TTL: at most 15 days */
    ASSERT_EQ(dr_autotrust_query_interval(100 * 86400, 100 * 86400, &t), 15 * 86400);
    ASSERT_EQ(dr_autotrust_retry_time(172800, 10 * 86400, &t), 17280);
    ASSERT_EQ(dr_autotrust_retry_time(100 * 86400, 100 * 86400, &t), 86400);
    ASSERT_EQ(dr_autotrust_retry_time(60, 60, &t), 3600);

    struct dr_anchor_zone z = {0};
    z.retry_time = 7200;
    dr_autotrust_probe_failed(&z, 1000, &t);
    ASSERT_EQ(z.query_failed, 1);
    ASSERT_EQ(z.next_probe, 1000 + 7200);
    ASSERT_EQ(z.last_queried, 1000);
}

int
main(void)
{
    ASSERT_NOT_NULL(mkdtemp(dir));
    T0 = time(NULL);
    dr_anchor_timing_default(&timing);
    timing.add_holddown = 100;
    timing.remove_holddown = 200;
    timing.min_interval = 1;

    TEST_RUN(test_new_key_waits_out_the_add_holddown);
    TEST_RUN(test_pending_key_that_disappears_is_forgotten);
    TEST_RUN(test_add_holddown_is_at_least_the_original_ttl);
    TEST_RUN(test_valid_key_missing_stays_trusted_and_comes_back);
    TEST_RUN(test_ksk_roll_old_key_revoked_by_itself_then_removed);
    TEST_RUN(test_revoked_key_not_signed_by_itself_is_ignored);
    TEST_RUN(test_restart_keeps_the_state);
    TEST_RUN(test_ds_anchor_becomes_its_dnskey);
    TEST_RUN(test_update_rejects_a_foreign_or_empty_set);
    TEST_RUN(test_query_interval_and_retry_follow_rfc5011_2_3);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
