/* Orders a plan's sources (Kahn's algorithm over 64-bit dependency masks). */
#include "compose/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bff_plan_order(bff_plan_t *plan, bff_diag_t *diag)
{
    size_t n = plan->nsources, done = 0;
    uint64_t placed = 0;
    plan->order = bff_calloc(n, sizeof(unsigned));
    while (done < n) {
        int progress = 0;
        for (size_t i = 0; i != n; ++i) {
            uint64_t bit = (uint64_t)1 << i;
            if ((placed & bit) || (plan->sources[i].deps & ~placed))
                continue;
            plan->order[done++] = (unsigned)i;
            placed |= bit;
            progress = 1;
        }
        if (!progress)
            break;
    }
    if (done == n)
        return 0;
    /* Names the sources on a cycle, not those merely waiting behind one: a source is on a cycle
     * when it can reach itself through the dependencies of unplaced sources. */
    uint64_t reach[BFF_PLAN_MAX_SOURCES];
    for (size_t i = 0; i != n; ++i)
        reach[i] = plan->sources[i].deps & ~placed;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i != n; ++i) {
            uint64_t r = reach[i];
            for (size_t j = 0; j != n; ++j)
                if (r & ((uint64_t)1 << j))
                    r |= reach[j];
            changed |= r != reach[i];
            reach[i] = r;
        }
    }
    char names[512] = "";
    size_t len = 0;
    const bff_source_t *first = NULL;
    for (size_t i = 0; i != n; ++i) {
        if ((placed & ((uint64_t)1 << i)) || !(reach[i] & ((uint64_t)1 << i)))
            continue;
        if (first == NULL)
            first = plan->sources + i;
        int w = snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "",
                         plan->sources[i].name);
        if (w < 0 || (size_t)w >= sizeof(names) - len)
            break;
        len += (size_t)w;
    }
    bff_diag_add(diag, first->file, first->line, first->column,
                 "sources depend on each other in a cycle: %s", names);
    return -1;
}

void bff_plan_note_meta_path(bff_plan_t *plan, const bff_jpath_t *path, int binding)
{
    if (binding < 0 || (size_t)binding >= plan->nsources || !bff_binding_is_meta(path))
        return;
    plan->sources[binding].wants_meta = 1;
    if (strcmp(path->steps[0].name, "$headers") == 0)
        plan->sources[binding].wants_headers = 1;
}

static void foreach_template(bff_template_t *t, void (*cb)(void *, bff_jpath_t *, int), void *ctx)
{
    for (size_t i = 0; i != t->nparts; ++i)
        if (t->parts[i].literal == NULL)
            cb(ctx, &t->parts[i].ref, t->parts[i].binding);
}

void bff_plan_foreach_path(bff_plan_t *plan, void (*cb)(void *ctx, bff_jpath_t *path, int binding),
                           void *ctx)
{
    for (size_t s = 0; s != plan->nsources; ++s) {
        bff_source_t *src = plan->sources + s;
        foreach_template(&src->path, cb, ctx);
        for (size_t i = 0; i != src->nheaders; ++i)
            foreach_template(&src->headers[i].value, cb, ctx);
        bff_shape_foreach_path(src->body, cb, ctx);
        if (src->mode != BFF_SOURCE_ONCE)
            cb(ctx, &src->items, src->items_binding);
        for (size_t i = 0; i != src->non_status; ++i)
            bff_shape_foreach_path(src->on_status[i].body, cb, ctx);
    }
}

void bff_plan_dispose(bff_plan_t *plan)
{
    for (size_t i = 0; i != plan->nsources; ++i)
        bff_source_dispose(plan->sources + i);
    free(plan->sources);
    free(plan->order);
    plan->sources = NULL;
    plan->order = NULL;
    plan->nsources = 0;
}
