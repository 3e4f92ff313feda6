/* Shared by the files that read a profile folder (profile.c, profile_upstream.c). */
#ifndef BFF_PROFILE_INTERNAL_H
#define BFF_PROFILE_INTERNAL_H

#include "compose/diag.h"
#include "compose/yaml_tree.h"
#include "server/core/profile.h"

/** `path` relative to the profile folder `dir` (an absolute path as it is); malloc'ed. */
char *bff_profile_path(const char *dir, const char *path);
/** 0 if `path` can be read; else an error at `at` naming the path and -1. */
int bff_profile_check_readable(bff_diag_t *diag, const bff_yaml_node_t *at, const char *path);
/** The `upstreams` mapping of profile.yaml into p->upstreams (and their `auth`). */
int bff_profile_parse_upstreams(bff_diag_t *diag, const bff_yaml_node_t *root, bff_profile_t *p);

#endif
