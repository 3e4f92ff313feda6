/* The configuration snapshot: every profile the process serves, as loaded, validated and
 * compiled from their folders (with the command line's overrides applied), plus what serving
 * them needs that is built from files (TLS contexts, access logs). Immutable once loaded and
 * refcounted: the server holds the current one, each worker its own reference to the one it
 * adopted, each request the one it started with. A reload loads a new snapshot off the worker
 * loops and publishes it; the old one is freed when its last request ends. */
#ifndef BFF_SERVER_CORE_CONFIG_H
#define BFF_SERVER_CORE_CONFIG_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "compose/diag.h"
#include "server/core/profile.h"
#include "server/obs/access_log.h"

/** One profile and the resources built for it. */
typedef struct st_bff_config_site_t {
    bff_profile_t *profile;
    SSL_CTX *ssl_ctx;             /* NULL without `tls` */
    bff_access_log_t *access_log; /* NULL when loaded for checking only */
    /* The OpenAPI document (`openapi:` on): built with the snapshot, so requests only send it
     * and a reload swaps it with everything else. NULL = not served. */
    char *openapi_json;
    size_t openapi_len;
    char openapi_etag[20]; /* "\"" + 16 hex digits of its SHA-256 + "\"" */
} bff_config_site_t;

typedef struct st_bff_config_t {
    atomic_size_t refcnt;
    uint64_t generation; /* 1 for the configuration the process started with, then +1 per reload */
    bff_config_site_t *sites;
    size_t nsites;
} bff_config_t;

/** What to load: the command line's part of the configuration. */
typedef struct st_bff_config_args_t {
    const char *const *dirs; /* --profile DIR, in order */
    size_t ndirs;
    const char *listen_host; /* --listen, applied to the single profile; NULL = none */
    uint16_t listen_port;
    int check_only; /* bffd check: validate everything, open no log file */
} bff_config_args_t;

/** Loads every profile folder. Reports every problem to diag (file:line:column where there is
 * one) and returns NULL if there was any; otherwise a snapshot with one reference. Blocking
 * file I/O: never call it on a worker loop. */
bff_config_t *bff_config_load(const bff_config_args_t *args, bff_diag_t *diag);
void bff_config_retain(bff_config_t *config);
/** Drops a reference; the last one frees the snapshot. Any thread. */
void bff_config_release(bff_config_t *config);
/** How many snapshots exist (loaded and not yet freed): the current one plus those requests in
 * flight still hold. Any thread. */
size_t bff_config_alive(void);
/** Whether `next` may replace `cur` without a restart. A change no reload can apply (a
 * profile's listen address) is reported to diag by name; returns 0 when all is well. */
int bff_config_check_reload(const bff_config_t *cur, const bff_config_t *next, bff_diag_t *diag);

#endif
