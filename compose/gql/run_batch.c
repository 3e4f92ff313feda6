/* Batching a resolver's calls across parents (the DataLoader idea, decided at load time by
 * `batch.items: parent.KEY` and `match`): while a planning pass walks the selection, each
 * parent's call waits here instead of going out; when the pass ends, the calls of one resolver
 * with equal arguments go out as one executor run per `batch.max` keys, and each call takes the
 * element of the answer whose `match.key` equals its own key. The walk is unchanged: to it a
 * batched call is a call like any other, pending until its batch lands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/errors.h"
#include "compose/gql/run_internal.h"
#include "compose/mem.h"

struct st_gql_batch_t {
    gql_batch_t *next;
    bff_gql_run_t *run;
    const bff_gql_resolver_t *res;
    bff_exec_t *exec;
    gql_call_t **calls;
    size_t ncalls;
};

/* The raw JSON of member `name` of the object at `tok`, or NULL. */
static const char *member_raw(const bff_jdoc_t *d, uint32_t tok, const char *name, size_t *len)
{
    uint32_t v = tok != BFF_JDOC_NONE && d->toks[tok].type == BFF_J_OBJECT
                     ? bff_jdoc_obj_get(d, tok, name, strlen(name))
                     : BFF_JDOC_NONE;
    return v == BFF_JDOC_NONE ? NULL : bff_jdoc_raw(d, v, len);
}

static void wait_push(bff_gql_run_t *run, gql_call_t *c)
{
    if (run->nbatch_wait == run->batch_wait_cap) {
        run->batch_wait_cap = run->batch_wait_cap ? run->batch_wait_cap * 2 : 16;
        run->batch_wait =
            bff_realloc(run->batch_wait, run->batch_wait_cap * sizeof(*run->batch_wait));
    }
    run->batch_wait[run->nbatch_wait++] = c;
}

void bff_gql_batch_wait(bff_gql_run_t *run, gql_call_t *c)
{
    /* The key is {"args":..,"parent":{"KEY":..},..}: find both parts in it once. */
    bff_jdoc_t d = {0};
    if (bff_jdoc_scan(&d, c->key, c->keylen, 0, BFF_JDOC_MAX_DEPTH, NULL, NULL) == 0) {
        c->args = member_raw(&d, 0, "args", &c->args_len);
        uint32_t parent = bff_jdoc_obj_get(&d, 0, "parent", 6);
        c->item = member_raw(&d, parent, c->res->batch_key, &c->item_len);
    }
    bff_jdoc_dispose(&d);
    if (c->item == NULL || c->item_len == 0 ||
        (c->item_len == 4 && memcmp(c->item, "null", 4) == 0) || c->item[0] == '{' ||
        c->item[0] == '[') {
        c->state = GQL_CALL_DONE; /* no key, nothing to ask for: null */
        c->counted = 0;
        return;
    }
    c->state = GQL_CALL_QUEUED;
    wait_push(run, c);
}

/* A key and an element's member are equal as text: "42" matches 42, since services disagree
 * on whether an id is a number. */
static int same_key(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen >= 2 && a[0] == '"')
        ++a, alen -= 2;
    if (blen >= 2 && b[0] == '"')
        ++b, blen -= 2;
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Each call of the batch takes its element of the answer (shaped by `value`), or null. */
static void hand_out(gql_batch_t *b, bff_exec_t *exec)
{
    const bff_gql_resolver_t *res = b->res;
    bff_shape_env_t env = bff_exec_env(exec);
    const bff_jdoc_t *doc = env.source_docs[0];
    uint32_t list = BFF_JDOC_NONE;
    if (doc != NULL && bff_jpath_eval(&res->match_list, 0, doc, env.source_roots[0], &list, 1) != 1)
        list = BFF_JDOC_NONE;
    if (list != BFF_JDOC_NONE && doc->toks[list].type != BFF_J_ARRAY)
        list = BFF_JDOC_NONE;
    for (size_t i = 0; i != b->ncalls; ++i) {
        gql_call_t *c = b->calls[i];
        uint32_t found = BFF_JDOC_NONE;
        for (uint32_t n = 0, e = list + 1; list != BFF_JDOC_NONE && n != doc->toks[list].size;
             ++n, e = doc->toks[e].next) {
            size_t len;
            const char *k = member_raw(doc, e, res->match_key, &len);
            if (k != NULL && same_key(k, len, c->item, c->item_len)) {
                found = e;
                break;
            }
        }
        if (found == BFF_JDOC_NONE)
            continue; /* not in the answer: null, as a 404 would be */
        if (res->value == NULL) {
            size_t len;
            const char *raw = bff_jdoc_raw(doc, found, &len);
            bff_gql_call_set_value(c, raw, len);
            continue;
        }
        const bff_jdoc_t *docs[1] = {doc};
        uint32_t roots[1] = {found};
        bff_shape_env_t one = env;
        one.source_docs = docs;
        one.source_roots = roots;
        bff_jwrite_t w;
        bff_jwrite_init(&w, 512, (size_t)64 << 20);
        bff_shape_eval(res->value, &one, &w);
        if (bff_jwrite_done(&w) == 0)
            bff_gql_call_set_value(c, w.buf, w.len);
        bff_jwrite_dispose(&w);
    }
}

static void unlink_batch(bff_gql_run_t *run, gql_batch_t *b)
{
    for (gql_batch_t **p = &run->batches; *p != NULL; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            return;
        }
}

static void on_batch_done(void *data, bff_exec_t *exec)
{
    gql_batch_t *b = data;
    bff_gql_run_t *run = b->run;
    const char *err = NULL;
    long status = 0;
    char detail[200] = "";
    int settled = bff_gql_exec_settle(run, b->res, (unsigned)b->ncalls, exec, &err, &status, detail,
                                      sizeof(detail));
    if (settled == 0)
        hand_out(b, exec);
    for (size_t i = 0; i != b->ncalls; ++i) {
        gql_call_t *c = b->calls[i];
        c->upstream = b->res->plan.sources[0].upstream;
        c->status = status;
        if (settled < 0)
            bff_gql_call_fail(run, c, err, detail);
        c->state = GQL_CALL_DONE;
    }
    unlink_batch(run, b);
    b->exec = NULL;
    bff_exec_destroy(exec);
    free(b->calls);
    free(b);
    --run->running;
    run->dirty = 1;
    bff_gql_run_settle(run);
}

/* One executor run for the batch: its request doc gives `parent.KEY` as the list of keys, so
 * the source's own `batch` renders them into one call. */
static void launch(bff_gql_run_t *run, gql_batch_t *b)
{
    const bff_gql_resolver_t *res = b->res;
    if (run->made >= run->conf.graph->max_calls) {
        for (size_t i = 0; i != b->ncalls; ++i)
            bff_gql_call_fail(run, b->calls[i], bff_gql_err_call_limit,
                              "the operation needs more upstream calls than this endpoint allows");
        free(b->calls);
        free(b);
        run->dirty = 1; /* settled at once: the walk must see it */
        return;
    }
    ++run->made;
    bff_jwrite_t doc;
    bff_jwrite_init(&doc, 256, (size_t)16 << 20);
    bff_jwrite_open(&doc, '{');
    bff_jwrite_key(&doc, "args", 4);
    bff_jwrite_raw(&doc, b->calls[0]->args, b->calls[0]->args_len);
    bff_jwrite_key(&doc, "parent", 6);
    bff_jwrite_open(&doc, '{');
    bff_jwrite_key(&doc, res->batch_key, strlen(res->batch_key));
    bff_jwrite_open(&doc, '[');
    for (size_t i = 0; i != b->ncalls; ++i)
        bff_jwrite_raw(&doc, b->calls[i]->item, b->calls[i]->item_len);
    bff_jwrite_close(&doc, ']');
    bff_jwrite_close(&doc, '}');
    bff_jwrite_key(&doc, "header", 6);
    bff_jwrite_raw(&doc, run->headers, run->headers_len);
    if (run->auth != NULL) {
        bff_jwrite_key(&doc, "auth", 4);
        bff_jwrite_raw(&doc, run->auth, run->auth_len);
    }
    bff_jwrite_close(&doc, '}');
    bff_exec_conf_t conf = {.plan = &res->plan,
                            .request_doc = doc.buf,
                            .request_doc_len = doc.len,
                            .headers = (const char *const *)run->call_headers,
                            .nheaders = run->conf.ncall_headers,
                            .ops = run->conf.ops,
                            .host = run->conf.host,
                            .on_done = on_batch_done,
                            .data = b};
    b->exec = bff_jwrite_done(&doc) == 0 ? bff_exec_create(&conf) : NULL;
    bff_jwrite_dispose(&doc);
    for (size_t i = 0; i != b->ncalls; ++i)
        b->calls[i]->state = GQL_CALL_RUNNING;
    if (b->exec == NULL) { /* only keys past the size limit get here */
        for (size_t i = 0; i != b->ncalls; ++i)
            bff_gql_call_fail(run, b->calls[i], bff_err_bad_request, "the call could not be built");
        free(b->calls);
        free(b);
        run->dirty = 1;
        return;
    }
    b->next = run->batches;
    run->batches = b;
    ++run->running;
    bff_exec_start(b->exec); /* may complete at once (breaker open, no time left) */
}

int bff_gql_batch_flush(bff_gql_run_t *run)
{
    size_t n = run->nbatch_wait;
    if (n == 0)
        return 0;
    gql_call_t **wait = run->batch_wait;
    run->batch_wait = NULL;
    run->nbatch_wait = run->batch_wait_cap = 0;
    for (size_t i = 0; i != n; ++i) {
        if (wait[i] == NULL)
            continue;
        if (run->running >= run->conf.graph->concurrency) {
            /* no free slot: the rest wait for a later pass (a call landing makes one) */
            for (size_t j = i; j != n; ++j)
                if (wait[j] != NULL)
                    wait_push(run, wait[j]);
            break;
        }
        const gql_call_t *first = wait[i];
        unsigned max = first->res->plan.sources[0].max_items;
        gql_batch_t *b = bff_calloc(1, sizeof(*b));
        b->run = run;
        b->res = first->res;
        b->calls = bff_calloc(max ? max : 1, sizeof(*b->calls));
        for (size_t j = i; j != n && b->ncalls != (max ? max : 1); ++j) {
            gql_call_t *c = wait[j];
            if (c != NULL && c->res == first->res && c->args_len == first->args_len &&
                memcmp(c->args, first->args, c->args_len) == 0) {
                b->calls[b->ncalls++] = c;
                wait[j] = NULL;
            }
        }
        launch(run, b);
    }
    free(wait);
    return 1;
}

void bff_gql_batch_expire(bff_gql_run_t *run)
{
    for (gql_batch_t *b = run->batches, *next; b != NULL; b = next) {
        next = b->next; /* the expiry below may complete b, which frees it */
        bff_exec_expire(b->exec, "the operation's deadline passed");
    }
}

void bff_gql_batch_destroy_all(bff_gql_run_t *run)
{
    for (gql_batch_t *b = run->batches, *next; b != NULL; b = next) {
        next = b->next;
        bff_exec_destroy(b->exec);
        free(b->calls);
        free(b);
    }
    run->batches = NULL;
}
