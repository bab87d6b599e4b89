/*
 * A plain driver for the libFuzzer targets, so each target also runs as a bounded ctest in
 * the normal and sanitizer builds (no clang needed): it runs every seed named on the command
 * line (files, or directories of files: fuzz/corpus/NAME/), then N deterministic
 * pseudo-random inputs made by mutating them.
 *
 *   fuzz_X [-n N] [-o DIR] [FILE|DIR...]
 *
 * Each input is passed in a heap block of exactly its size, so AddressSanitizer reports a
 * read one byte past its end. When an input crashes (abort() from a CHECK, a sanitizer
 * report, a fatal signal), it is written to DIR/crash-<program>-<hash> (DIR from -o, else
 * $DUET_FUZZ_ARTIFACTS, else the current directory) and the path is printed on stderr;
 * rerun it with `fuzz_X FILE -n 0` or the libFuzzer binary.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Set by the sanitizer runtimes only (weak: NULL in a plain build). */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

#define MAX_SEEDS     512
#define MAX_SEED_SIZE (1u << 20) /* larger files are run, then mutated from their start */
#define MUTATED_MAX   (64u * 1024)

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static size_t nseeds;

/* ---- Saving the input that crashed ---- */

static const uint8_t *cur; /* the input being run, or NULL */
static size_t cur_len;
static char crash_prefix[1024]; /* DIR/crash-PROGRAM- */

static size_t
append(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        buf[at++] = *s++;
    buf[at] = '\0';
    return at;
}

/* Runs in a signal handler or the sanitizer's death callback: only open/write/close. */
static void
save_input(void)
{
    if (cur == NULL)
        return;
    const uint8_t *in = cur;
    cur = NULL;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: the same input gets the same name */
    for (size_t i = 0; i < cur_len; i++)
        h = (h ^ in[i]) * 0x100000001b3ull;
    char path[1100], hex[17];
    for (int i = 0; i < 16; i++)
        hex[i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 0xf];
    hex[16] = '\0';
    size_t n = append(path, 0, sizeof(path), crash_prefix);
    n = append(path, n, sizeof(path), hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0 && write(fd, in, cur_len) == (ssize_t)cur_len;
    if (fd >= 0)
        close(fd);
    const char *msg = ok ? "fuzz: crashing input written to " : "fuzz: could not write ";
    if (write(2, msg, strlen(msg)) < 0 || write(2, path, n) < 0 || write(2, "\n", 1) < 0)
        return;
}

static void
on_fatal_signal(int sig)
{
    save_input();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
catch_crashes(const char *dir, const char *argv0)
{
    const char *prog = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
    snprintf(crash_prefix, sizeof(crash_prefix), "%s/crash-%s-", dir, prog);
    /* abort() (a CHECK) is ours to catch; sanitizer reports end in the death callback. The
     * sanitizers handle SIGSEGV and friends themselves, so those are caught only without. */
    signal(SIGABRT, on_fatal_signal);
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(save_input);
    } else {
        signal(SIGSEGV, on_fatal_signal);
        signal(SIGBUS, on_fatal_signal);
        signal(SIGFPE, on_fatal_signal);
        signal(SIGILL, on_fatal_signal);
    }
}

/* ---- Inputs ---- */

/* An exact-size heap copy per input: a static buffer would hide over-reads from ASan. */
static void
run(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n);
    if (copy == NULL && n > 0)
        abort();
    if (n)
        memcpy(copy, p, n);
    cur = copy;
    cur_len = n;
    LLVMFuzzerTestOneInput(copy, n);
    cur = NULL;
    free(copy);
}

static void
add_seed(const uint8_t *p, size_t n)
{
    if (nseeds == MAX_SEEDS)
        return;
    seeds[nseeds] = malloc(n ? n : 1);
    if (seeds[nseeds] == NULL)
        abort();
    memcpy(seeds[nseeds], p, n);
    seed_len[nseeds++] = n;
}

static void
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz: %s: cannot open\n", path);
        exit(2);
    }
    uint8_t *buf = malloc(MAX_SEED_SIZE);
    if (buf == NULL)
        abort();
    size_t len = fread(buf, 1, MAX_SEED_SIZE, f);
    fclose(f);
    run(buf, len);
    add_seed(buf, len);
    free(buf);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order so that runs are reproducible. */
static void
run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "fuzz: %s: cannot open\n", dir);
        exit(2);
    }
    char *names[MAX_SEEDS];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_SEEDS)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            run_file(path);
        free(names[i]);
    }
}

/* One to eight byte-level mutations of a seed, the kinds libFuzzer starts with. */
static size_t
mutate(uint8_t *in, size_t len)
{
    int muts = 1 + (int)(next() % 8);
    for (int m = 0; m < muts; m++) {
        uint64_t r = next();
        switch (r % 5) {
        case 0: /* set a byte */
            if (len)
                in[(r >> 8) % len] = (uint8_t)(r >> 32);
            break;
        case 1: /* truncate */
            if (len)
                len = (r >> 8) % (len + 1);
            break;
        case 2: /* insert a byte */
            if (len < MUTATED_MAX) {
                size_t at = len ? (r >> 8) % len : 0;
                memmove(in + at + 1, in + at, len - at);
                in[at] = (uint8_t)(r >> 40);
                len++;
            }
            break;
        case 3: /* duplicate a slice at the end */
            if (len && len * 2 <= MUTATED_MAX) {
                size_t from = (r >> 8) % len, cnt = (r >> 24) % (len - from) + 1;
                memmove(in + len, in + from, cnt);
                len += cnt;
            }
            break;
        case 4: /* overwrite a slice with one from another seed */
        {
            size_t s = (r >> 8) % nseeds;
            if (len && seed_len[s]) {
                size_t to = (r >> 16) % len, from = (r >> 32) % seed_len[s];
                size_t cnt = 1 + (r >> 48) % 16;
                if (cnt > len - to)
                    cnt = len - to;
                if (cnt > seed_len[s] - from)
                    cnt = seed_len[s] - from;
                memcpy(in + to, seeds[s] + from, cnt);
            }
            break;
        }
        }
    }
    return len;
}

int
main(int argc, char **argv)
{
    long n = 100000;
    const char *out = getenv("DUET_FUZZ_ARTIFACTS");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
    }
    catch_crashes(out && *out ? out : ".", argv[0]);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = atol(argv[++i]);
            continue;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            run_dir(argv[i]);
        else
            run_file(argv[i]);
    }
    if (nseeds == 0)
        add_seed((const uint8_t *)"", 0);
    size_t ran_seeds = nseeds;

    uint8_t *in = malloc(2 * MUTATED_MAX);
    if (in == NULL)
        abort();
    for (long k = 0; k < n; k++) {
        size_t s = next() % nseeds;
        size_t len = seed_len[s] < MUTATED_MAX ? seed_len[s] : MUTATED_MAX;
        memcpy(in, seeds[s], len);
        len = mutate(in, len);
        run(in, len);
    }
    free(in);
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i]);
    printf("%zu seeds and %ld mutated inputs, no crash\n", ran_seeds, n);
    return 0;
}
