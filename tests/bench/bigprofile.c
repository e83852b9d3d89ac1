/*
 * bigprofile.c — writes a large synthetic profile, for the read/write/convert benchmarks and for
 * the tests that need a big file without a minutes-long recording.
 *
 *   bigprofile [-n SAMPLES] [-t THREADS] [-s SEED] OUT.{cpuprofile,json,folded}
 *
 * The shape imitates a real program: 400 functions in 40 files, each calling a few others; 5 000
 * distinct stacks 4 to 40 deep, on which samples land with a skewed preference (a few paths are
 * hot, many are rare); a thread stays on a stack for 10 samples on average; one sample per
 * millisecond per thread with a little jitter. Deterministic for a given seed.
 * Prints "samples N nodes N frames N write_s S bytes N" on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "formats/formats.h"

#define NFUNCS 400
#define NFILES 40
#define NSTACKS 5000

static uint64_t rng_state;

static uint64_t
rng(void)
{
    rng_state += 0x9e3779b97f4a7c15ULL;
    return prof_mix64(rng_state);
}

/* Index in [0, n) with small values far more likely (squares a uniform variate). */
static uint32_t
skewed(uint32_t n)
{
    double u = (double)(rng() >> 11) / 9007199254740992.0;
    return (uint32_t)(u * u * u * n);
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    unsigned long n = 1000000, nthreads = 1, seed = 1;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            nthreads = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            seed = strtoul(argv[++i], NULL, 10);
        else if (!out && argv[i][0] != '-')
            out = argv[i];
        else {
            fprintf(stderr, "usage: bigprofile [-n SAMPLES] [-t THREADS] [-s SEED] OUT\n");
            return 2;
        }
    }
    const struct fmt_ops *f = out ? fmt_by_path(out) : NULL;
    if (!f || nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "bigprofile: OUT must end in a known extension (%s); 1-64 threads\n",
                fmt_names());
        return 2;
    }
    rng_state = seed;
    struct profile *p = profile_new();
    if (!p)
        return 1;
    snprintf(p->meta.tool, sizeof p->meta.tool, "%s", "bigprofile");
    p->meta.mode = PROFILE_CPU;
    p->meta.hz = 1000;
    uint32_t frames[NFUNCS];
    char name[64], file[64];
    for (uint32_t i = 0; i < NFUNCS; i++) {
        snprintf(name, sizeof name, i % 3 ? "Module%u::Class%u#method_%u" : "helper_%u", i % 17,
                 i % 29, i);
        if (i % 3 == 0)
            snprintf(name, sizeof name, "helper_%u", i);
        snprintf(file, sizeof file, "lib/part%u/file%u.rb", i % 5, i % NFILES);
        frames[i] = profile_frame_intern(p, name, file, (int32_t)(1 + (i * 37) % 900), 0);
    }
    uint64_t t0 = 1000000000ull;
    for (uint32_t th = 0; th < nthreads; th++) {
        char tname[32];
        snprintf(tname, sizeof tname, th ? "worker %u" : "main", th);
        profile_add_thread(p, 1000 + th, tname);
    }
    /* The distinct stacks the program runs through; samples land on them with a skew. */
    uint32_t *leaf = malloc(NSTACKS * sizeof *leaf);
    if (!leaf)
        return 1;
    for (uint32_t k = 0; k < NSTACKS; k++) {
        uint32_t depth = 4 + skewed(37), node = 0, fn = 0;
        for (uint32_t d = 0; d < depth; d++) {
            fn = (fn * 7 + 1 + 13 * skewed(6)) % NFUNCS; /* each function calls a few others */
            node = profile_node(p, node, frames[fn]);
        }
        leaf[k] = node;
    }
    /* Programs stay in a stack for a while: a thread keeps its previous stack 9 times in 10. */
    uint32_t cur[64] = {0};
    for (unsigned long i = 0; i < n; i++) {
        uint32_t th = (uint32_t)(i % nthreads);
        uint64_t t = t0 + (i / nthreads) * 1000000ull + rng() % 100000;
        if (!cur[th] || rng() % 10 == 0)
            cur[th] = leaf[skewed(NSTACKS)];
        profile_add_sample(p, th, cur[th], (int32_t)(1 + rng() % 50), t, 1000000);
    }
    free(leaf);
    double a = now();
    struct fmt_err e;
    struct fmt_write_opts o = {.thread = -1};
    int rc = fmt_write_path(p, out, f, &o, &e);
    double b = now();
    if (rc != 0) {
        fprintf(stderr, "bigprofile: %s\n", e.msg);
        profile_free(p);
        return 1;
    }
    struct stat st;
    stat(out, &st);
    printf("samples %lu nodes %zu frames %zu write_s %.3f bytes %lld\n", n, profile_nnodes(p),
           profile_nframes(p), b - a, (long long)st.st_size);
    profile_free(p);
    return 0;
}
