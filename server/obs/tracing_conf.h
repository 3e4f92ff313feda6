/* A profile's `tracing:` block: where its spans go (an OTLP/HTTP collector, JSON encoding) and
 * how many: new traces by a ratio, a client's own sampled flag followed. */
#ifndef BFF_SERVER_OBS_TRACING_CONF_H
#define BFF_SERVER_OBS_TRACING_CONF_H

#include <stdint.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"

typedef struct st_bff_tracing_conf_t {
    char *endpoint;              /* http(s)://.../v1/traces; NULL = tracing off */
    char *service_name;          /* resource service.name */
    uint32_t sample_per_million; /* of new traces */
    uint64_t batch_spans;        /* a batch goes out at this many spans ... */
    uint64_t flush_interval_ms;  /* ... or this long after its first span */
    uint64_t max_queue_spans;    /* waiting while a batch is out; more are dropped (counted) */
    uint64_t timeout_ms;         /* one export */
} bff_tracing_conf_t;

/** Reads `node` (may be NULL: off). Returns 0, or -1 after reporting. */
int bff_tracing_conf_parse(const bff_yaml_node_t *node, const char *profile_name, bff_diag_t *diag,
                           bff_tracing_conf_t *out);
void bff_tracing_conf_dispose(bff_tracing_conf_t *c);
/** 1 when both export to the same place the same way. */
int bff_tracing_conf_same(const bff_tracing_conf_t *a, const bff_tracing_conf_t *b);

#endif
