/* Process-wide server state: the worker threads, the listening addresses, and the current
 * configuration snapshot, which a reload replaces. Each worker adopts a new snapshot at the
 * top of its next loop turn; requests in flight finish on the one they started with. */
#ifndef BFF_SERVER_CORE_SERVER_H
#define BFF_SERVER_CORE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "server/core/config.h"
#include "server/core/worker.h"

struct st_bff_server_t {
    bff_worker_t *workers;
    unsigned nworkers;
    size_t nsites;
    uint16_t *ports; /* per profile, as bound (a configured port 0 becomes the kernel's choice) */
    pthread_mutex_t config_mutex;
    bff_config_t *config;            /* the current snapshot; guarded by config_mutex */
    atomic_uint_fast64_t generation; /* config->generation, for the workers' cheap check */
    atomic_int stopping;
    char instance_id[17]; /* random hex: names this process in purge announcements */
    /* The admin listener (--admin): served by the first worker; off when admin_host is NULL. */
    char *admin_host;
    uint16_t admin_port;
    char *admin_token;
};

/** Binds every profile's listener (so a port in use fails before any thread starts), then
 * starts the workers. Takes over the caller's reference to `config`. Returns 0, or -1 after
 * printing why. */
int bff_server_start(bff_server_t *server, bff_config_t *config, unsigned nthreads);
/** Makes `config` (the caller's reference, taken over) the current snapshot and wakes the
 * workers; its generation is set here. */
void bff_server_publish(bff_server_t *server, bff_config_t *config);
/** A new reference to the current snapshot. Any thread. */
bff_config_t *bff_server_acquire_config(bff_server_t *server);
/** Asks workers to stop accepting and drain in-flight requests (bounded by the profiles'
 * drain_timeout), and waits until every worker has drained. Drained workers park rather than
 * exit (see worker.c); the caller is expected to end the process. */
void bff_server_stop(bff_server_t *server);
/** Purges L1 entries of profile `site` on every worker of this process (each applies it on its
 * own loop, at its next turn). `kind` and `what` as bff_cache_purge_l1. Any thread. */
void bff_server_purge_local(bff_server_t *server, size_t site, char kind, const char *what,
                            size_t len);
void bff_server_dispose(bff_server_t *server);

#endif
