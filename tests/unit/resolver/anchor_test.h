/*
 * Helpers shared by the trust-anchor unit tests (test_anchor.c, test_anchorfile.c,
 * test_autotrust.c): files in the test's temporary directory and names as ldns rdfs. The
 * including file defines `static char dir[]` (a mkdtemp template) first.
 */
#ifndef DUET_TEST_ANCHOR_TEST_H
#define DUET_TEST_ANCHOR_TEST_H

#include <ldns/ldns.h>
#include <stdio.h>

#include "test.h"

static inline const char *
path_in_dir(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

static inline const char *
write_file(const char *name, const char *text)
{
    const char *p = path_in_dir(name);
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static inline ldns_rdf *
dname(const char *s)
{
    ldns_rdf *d = NULL;
    ASSERT_EQ(ldns_str2rdf_dname(&d, s), LDNS_STATUS_OK);
    return d;
}

#endif
