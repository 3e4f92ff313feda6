/* The `bffd test` command (spectest.h): loads each profile as `bffd check` does, loads its case
 * files, runs the cases and reports one TAP line each, with the differences under a failure. */
#include "server/spectest/spectest.h"

#include <stdio.h>
#include <string.h>

#include "server/core/config.h"
#include "server/spectest/case.h"
#include "server/spectest/run.h"

typedef struct st_counts_t {
    size_t run, failed, skipped;
    int invalid;
} counts_t;

int bff_spectest_check(const char *dir, const bff_profile_t *profile, bff_diag_t *diag,
                       size_t *ncases)
{
    bff_st_suite_t suite;
    int ret = bff_st_suite_load(dir, profile, &suite, diag);
    *ncases = 0;
    for (size_t i = 0; i != suite.nfiles; ++i)
        *ncases += suite.files[i].ncases;
    bff_st_suite_free(&suite);
    return ret;
}

static void run_case(const bff_profile_t *profile, const bff_st_file_t *f, bff_st_case_t *c,
                     counts_t *n)
{
    bff_st_result_t res;
    bff_st_case_run(profile, f->path, c, &res);
    ++n->run;
    if (res.skip != NULL) {
        ++n->skipped;
        printf("ok %zu - %s: %s # SKIP %s\n", n->run, f->path, c->name, res.skip);
    } else if (res.nfailures == 0) {
        printf("ok %zu - %s: %s\n", n->run, f->path, c->name);
    } else {
        ++n->failed;
        printf("not ok %zu - %s: %s\n", n->run, f->path, c->name);
        printf("#   %s:%u:%u: %s %s\n", f->path, c->at->line, c->at->column, c->method, c->path);
        for (size_t i = 0; i != res.nfailures; ++i)
            printf("#   %s\n", res.failures[i]);
    }
    bff_st_result_dispose(&res);
}

static void run_profile(const char *dir, const char *filter, counts_t *n)
{
    const char *dirs[1] = {dir};
    bff_config_args_t args = {.dirs = dirs, .ndirs = 1, .check_only = 1};
    bff_diag_t diag = {0};
    bff_config_t *config = bff_config_load(&args, &diag);
    if (config == NULL) {
        bff_diag_print(&diag);
        bff_diag_clear(&diag);
        fprintf(stderr, "bffd test: %s: the profile is invalid\n", dir);
        n->invalid = 1;
        return;
    }
    const bff_profile_t *profile = config->sites[0].profile;
    bff_st_suite_t suite;
    if (bff_st_suite_load(dir, profile, &suite, &diag) != 0) {
        bff_diag_print(&diag);
        fprintf(stderr, "bffd test: %s: a case file is invalid; no case of it ran\n", dir);
        n->invalid = 1;
    } else {
        size_t ncases = 0;
        for (size_t i = 0; i != suite.nfiles; ++i)
            ncases += suite.files[i].ncases;
        printf("# %s: %zu cases in %zu files\n", dir, ncases, suite.nfiles);
        for (size_t i = 0; i != suite.nfiles; ++i)
            for (size_t k = 0; k != suite.files[i].ncases; ++k) {
                bff_st_case_t *c = suite.files[i].cases + k;
                if (filter != NULL && strstr(c->name, filter) == NULL &&
                    strstr(suite.files[i].path, filter) == NULL)
                    continue;
                run_case(profile, suite.files + i, c, n);
            }
    }
    bff_diag_clear(&diag);
    bff_st_suite_free(&suite);
    bff_config_release(config);
}

int bff_spectest_main(int argc, char **argv)
{
    const char *filter = NULL;
    const char *dirs[64];
    size_t ndirs = 0;
    for (int i = 0; i < argc; ++i) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else if (strncmp(argv[i], "--filter=", 9) == 0) {
            filter = argv[i] + 9;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "bffd test: unknown option '%s' (bffd test DIR... [--filter TEXT])\n",
                    argv[i]);
            return 2;
        } else if (ndirs == sizeof(dirs) / sizeof(dirs[0])) {
            fprintf(stderr, "bffd test: at most %zu profile folders\n", ndirs);
            return 2;
        } else {
            dirs[ndirs++] = argv[i];
        }
    }
    if (ndirs == 0) {
        fprintf(stderr, "bffd test: name at least one profile folder\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    counts_t n = {0};
    for (size_t i = 0; i != ndirs; ++i)
        run_profile(dirs[i], filter, &n);
    printf("1..%zu\n", n.run);
    printf("# %zu cases: %zu passed, %zu failed, %zu skipped%s\n", n.run,
           n.run - n.failed - n.skipped, n.failed, n.skipped,
           n.invalid ? "; invalid files, see above" : "");
    if (filter != NULL && n.run == 0 && !n.invalid) { /* a misspelt filter is no green run */
        fprintf(stderr, "bffd test: no case matches --filter '%s'\n", filter);
        return 1;
    }
    return n.invalid ? 2 : n.failed ? 1 : 0;
}
