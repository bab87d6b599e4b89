/*
 * A plain driver for the libFuzzer targets, so each target also runs as a bounded ctest in
 * the normal and sanitizer builds (no clang needed): it runs the files named on the command
 * line, then N deterministic pseudo-random inputs made by mutating those files and a few
 * built-in seeds. Usage: fuzz_X [-n N] [FILE...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

#define MAX_SEEDS 64
static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static size_t nseeds;

static void
add_seed(const void *p, size_t n)
{
    if (nseeds == MAX_SEEDS)
        return;
    seeds[nseeds] = malloc(n ? n : 1);
    memcpy(seeds[nseeds], p, n);
    seed_len[nseeds++] = n;
}

int
main(int argc, char **argv)
{
    long n = 100000;
    static const char *const builtin[] = {
        "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
        "GET /x?y HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=0-1\r\n\r\nGET / HTTP/1.1\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03www\x07example\x00\x00\x01\x00\x01"
        "\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00",
    };
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        add_seed(builtin[i], i == 4 ? 40 : strlen(builtin[i]));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = atol(argv[++i]);
            continue;
        }
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL)
            continue;
        static uint8_t buf[65536];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        add_seed(buf, len);
    }
    static uint8_t in[4096];
    for (long k = 0; k < n; k++) {
        size_t s = next() % nseeds;
        size_t len = seed_len[s] < sizeof(in) ? seed_len[s] : sizeof(in);
        memcpy(in, seeds[s], len);
        int muts = 1 + (int)(next() % 8);
        for (int m = 0; m < muts; m++) {
            uint64_t r = next();
            switch (r % 4) {
            case 0: /* flip a byte */
                if (len)
                    in[(r >> 8) % len] = (uint8_t)(r >> 32);
                break;
            case 1: /* truncate */
                if (len)
                    len = (r >> 8) % (len + 1);
                break;
            case 2: /* insert a byte */
                if (len < sizeof(in)) {
                    size_t at = len ? (r >> 8) % len : 0;
                    memmove(in + at + 1, in + at, len - at);
                    in[at] = (uint8_t)(r >> 40);
                    len++;
                }
                break;
            case 3: /* duplicate a slice */
                if (len && len * 2 < sizeof(in)) {
                    size_t from = (r >> 8) % len, cnt = (r >> 24) % (len - from) + 1;
                    memmove(in + len, in + from, cnt);
                    len += cnt;
                }
                break;
            }
        }
        LLVMFuzzerTestOneInput(in, len);
    }
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i]);
    printf("%ld inputs, no crash\n", n);
    return 0;
}
