/* `bffd test DIR... [--filter SUBSTR]`: runs the spec test cases kept in each profile's tests/
 * folder without network, TAP-like, and exits 0 (all passed), 1 (a case failed) or 2 (a
 * profile or case file is invalid). */
#ifndef BFF_SERVER_SPECTEST_SPECTEST_H
#define BFF_SERVER_SPECTEST_SPECTEST_H

#include <stddef.h>

#include "compose/diag.h"
#include "server/core/profile.h"

/** The `test` subcommand; argv holds its arguments (after "test"). */
int bff_spectest_main(int argc, char **argv);
/** For `bffd check`: loads DIR's case files against `profile`, adding their problems to `diag`.
 * Returns 0 (with the number of cases in *ncases) or -1. */
int bff_spectest_check(const char *dir, const bff_profile_t *profile, bff_diag_t *diag,
                       size_t *ncases);

#endif
