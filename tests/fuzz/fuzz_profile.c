/* Fuzzes the profile loader end to end: the input is "profile.yaml" and, after an optional NUL
 * byte, one endpoint spec; both are written to a private temp folder and loaded with
 * bff_profile_load exactly as `bffd check` would. Any crash, leak or hang is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/core/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], endpoints[96], profile[96], spec[128];

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        abort();
    fwrite(data, 1, len, fp);
    fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/bffd-fuzz-profile-%d", (int)getpid());
        snprintf(endpoints, sizeof(endpoints), "%s/endpoints", dir);
        snprintf(profile, sizeof(profile), "%s/profile.yaml", dir);
        snprintf(spec, sizeof(spec), "%s/endpoints/e.yaml", dir);
        mkdir(dir, 0700);
        mkdir(endpoints, 0700);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    write_file(profile, data, plen);
    if (nul != NULL)
        write_file(spec, nul + 1, size - plen - 1);
    else
        unlink(spec);
    bff_diag_t diag = {0};
    bff_profile_t *p = bff_profile_load(dir, &diag);
    if ((p == NULL) != (diag.size != 0))
        abort(); /* a failed load must say why; a good one must not */
    for (size_t i = 0; i != diag.size; ++i) {
        char buf[1500];
        bff_diag_format(&diag, i, buf, sizeof(buf));
    }
    bff_profile_free(p);
    bff_diag_clear(&diag);
    return 0;
}
