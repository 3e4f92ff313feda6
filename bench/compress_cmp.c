/* gzip (zlib, as libh2o's filter uses it) against brotli (libbrotlienc) on real answers: the
 * compressed size and the time to compress each body once, per level. Built and run by
 * bench/compression.sh; not part of bffd. */
#include <brotli/encode.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define RUNS 2000

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static size_t gzip_once(const unsigned char *in, size_t n, unsigned char *out, size_t cap, int lvl)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, lvl, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

int main(int argc, char **argv)
{
    static unsigned char in[1 << 20], out[1 << 21];
    /* zlib takes ~256 KiB per stream; a fresh process's malloc gives it back to the kernel on
     * every deflateEnd (sbrk, then page faults on the next init), which a long-running server
     * stops doing after its first large free. Start in that steady state. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    for (int f = 1; f < argc; ++f) {
        FILE *fp = fopen(argv[f], "rb");
        if (fp == NULL)
            return 1;
        size_t n = fread(in, 1, sizeof(in), fp);
        fclose(fp);
        printf("%s: %zu bytes\n", argv[f], n);
        /* The best of 5 rounds: this machine's other work only ever adds time. */
        for (int lvl = 1; lvl <= 9; lvl += 4) {
            size_t len = 0;
            double best = 1e18;
            for (int round = 0; round != 5; ++round) {
                double t0 = now_us();
                for (int i = 0; i != RUNS / 5; ++i)
                    len = gzip_once(in, n, out, sizeof(out), lvl);
                double t = (now_us() - t0) / (RUNS / 5);
                best = t < best ? t : best;
            }
            printf("  gzip %d   %6zu bytes (%4.1f%%)  %6.1f us\n", lvl, len, 100.0 * len / n, best);
        }
        for (int q = 1; q <= 6; ++q) {
            size_t len = 0;
            double best = 1e18;
            for (int round = 0; round != 5; ++round) {
                double t0 = now_us();
                for (int i = 0; i != RUNS / 5; ++i) {
                    len = sizeof(out);
                    BrotliEncoderCompress(q, 18, BROTLI_MODE_TEXT, n, in, &len, out);
                }
                double t = (now_us() - t0) / (RUNS / 5);
                best = t < best ? t : best;
            }
            printf("  brotli %d %6zu bytes (%4.1f%%)  %6.1f us\n", q, len, 100.0 * len / n, best);
        }
    }
    return 0;
}
