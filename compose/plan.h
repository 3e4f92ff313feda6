/* A plan: the sources one composition runs and an order that puts every source after the
 * sources its templates read (their dependency DAG). Compiled once at load time for a REST
 * endpoint; GraphQL will compile one per document. exec.c runs plans. */
#ifndef BFF_COMPOSE_PLAN_H
#define BFF_COMPOSE_PLAN_H

#include <stddef.h>

#include "compose/diag.h"
#include "compose/source.h"

#define BFF_PLAN_MAX_SOURCES 64 /* dependency sets are 64-bit masks */

typedef struct st_bff_plan_t {
    bff_source_t *sources; /* sources[i].index == i; deps are bits of this array */
    size_t nsources;
    unsigned *order; /* a topological order: dependencies first, else declaration order */
} bff_plan_t;

/** Computes plan->order from the sources' deps. On a cycle, reports it to diag (positioned at
 * the first source involved) and returns -1. */
int bff_plan_order(bff_plan_t *plan, bff_diag_t *diag);
/** Marks the sources whose `$status`/`$headers` a path reads (wants_meta, wants_headers). */
void bff_plan_note_meta_path(bff_plan_t *plan, const bff_jpath_t *path, int binding);
/** Visits every path of the plan's sources (templates, bodies, items, on_status bodies). */
void bff_plan_foreach_path(bff_plan_t *plan, void (*cb)(void *ctx, bff_jpath_t *path, int binding),
                           void *ctx);
/** Frees the sources and the order; the struct itself is the caller's. */
void bff_plan_dispose(bff_plan_t *plan);

#endif
