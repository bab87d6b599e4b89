/*
 * libFuzzer target for the cache-file loader (resolver/cachefile.c) and the checks it relies
 * on (dr_cache_entry_valid in resolver/cache.c, the cut layout of resolver/deleg.c).
 *
 * Any bytes, read as a cache file, must be either refused whole (-EINVAL, with a record
 * number and offset inside the file and a reason, and nothing loaded) or loaded; and every
 * loaded entry must then be safe to use the ways the resolver uses them: served to a client
 * (the result a well-formed message), looked up, read back as a zone cut or DNAME, flushed
 * by name.
 * "now" is the first record's expiry minus one second (when that is after 1970), so the
 * records of a real dump are live rather than skipped as expired.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lru.h"
#include "resolver/cache.h"
#include "resolver/cachefile.h"
#include "resolver/deleg.h"
#include "resolver/dname.h"
#include "resolver/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define MAGIC_LEN   13
#define DEFAULT_NOW 1700000000

static struct dr_cache *answers;
static struct dc_lru *cuts;

/* Keys seen by the walk below, used after it (the table must not be called from inside). */
struct keys {
    size_t n;
    uint8_t key[64][DR_NAME_MAX + 5];
    size_t klen[64];
};

static bool
collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    struct keys *k = arg;
    (void)val;
    (void)vlen;
    (void)expire;
    CHECK(klen >= 1 && klen <= DR_NAME_MAX + 4);
    if (k->n < 64) {
        memcpy(k->key[k->n], key, klen);
        k->klen[k->n++] = klen;
    }
    return false;
}

static void
use_answers(int64_t now)
{
    static uint8_t out[65536];
    struct keys k = {0};
    dc_lru_foreach(dr_cache_table(answers), collect, &k);
    for (size_t i = 0; i < k.n; i++) {
        /* Key: the name, then type and class. */
        size_t nl = k.klen[i] - 4;
        CHECK(dr_dname_len(k.key[i]) == nl);
        struct dr_msg_query q;
        memset(&q, 0, sizeof(q));
        memcpy(q.qname, k.key[i], nl);
        for (size_t j = 1; j < nl; j += 2) /* the client's own spelling comes back */
            if (q.qname[j] >= 'a' && q.qname[j] <= 'z')
                q.qname[j] = (uint8_t)(q.qname[j] - 'a' + 'A');
        q.qname_len = (uint8_t)nl;
        q.qtype = dr_get16(k.key[i] + nl);
        q.qclass = dr_get16(k.key[i] + nl + 2);
        q.id = 0xbeef;
        q.udp_size = 512;
        /* A live entry is fresh (served) or, past its smallest TTL, kept for serve-expired
         * (served stale, every TTL set to DR_CACHE_STALE_TTL). */
        int n = dr_cache_answer(answers, &q, now, out, sizeof(out), NULL);
        bool stale = n == 0;
        if (stale)
            n = dr_cache_answer_stale(answers, &q, now, out, sizeof(out), false, NULL);
        CHECK(n > 0);
        CHECK(dr_msg_walk(out, (size_t)n, NULL, NULL) == 0);
        CHECK(dr_get16(out) == 0xbeef);
        CHECK(memcmp(out + DR_HEADER_LEN, q.qname, nl) == 0);
        n = dr_cache_lookup(answers, k.key[i], q.qtype, q.qclass, now, out, sizeof(out));
        CHECK(stale ? n == 0 : n > 0);
    }
    /* Flushing by name reads every key as a name. */
    if (k.n)
        dr_cache_flush(answers, k.key[0], true);
}

static void
use_cuts(int64_t now)
{
    struct keys k = {0};
    dc_lru_foreach(cuts, collect, &k);
    for (size_t i = 0; i < k.n; i++) {
        if (k.key[i][0] == 0xFE) {
            /* A DNAME (resolver/deleg.c): found for a name one label below its owner. */
            const uint8_t *owner = k.key[i] + 1;
            size_t ol = k.klen[i] - 1;
            CHECK(dr_dname_len(owner) == ol);
            if (ol + 2 > DR_NAME_MAX)
                continue;
            uint8_t below[DR_NAME_MAX], o[DR_NAME_MAX], t[DR_NAME_MAX];
            uint32_t ttl;
            below[0] = 1;
            below[1] = 'x';
            memcpy(below + 2, owner, ol);
            CHECK(dr_deleg_find_dname(cuts, below, now, o, t, &ttl) == 0);
            CHECK(dr_dname_equal_case(o, owner));
            continue;
        }
        CHECK(dr_dname_len(k.key[i]) == k.klen[i]);
        struct dr_deleg d;
        CHECK(dr_deleg_get(cuts, k.key[i], now, &d) == 0);
        CHECK(d.nns >= 1 && d.nns <= DR_DELEG_MAX_NS);
        CHECK(dr_dname_equal_case(d.zone, k.key[i]));
        for (unsigned j = 0; j < d.nns; j++)
            CHECK(d.ns[j].naddrs <= DR_DELEG_MAX_ADDRS);
        CHECK(dr_deleg_find(cuts, k.key[i], now, &d) == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (answers == NULL) {
        static const struct dr_cache_policy pol = {0, 86400, 3600};
        answers = dr_cache_new(256 * 1024, 1, &pol);
        cuts = dc_lru_new(64 * 1024, 1);
        CHECK(answers && cuts);
    }
    int64_t now = DEFAULT_NOW;
    if (size >= MAGIC_LEN + 17) {
        int64_t e = 0;
        for (int i = 0; i < 8; i++)
            e = (int64_t)((uint64_t)e << 8 | data[MAGIC_LEN + 9 + i]);
        if (e > 0) /* the wall clock is never before 1970 */
            now = e - 1;
    }

    /* fmemopen does not take an empty buffer everywhere: an empty file is a 0-byte read. */
    static const uint8_t empty[1];
    FILE *f = fmemopen((void *)(size ? data : empty), size ? size : 1, "rb");
    CHECK(f != NULL);
    if (size == 0)
        CHECK(fgetc(f) == 0);
    struct dr_cachefile_error err;
    memset(&err, 0, sizeof(err));
    long rc = dr_cachefile_read(answers, cuts, f, now, &err);
    fclose(f);

    CHECK(rc >= 0 || rc == -EINVAL || rc == -ENOMEM);
    if (rc == -EINVAL) {
        CHECK(err.entry >= 0);
        CHECK(err.offset <= size);
        CHECK(err.why[0] != '\0');
        CHECK(strlen(err.why) < sizeof(err.why));
        CHECK(strchr(err.why, '"') == NULL); /* logged inside quotes */
        CHECK(dr_cache_count(answers) == 0 && dc_lru_count(cuts) == 0);
    }
    if (rc > 0) {
        /* Fewer when a key repeats or the budget evicted some. */
        CHECK(dr_cache_count(answers) + dc_lru_count(cuts) <= (size_t)rc);
        use_answers(now);
        use_cuts(now);
    }
    dr_cache_flush(answers, NULL, false);
    dc_lru_remove_if(cuts, NULL, NULL);
    return 0;
}
