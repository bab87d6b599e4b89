/* Unit tests for resolver/anchor.c: the set of trust anchors and its lookups. */
#include "resolver/anchor.h"
#include "resolver/anchorfile.h"

#include <errno.h>
#include <unistd.h>

#include "test.h"

static char dir[] = "/tmp/duet-test-anchor-XXXXXX";

static const char *
path_in_dir(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

static const char *
write_file(const char *name, const char *text)
{
    const char *p = path_in_dir(name);
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static ldns_rdf *
dname(const char *s)
{
    ldns_rdf *d = NULL;
    ASSERT_EQ(ldns_str2rdf_dname(&d, s), LDNS_STATUS_OK);
    return d;
}

static const char *KEY_A =
    "AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0"
    "EzrAcQqBGCzh/RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL49"
    "6M/QZxkjf5/Efucp2gaDX6RS6CXpoY68LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3"
    "LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGOYl7OyQdXfZ57relSQageu+ipAdTT"
    "J25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0=";

static void
test_domain_insecure_below_an_anchor_wins_above_it_does_not(void)
{
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    char text[1024];
    snprintf(text, sizeof(text), ". IN DNSKEY 257 3 8 %s\nsec.corp. IN DNSKEY 257 3 8 %s\n", KEY_A,
             KEY_A);
    ASSERT_EQ(dr_anchorfile_load(&a, write_file("two.key", text), &errs), 0);
    ASSERT_EQ(dr_anchors_add_insecure(&a, "Corp."), 0);
    ASSERT_EQ(dr_anchors_add_insecure(&a, ""), -EINVAL);
    ASSERT_EQ(dr_anchors_add_insecure(&a, "a..b"), -EINVAL);

    ldns_rdf *n = dname("WWW.cOrP.");
    ASSERT(dr_anchors_insecure(&a, n));
    ASSERT_NULL(dr_anchors_find(&a, n)); /* the NTA is below the root anchor */
    ldns_rdf_deep_free(n);
    n = dname("corp.");
    ASSERT_NULL(dr_anchors_find(&a, n));
    ldns_rdf_deep_free(n);
    n = dname("www.sec.corp."); /* an anchor below the NTA is used */
    ASSERT(dr_anchors_insecure(&a, n));
    ASSERT(dr_anchors_find(&a, n) == &a.zones[1]);
    ldns_rdf_deep_free(n);
    n = dname("notcorp.");
    ASSERT(!dr_anchors_insecure(&a, n));
    ASSERT(dr_anchors_find(&a, n) == &a.zones[0]);
    ldns_rdf_deep_free(n);
    dr_anchors_deinit(&a);
}

int
main(void)
{
    ASSERT_NOT_NULL(mkdtemp(dir));

    TEST_RUN(test_domain_insecure_below_an_anchor_wins_above_it_does_not);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
