/* Unit tests for resolver/dnssec.c: the verdict vocabulary, EDE codes, what is supported,
 * and the digest and signature primitives on malformed input (real signatures are checked
 * in test_rrsig.c and test_dnskey.c). */
#include "resolver/dnssec.h"

#include <errno.h>

#include "test.h"

static void
test_ede_mapping(void)
{
    /* RFC 8914 §4. */
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_BAD_SIG), 6);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_SIGNER), 6);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_MALFORMED), 6);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_SIG_EXPIRED), 7);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_SIG_NOT_YET), 8);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_NO_KEY), 9);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_NO_DS_MATCH), 9);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_NO_RRSIG), 10);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, DR_WHY_NO_NSEC), 12);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, DR_WHY_UNSUPPORTED_ALG), 1);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, DR_WHY_UNSUPPORTED_DIGEST), 2);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, DR_WHY_NSEC3_ITERATIONS), 27);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, DR_WHY_OPTOUT), -1);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, DR_WHY_UNSIGNED_CUT), -1);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_SECURE, DR_WHY_NONE), -1);
    for (int w = DR_WHY_NONE; w <= DR_WHY_UNSIGNED_CUT; w++)
        ASSERT_NOT_NULL(dr_why_names[w]);
    ASSERT_STR_EQ(dr_why_names[DR_WHY_UNSIGNED_CUT], "unsigned_cut");
    ASSERT_STR_EQ(dr_sec_names[DR_SEC_BOGUS], "bogus");
}

static void
test_supported_sets(void)
{
    static const int yes[] = {8, 10, 13, 14, 15, 16};
    static const int no[] = {0, 1, 3, 5, 6, 7, 12, 17, 23, 253, 254, 255};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ASSERT(dr_dnssec_alg_supported((uint8_t)yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ASSERT(!dr_dnssec_alg_supported((uint8_t)no[i]));
    ASSERT(dr_dnssec_digest_supported(2) && dr_dnssec_digest_supported(4));
    ASSERT(!dr_dnssec_digest_supported(1) && !dr_dnssec_digest_supported(3));
    ASSERT(!dr_dnssec_digest_supported(0) && !dr_dnssec_digest_supported(5));
    ASSERT_EQ(dr_dnssec_digest_len(2), 32);
    ASSERT_EQ(dr_dnssec_digest_len(4), 48);
    ASSERT_EQ(dr_dnssec_digest_len(1), 0);
}

static void
test_digest(void)
{
    uint8_t out[64];
    /* SHA-256("abc") starts ba7816bf, SHA-384("abc") starts cb00753f. */
    ASSERT_EQ(dr_dnssec_digest(2, (const uint8_t *)"abc", 3, out), 32);
    ASSERT(out[0] == 0xba && out[1] == 0x78 && out[2] == 0x16 && out[3] == 0xbf);
    ASSERT_EQ(dr_dnssec_digest(4, (const uint8_t *)"abc", 3, out), 48);
    ASSERT(out[0] == 0xcb && out[1] == 0x00 && out[2] == 0x75 && out[3] == 0x3f);
    ASSERT_EQ(dr_dnssec_digest(1, (const uint8_t *)"abc", 3, out), -ENOTSUP);
}

/* Raw primitive: wrong key shapes are rejected, not crashed on. */
static void
test_verify_primitive_rejects_bad_shapes(void)
{
    uint8_t key[600] = {0}, sig[200] = {0}, data[4] = {1, 2, 3, 4};
    ASSERT_EQ(dr_dnssec_verify(13, key, 63, sig, 64, data, 4), -EBADMSG);
    ASSERT_EQ(dr_dnssec_verify(13, key, 64, sig, 63, data, 4), -EBADMSG);
    ASSERT_EQ(dr_dnssec_verify(13, key, 64, sig, 64, data, 4), -EBADMSG); /* not on the curve */
    ASSERT_EQ(dr_dnssec_verify(15, key, 31, sig, 64, data, 4), -EBADMSG);
    /* (All-zero Ed448 keys and signatures are small-order points that OpenSSL accepts: no
     * threat, whoever publishes a key can sign with it anyway; use other bytes.) */
    memset(key, 0x55, sizeof(key));
    memset(sig, 0x55, sizeof(sig));
    ASSERT_EQ(dr_dnssec_verify(15, key, 32, sig, 64, data, 4), -EBADMSG);
    ASSERT_EQ(dr_dnssec_verify(16, key, 57, sig, 114, data, 4), -EBADMSG);
    ASSERT_EQ(dr_dnssec_verify(16, key, 56, sig, 114, data, 4), -EBADMSG);
    memset(key, 0, sizeof(key));
    memset(sig, 0, sizeof(sig));
    key[0] = 3, key[1] = 1, key[2] = 0, key[3] = 1, key[4] = 0xc0;
    ASSERT_EQ(dr_dnssec_verify(8, key, 4 + 64, sig, 64, data, 4), -EBADMSG);  /* 512 bits */
    ASSERT_EQ(dr_dnssec_verify(8, key, 4 + 520, sig, 64, data, 4), -EBADMSG); /* > 4096 */
    ASSERT_EQ(dr_dnssec_verify(8, key, 0, sig, 64, data, 4), -EBADMSG);
    ASSERT_EQ(dr_dnssec_verify(8, key, 4 + 128, sig, 128, data, 4), -EBADMSG); /* wrong sig */
    ASSERT_EQ(dr_dnssec_verify(7, key, 4 + 128, sig, 128, data, 4), -ENOTSUP);
    ASSERT_EQ(dr_dnssec_verify(253, key, 4 + 128, sig, 128, data, 4), -ENOTSUP);
}

int
main(void)
{
    TEST_RUN(test_ede_mapping);
    TEST_RUN(test_supported_sets);
    TEST_RUN(test_digest);
    TEST_RUN(test_verify_primitive_rejects_bad_shapes);
    return 0;
}
