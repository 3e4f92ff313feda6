/* The `tracing:` block (tracing_conf.h). */
#include "server/obs/tracing_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

int bff_tracing_conf_parse(const bff_yaml_node_t *node, const char *profile_name, bff_diag_t *diag,
                           bff_tracing_conf_t *out)
{
    memset(out, 0, sizeof(*out));
    if (node == NULL)
        return 0;
    static const char *const keys[] = {
        "otlp_endpoint",  "service_name", "sample_ratio", "batch_size",
        "flush_interval", "max_queue",    "timeout",      NULL};
    if (bff_yaml_check_map(diag, node, "tracing", keys) != 0)
        return -1;
    const char *endpoint = NULL, *service = NULL, *ratio = NULL;
    int64_t batch = 256, queue = 4096;
    out->flush_interval_ms = 1000;
    out->timeout_ms = 2000;
    int ret = bff_yaml_get_str(diag, node, "otlp_endpoint", 1, &endpoint);
    ret |= bff_yaml_get_str(diag, node, "service_name", 0, &service);
    ret |= bff_yaml_get_str(diag, node, "sample_ratio", 0, &ratio);
    ret |= bff_yaml_get_int(diag, node, "batch_size", 0, 1, 10000, &batch);
    ret |= bff_yaml_get_int(diag, node, "max_queue", 0, 1, 1000000, &queue);
    ret |= bff_yaml_get_duration_ms(diag, node, "flush_interval", &out->flush_interval_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "timeout", &out->timeout_ms);
    if (ret != 0)
        return -1;
    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
        bff_yaml_error(diag, bff_yaml_get(node, "otlp_endpoint"),
                       "otlp_endpoint is the collector's OTLP/HTTP URL, e.g. "
                       "http://127.0.0.1:4318/v1/traces");
        return -1;
    }
    double r = 1.0;
    char *end = NULL;
    if (ratio != NULL &&
        ((r = strtod(ratio, &end)), end == ratio || *end != '\0' || !(r >= 0) || r > 1)) {
        bff_yaml_error(diag, bff_yaml_get(node, "sample_ratio"),
                       "sample_ratio is a number from 0 to 1");
        return -1;
    }
    if (out->flush_interval_ms == 0 || out->timeout_ms == 0) {
        bff_yaml_error(diag, node, "flush_interval and timeout must be above 0");
        return -1;
    }
    out->endpoint = bff_strdup(endpoint);
    char name[200];
    snprintf(name, sizeof(name), "bffd-%s", profile_name);
    out->service_name = bff_strdup(service != NULL ? service : name);
    out->sample_per_million = (uint32_t)(r * 1000000.0 + 0.5);
    out->batch_spans = (uint64_t)batch;
    out->max_queue_spans = (uint64_t)queue < (uint64_t)batch ? (uint64_t)batch : (uint64_t)queue;
    return 0;
}

void bff_tracing_conf_dispose(bff_tracing_conf_t *c)
{
    free(c->endpoint);
    free(c->service_name);
    memset(c, 0, sizeof(*c));
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int bff_tracing_conf_same(const bff_tracing_conf_t *a, const bff_tracing_conf_t *b)
{
    return same_str(a->endpoint, b->endpoint) && same_str(a->service_name, b->service_name) &&
           a->sample_per_million == b->sample_per_million && a->batch_spans == b->batch_spans &&
           a->flush_interval_ms == b->flush_interval_ms &&
           a->max_queue_spans == b->max_queue_spans && a->timeout_ms == b->timeout_ms;
}
