/* Builds a position-carrying tree from libyaml events and expands ${VAR:-default}.
 * It knows nothing about profiles or specs; typed getters report errors at node positions. */
#include "compose/file.h"
#include "compose/yaml_tree.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_FILE_SIZE (16 * 1024 * 1024)
/* Nodes that aliases may add to a walk of the tree ("billion laughs" stays out). */
#define MAX_ALIAS_NODES 1000000

struct st_bff_yaml_doc_t {
    char *file;
    bff_yaml_node_t *root;
    void **allocs; /* every allocation of the doc, freed together */
    size_t nallocs, allocs_cap;
    struct {
        char *name;
        bff_yaml_node_t *node;
        int open; /* a collection still being parsed: an alias to it would make a cycle */
    } * anchors;
    size_t nanchors;
    int failed; /* some value could not be expanded */
};

struct parse_ctx {
    bff_yaml_doc_t *doc;
    yaml_parser_t parser;
    bff_diag_t *diag;
    size_t alias_nodes; /* nodes reached again through aliases */
    int failed;         /* the structure is broken: no document */
    int value_failed;   /* a value is: the document still serves to find more problems */
    const char *input;  /* the text, to place libyaml's reader errors, which carry offsets */
    size_t input_len;
};

static void *doc_alloc(bff_yaml_doc_t *doc, size_t size)
{
    if (doc->nallocs == doc->allocs_cap) {
        doc->allocs_cap = doc->allocs_cap ? doc->allocs_cap * 2 : 64;
        doc->allocs = bff_realloc(doc->allocs, doc->allocs_cap * sizeof(void *));
    }
    void *p = bff_calloc(1, size);
    doc->allocs[doc->nallocs++] = p;
    return p;
}

static bff_yaml_node_t *new_node(struct parse_ctx *ctx, bff_yaml_kind_t kind, yaml_mark_t mark)
{
    bff_yaml_node_t *n = doc_alloc(ctx->doc, sizeof(*n));
    n->kind = kind;
    n->file = ctx->doc->file;
    n->line = (unsigned)mark.line + 1;
    n->column = (unsigned)mark.column + 1;
    return n;
}

static void append_child(struct parse_ctx *ctx, bff_yaml_node_t *parent, bff_yaml_node_t *key,
                         bff_yaml_node_t *value)
{
    /* Grow by doubling; the old arrays stay in the arena until the doc is freed (small). */
    size_t n = parent->size;
    if ((n & (n - 1)) == 0) {
        size_t cap = n ? n * 2 : 4;
        bff_yaml_node_t **items = doc_alloc(ctx->doc, cap * sizeof(*items));
        if (n)
            memcpy(items, parent->items, n * sizeof(*items));
        parent->items = items;
        if (parent->kind == BFF_YAML_MAP) {
            bff_yaml_node_t **keys = doc_alloc(ctx->doc, cap * sizeof(*keys));
            if (n)
                memcpy(keys, parent->keys, n * sizeof(*keys));
            parent->keys = keys;
        }
    }
    if (parent->kind == BFF_YAML_MAP)
        parent->keys[n] = key;
    parent->items[n] = value;
    parent->size = n + 1;
}

/* Expands ${VAR} and ${VAR:-default}; "$${" stays a literal "${". */
static char *expand_env(struct parse_ctx *ctx, const char *src, size_t len, bff_yaml_node_t *at,
                        size_t *outlen)
{
    size_t cap = len + 64, n = 0;
    char *out = bff_malloc(cap);
    for (size_t i = 0; i < len;) {
        const char *piece = src + i;
        size_t piecelen = 1;
        if (src[i] == '$' && i + 2 < len && src[i + 1] == '$' && src[i + 2] == '{') {
            piece = "${", piecelen = 2, i += 3;
        } else if (src[i] == '$' && i + 1 < len && src[i + 1] == '{') {
            const char *end = memchr(src + i, '}', len - i);
            if (end == NULL) {
                bff_yaml_error(ctx->diag, at, "unterminated ${ in value");
                ctx->value_failed = 1;
                free(out);
                return NULL;
            }
            const char *name = src + i + 2, *def = NULL;
            size_t namelen = (size_t)(end - name), deflen = 0;
            const char *sep = memchr(name, ':', namelen);
            if (sep != NULL && sep + 1 < end && sep[1] == '-') {
                def = sep + 2, deflen = (size_t)(end - def);
                namelen = (size_t)(sep - name);
            }
            char varname[256];
            if (namelen == 0 || namelen >= sizeof(varname)) {
                bff_yaml_error(ctx->diag, at, "bad environment variable reference");
                ctx->value_failed = 1;
                free(out);
                return NULL;
            }
            memcpy(varname, name, namelen);
            varname[namelen] = '\0';
            const char *val = getenv(varname);
            if (val != NULL && *val != '\0') {
                piece = val, piecelen = strlen(val);
            } else if (def != NULL) {
                piece = def, piecelen = deflen;
            } else {
                bff_yaml_error(ctx->diag, at,
                               "environment variable %s is not set and has no default "
                               "(write ${%s:-default})",
                               varname, varname);
                ctx->value_failed = 1;
                free(out);
                return NULL;
            }
            i = (size_t)(end - src) + 1;
        } else {
            ++i;
        }
        if (n + piecelen + 1 > cap) {
            cap = (n + piecelen + 1) * 2;
            out = bff_realloc(out, cap);
        }
        memcpy(out + n, piece, piecelen);
        n += piecelen;
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

static void remember_anchor(struct parse_ctx *ctx, const yaml_char_t *anchor, bff_yaml_node_t *node)
{
    if (anchor == NULL)
        return;
    bff_yaml_doc_t *doc = ctx->doc;
    doc->anchors = bff_realloc(doc->anchors, (doc->nanchors + 1) * sizeof(*doc->anchors));
    doc->anchors[doc->nanchors].name = bff_strdup((const char *)anchor);
    doc->anchors[doc->nanchors].node = node;
    doc->anchors[doc->nanchors].open = node->kind != BFF_YAML_SCALAR;
    ++doc->nanchors;
}

static void close_anchor(struct parse_ctx *ctx, const bff_yaml_node_t *node)
{
    for (size_t i = ctx->doc->nanchors; i-- > 0;)
        if (ctx->doc->anchors[i].node == node)
            ctx->doc->anchors[i].open = 0;
}

static int find_anchor(struct parse_ctx *ctx, const char *name, bff_yaml_node_t **node)
{
    for (size_t i = ctx->doc->nanchors; i-- > 0;) {
        if (strcmp(ctx->doc->anchors[i].name, name) == 0) {
            *node = ctx->doc->anchors[i].node;
            return ctx->doc->anchors[i].open ? -1 : 0;
        }
    }
    *node = NULL;
    return 0;
}

/* Nodes a walk of `n` visits, aliases counted again each time (stops once past `budget`), and
 * the levels of collections below it. */
static size_t count_nodes(const bff_yaml_node_t *n, size_t budget, unsigned *height)
{
    size_t total = 1;
    *height = 0;
    for (size_t i = 0; i != n->size && total <= budget; ++i) {
        unsigned h;
        total += (n->kind == BFF_YAML_MAP) + count_nodes(n->items[i], budget - total, &h);
        if (h + 1 > *height)
            *height = h + 1;
    }
    return total;
}

/* 1-based line and column of byte `offset` of the input. */
static void place_offset(const struct parse_ctx *ctx, size_t offset, unsigned *line,
                         unsigned *column)
{
    *line = 1, *column = 1;
    for (size_t i = 0; i < offset && i < ctx->input_len; ++i) {
        if (ctx->input[i] == '\n')
            ++*line, *column = 1;
        else if (((unsigned char)ctx->input[i] & 0xc0) != 0x80) /* count characters */
            ++*column;
    }
}

/* A tab in the indentation of line `line` (0-based) of the input. */
static int tab_in_indentation(const struct parse_ctx *ctx, size_t line)
{
    const char *p = ctx->input, *end = ctx->input + ctx->input_len;
    for (; line != 0 && p < end; ++p)
        if (*p == '\n')
            --line;
    for (; p < end && (*p == ' ' || *p == '\t'); ++p)
        if (*p == '\t')
            return 1;
    return 0;
}

static int next_event(struct parse_ctx *ctx, yaml_event_t *ev)
{
    if (yaml_parser_parse(&ctx->parser, ev))
        return 0;
    if (ctx->parser.error == YAML_READER_ERROR) {
        /* Invalid UTF-8 or a control character: libyaml gives a byte offset, not a position. */
        unsigned line, column;
        place_offset(ctx, ctx->parser.problem_offset, &line, &column);
        bff_diag_add(ctx->diag, ctx->doc->file, line, column, "%s (byte 0x%02x)",
                     ctx->parser.problem ? ctx->parser.problem : "unreadable input",
                     ctx->parser.problem_value & 0xff);
        ctx->failed = 1;
        return -1;
    }
    yaml_mark_t m = ctx->parser.problem_mark, c = ctx->parser.context_mark;
    if (tab_in_indentation(ctx, m.line)) {
        bff_diag_add(ctx->diag, ctx->doc->file, (unsigned)m.line + 1, (unsigned)m.column + 1,
                     "tabs are not allowed for indentation (use spaces)");
        ctx->failed = 1;
        return -1;
    }
    /* Name where the unfinished construct began: the problem is often only at the end of input. */
    char started[64] = "";
    if (ctx->parser.context != NULL && (c.line != m.line || c.column != m.column))
        snprintf(started, sizeof(started), " (started at %u:%u)", (unsigned)c.line + 1,
                 (unsigned)c.column + 1);
    bff_diag_add(ctx->diag, ctx->doc->file, (unsigned)m.line + 1, (unsigned)m.column + 1,
                 "%s%s%s%s", ctx->parser.problem ? ctx->parser.problem : "YAML syntax error",
                 ctx->parser.context ? " " : "", ctx->parser.context ? ctx->parser.context : "",
                 started);
    ctx->failed = 1;
    return -1;
}

static bff_yaml_node_t *parse_node(struct parse_ctx *ctx, yaml_event_t *ev, unsigned depth);

static bff_yaml_node_t *parse_scalar(struct parse_ctx *ctx, yaml_event_t *ev)
{
    bff_yaml_node_t *n = new_node(ctx, BFF_YAML_SCALAR, ev->start_mark);
    n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    n->block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
               ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
    size_t len;
    char *s = expand_env(ctx, (const char *)ev->data.scalar.value, ev->data.scalar.length, n, &len);
    if (s == NULL) {
        s = bff_strdup("");
        len = 0;
        n->invalid = 1;
    }
    n->str = doc_alloc(ctx->doc, len + 1);
    memcpy(n->str, s, len + 1);
    n->len = len;
    free(s);
    remember_anchor(ctx, ev->data.scalar.anchor, n);
    return n;
}

static int key_exists(const bff_yaml_node_t *map, const char *key)
{
    for (size_t i = 0; i != map->size; ++i)
        if (strcmp(map->keys[i]->str, key) == 0)
            return 1;
    return 0;
}

static bff_yaml_node_t *parse_collection(struct parse_ctx *ctx, yaml_event_t *start, unsigned depth)
{
    int is_map = start->type == YAML_MAPPING_START_EVENT;
    bff_yaml_node_t *n = new_node(ctx, is_map ? BFF_YAML_MAP : BFF_YAML_SEQ, start->start_mark);
    remember_anchor(
        ctx, is_map ? start->data.mapping_start.anchor : start->data.sequence_start.anchor, n);
    if (depth >= MAX_DEPTH) {
        bff_yaml_error(ctx->diag, n, "nesting deeper than %d levels", MAX_DEPTH);
        ctx->failed = 1;
        return NULL;
    }
    for (;;) {
        yaml_event_t ev;
        if (next_event(ctx, &ev) != 0)
            return NULL;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            close_anchor(ctx, n);
            return n;
        }
        bff_yaml_node_t *key = NULL;
        if (is_map) {
            key = parse_node(ctx, &ev, depth + 1);
            yaml_event_delete(&ev);
            if (key == NULL)
                return NULL;
            if (key->kind != BFF_YAML_SCALAR) {
                bff_yaml_error(ctx->diag, key, "mapping keys must be plain strings");
                ctx->failed = 1;
                return NULL;
            }
            if (key_exists(n, key->str)) {
                bff_yaml_error(ctx->diag, key, "duplicate key '%s'", key->str);
                ctx->failed = 1;
            }
            if (next_event(ctx, &ev) != 0)
                return NULL;
        }
        bff_yaml_node_t *value = parse_node(ctx, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (value == NULL)
            return NULL;
        append_child(ctx, n, key, value);
    }
}

static bff_yaml_node_t *parse_node(struct parse_ctx *ctx, yaml_event_t *ev, unsigned depth)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return parse_scalar(ctx, ev);
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return parse_collection(ctx, ev, depth);
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        unsigned line = (unsigned)ev->start_mark.line + 1;
        unsigned column = (unsigned)ev->start_mark.column + 1;
        bff_yaml_node_t *target;
        if (find_anchor(ctx, name, &target) != 0) {
            bff_diag_add(ctx->diag, ctx->doc->file, line, column,
                         "alias '*%s' is inside the node it names (recursive data is not "
                         "supported)",
                         name);
            ctx->failed = 1;
            return NULL;
        }
        if (target == NULL) {
            bff_diag_add(ctx->diag, ctx->doc->file, line, column, "unknown anchor '%s'", name);
            ctx->failed = 1;
            return NULL;
        }
        unsigned height;
        ctx->alias_nodes += count_nodes(target, MAX_ALIAS_NODES - ctx->alias_nodes, &height);
        if (ctx->alias_nodes > MAX_ALIAS_NODES) {
            bff_diag_add(ctx->diag, ctx->doc->file, line, column,
                         "aliases expand to more than %d nodes", MAX_ALIAS_NODES);
            ctx->failed = 1;
            return NULL;
        }
        if (depth + height > MAX_DEPTH) { /* consumers recurse: the limit holds through aliases */
            bff_diag_add(ctx->diag, ctx->doc->file, line, column,
                         "nesting deeper than %d levels (through alias '*%s')", MAX_DEPTH, name);
            ctx->failed = 1;
            return NULL;
        }
        return target;
    }
    default:
        bff_diag_add(ctx->diag, ctx->doc->file, (unsigned)ev->start_mark.line + 1,
                     (unsigned)ev->start_mark.column + 1, "unexpected YAML event");
        ctx->failed = 1;
        return NULL;
    }
}

static bff_yaml_node_t *parse_document(struct parse_ctx *ctx)
{
    yaml_event_t ev;
    bff_yaml_node_t *root = NULL;
    /* STREAM-START, then DOCUMENT-START or STREAM-END (empty file). */
    if (next_event(ctx, &ev) != 0)
        return NULL;
    yaml_event_delete(&ev);
    if (next_event(ctx, &ev) != 0)
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return new_node(ctx, BFF_YAML_MAP, (yaml_mark_t){0, 0, 0});
    }
    yaml_event_delete(&ev);
    if (next_event(ctx, &ev) != 0)
        return NULL;
    root = parse_node(ctx, &ev, 0);
    yaml_event_delete(&ev);
    if (root == NULL)
        return NULL;
    if (root->kind == BFF_YAML_SCALAR && root->len == 0 && !root->quoted)
        root = new_node(ctx, BFF_YAML_MAP, (yaml_mark_t){0, 0, 0});
    if (next_event(ctx, &ev) != 0) /* DOCUMENT-END */
        return NULL;
    yaml_event_delete(&ev);
    if (next_event(ctx, &ev) != 0)
        return NULL;
    if (ev.type != YAML_STREAM_END_EVENT) {
        bff_diag_add(ctx->diag, ctx->doc->file, (unsigned)ev.start_mark.line + 1,
                     (unsigned)ev.start_mark.column + 1, "only one YAML document per file");
        ctx->failed = 1;
    }
    yaml_event_delete(&ev);
    return root;
}

bff_yaml_doc_t *bff_yaml_load_string(const char *name, const char *buf, size_t len,
                                     bff_diag_t *diag)
{
    struct parse_ctx ctx = {.diag = diag};
    ctx.doc = bff_calloc(1, sizeof(*ctx.doc));
    ctx.doc->file = bff_strdup(name);
    yaml_parser_initialize(&ctx.parser);
    yaml_parser_set_input_string(&ctx.parser, (const unsigned char *)buf, len);
    ctx.input = buf;
    ctx.input_len = len;
    ctx.doc->root = parse_document(&ctx);
    yaml_parser_delete(&ctx.parser);
    if (ctx.failed || ctx.doc->root == NULL) {
        if (!ctx.failed)
            bff_diag_add(diag, name, 0, 0, "could not parse YAML");
        bff_yaml_free(ctx.doc);
        return NULL;
    }
    ctx.doc->failed = ctx.value_failed;
    return ctx.doc;
}

int bff_yaml_doc_failed(const bff_yaml_doc_t *doc)
{
    return doc->failed;
}

bff_yaml_doc_t *bff_yaml_load_file(const char *path, bff_diag_t *diag)
{
    const char *why = NULL;
    FILE *fp = bff_fopen_regular(path, &why);
    if (fp == NULL) {
        bff_diag_add(diag, path, 0, 0, "cannot open: %s", why);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = bff_malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += r;
        if (len == cap) {
            if (cap >= MAX_FILE_SIZE) {
                bff_diag_add(diag, path, 0, 0, "file larger than %d bytes", MAX_FILE_SIZE);
                fclose(fp);
                free(buf);
                return NULL;
            }
            cap *= 2;
            buf = bff_realloc(buf, cap);
        }
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        bff_diag_add(diag, path, 0, 0, "read error");
        free(buf);
        return NULL;
    }
    bff_yaml_doc_t *doc = bff_yaml_load_string(path, buf, len, diag);
    free(buf);
    return doc;
}

bff_yaml_node_t *bff_yaml_root(bff_yaml_doc_t *doc)
{
    return doc->root;
}

void bff_yaml_free(bff_yaml_doc_t *doc)
{
    if (doc == NULL)
        return;
    for (size_t i = 0; i != doc->nallocs; ++i)
        free(doc->allocs[i]);
    for (size_t i = 0; i != doc->nanchors; ++i)
        free(doc->anchors[i].name);
    free(doc->anchors);
    free(doc->allocs);
    free(doc->file);
    free(doc);
}

void bff_yaml_error(bff_diag_t *diag, const bff_yaml_node_t *node, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    bff_diag_add(diag, node ? node->file : NULL, node ? node->line : 0, node ? node->column : 0,
                 "%s", text);
}

bff_yaml_node_t *bff_yaml_get(const bff_yaml_node_t *map, const char *key)
{
    if (map == NULL || map->kind != BFF_YAML_MAP)
        return NULL;
    for (size_t i = 0; i != map->size; ++i)
        if (strcmp(map->keys[i]->str, key) == 0)
            return map->items[i];
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    size_t row[32];
    for (size_t j = 0; j <= lb; ++j)
        row[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

int bff_yaml_check_map(bff_diag_t *diag, const bff_yaml_node_t *node, const char *what,
                       const char *const *allowed)
{
    if (node == NULL || node->kind != BFF_YAML_MAP) {
        bff_yaml_error(diag, node, "%s must be a mapping", what);
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i != node->size; ++i) {
        const char *key = node->keys[i]->str, *hint = NULL;
        int known = 0;
        for (const char *const *a = allowed; *a != NULL; ++a) {
            if (strcmp(*a, key) == 0) {
                known = 1;
                break;
            }
            if (edit_distance(*a, key) <= 2)
                hint = *a;
        }
        if (known)
            continue;
        if (hint)
            bff_yaml_error(diag, node->keys[i], "unknown key '%s' in %s (did you mean '%s'?)", key,
                           what, hint);
        else
            bff_yaml_error(diag, node->keys[i], "unknown key '%s' in %s", key, what);
        ret = -1;
    }
    return ret;
}

static bff_yaml_node_t *get_scalar(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key,
                                   int required, int *err)
{
    *err = 0;
    bff_yaml_node_t *n = bff_yaml_get(map, key);
    if (n == NULL) {
        if (required) {
            bff_yaml_error(diag, map, "missing required key '%s'", key);
            *err = -1;
        }
        return NULL;
    }
    if (n->kind != BFF_YAML_SCALAR) {
        bff_yaml_error(diag, n, "'%s' must be a scalar value", key);
        *err = -1;
        return NULL;
    }
    if (n->invalid) { /* reported where its ${VAR} failed */
        *err = -1;
        return NULL;
    }
    return n;
}

int bff_parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int bff_yaml_get_str(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, int required,
                     const char **out)
{
    int err;
    bff_yaml_node_t *n = get_scalar(diag, map, key, required, &err);
    if (n != NULL)
        *out = n->str;
    return err;
}

int bff_yaml_get_int(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, int required,
                     int64_t min, int64_t max, int64_t *out)
{
    int err;
    bff_yaml_node_t *n = get_scalar(diag, map, key, required, &err);
    if (n == NULL)
        return err;
    int64_t v;
    if (bff_parse_int(n->str, &v) != 0) {
        bff_yaml_error(diag, n, "'%s' must be an integer, not '%s'", key, n->str);
        return -1;
    }
    if (v < min || v > max) {
        bff_yaml_error(diag, n, "'%s' must be between %lld and %lld", key, (long long)min,
                       (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int bff_yaml_get_bool(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, int *out)
{
    int err;
    bff_yaml_node_t *n = get_scalar(diag, map, key, 0, &err);
    if (n == NULL)
        return err;
    /* YAML 1.2's core schema spells booleans true, True, TRUE (and false alike); YAML 1.1's
     * yes/no/on/off are taken too, in any case. */
    if (strcasecmp(n->str, "true") == 0 || strcasecmp(n->str, "yes") == 0 ||
        strcasecmp(n->str, "on") == 0) {
        *out = 1;
    } else if (strcasecmp(n->str, "false") == 0 || strcasecmp(n->str, "no") == 0 ||
               strcasecmp(n->str, "off") == 0) {
        *out = 0;
    } else {
        bff_yaml_error(diag, n, "'%s' must be true or false, not '%s'", key, n->str);
        return -1;
    }
    return 0;
}

/* Parses "<number><unit>" where the unit is looked up in `units`. */
static int parse_with_units(const char *s, const char *const *names, const uint64_t *mults,
                            uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    for (size_t i = 0; names[i] != NULL; ++i) {
        if (strcmp(end, names[i]) == 0) {
            if (mults[i] != 0 && v > UINT64_MAX / mults[i])
                return -1;
            *out = (uint64_t)v * mults[i];
            return 0;
        }
    }
    return -1;
}

int bff_parse_duration_ms(const char *s, uint64_t *out)
{
    static const char *const names[] = {"", "ms", "s", "m", "h", NULL};
    static const uint64_t mults[] = {1, 1, 1000, 60000, 3600000};
    return parse_with_units(s, names, mults, out);
}

int bff_parse_size(const char *s, uint64_t *out)
{
    static const char *const names[] = {"",  "B",  "k",   "K",  "KB",  "KiB", "m",
                                        "M", "MB", "MiB", "GB", "GiB", NULL};
    static const uint64_t mults[] = {1,       1,       1024,    1024,    1024,       1024,
                                     1 << 20, 1 << 20, 1 << 20, 1 << 20, 1ull << 30, 1ull << 30};
    return parse_with_units(s, names, mults, out);
}

int bff_yaml_get_duration_ms(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key,
                             uint64_t *out)
{
    int err;
    bff_yaml_node_t *n = get_scalar(diag, map, key, 0, &err);
    if (n == NULL)
        return err;
    if (bff_parse_duration_ms(n->str, out) != 0) {
        bff_yaml_error(diag, n, "'%s' must be a duration like 250ms, 2s or 1m, not '%s'", key,
                       n->str);
        return -1;
    }
    return 0;
}

int bff_yaml_get_size(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, uint64_t *out)
{
    int err;
    bff_yaml_node_t *n = get_scalar(diag, map, key, 0, &err);
    if (n == NULL)
        return err;
    if (bff_parse_size(n->str, out) != 0) {
        bff_yaml_error(diag, n, "'%s' must be a size like 64KiB or 1MiB, not '%s'", key, n->str);
        return -1;
    }
    return 0;
}
