/* Building a schema from SDL documents (schema.h): the definitions collected and their
 * extensions attached, hidden names applied, root types and meta fields resolved, the final
 * sorted arrays made; members are built by schema_members.c and checked by schema_sdl.c and
 * schema_check.c, every problem reported in source order. Also the lookups the validator and
 * the executor use. */
#include "compose/gql/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/schema_internal.h"
#include "compose/mem.h"

static const bff_gql_loc_t no_loc = {0, 0};

void bff_gql_sb_error(sb_t *b, unsigned src, bff_gql_loc_t loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = bff_malloc((size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    if (b->nerrors == b->errors_cap) {
        b->errors_cap = b->errors_cap ? b->errors_cap * 2 : 16;
        b->errors = bff_realloc(b->errors, b->errors_cap * sizeof(*b->errors));
    }
    sb_error_t *e = b->errors + b->nerrors;
    e->src = src;
    e->line = loc.line;
    e->column = loc.column;
    e->seq = b->nerrors++;
    e->msg = msg;
}

char *bff_gql_sb_strdup(sb_t *b, const char *s)
{
    return s != NULL ? bff_gql_arena_strndup(&b->schema->arena, s, strlen(s)) : NULL;
}

const bff_gql_sdl_t *bff_gql_sb_sdl_of(const sb_t *b, unsigned src)
{
    return src == b->builtin_src ? b->builtin_sdl : b->sources[src].sdl;
}

static int is_reserved(const char *name)
{
    return name[0] == '_' && name[1] == '_';
}

void bff_gql_sb_check_name(sb_t *b, unsigned src, const char *name, bff_gql_loc_t loc)
{
    if (src != b->builtin_src && is_reserved(name))
        bff_gql_sb_error(b, src, loc,
                         "Name \"%s\" must not begin with \"__\", which is reserved by GraphQL "
                         "introspection.",
                         name);
}

static const char *kind_word(bff_gql_type_kind_t kind)
{
    static const char *const words[] = {
        [BFF_GQL_SCALAR] = "scalar",       [BFF_GQL_OBJECT_TYPE] = "object",
        [BFF_GQL_INTERFACE] = "interface", [BFF_GQL_UNION] = "union",
        [BFF_GQL_ENUM_TYPE] = "enum",      [BFF_GQL_INPUT_OBJECT] = "input object",
    };
    return words[kind];
}

/* ---- lookups during the build ---- */

static int by_name_cmp(const void *a, const void *b)
{
    const sb_type_t *x = *(sb_type_t *const *)a, *y = *(sb_type_t *const *)b;
    int c = strcmp(x->type->name, y->type->name);
    return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

sb_type_t *bff_gql_sb_lookup(const sb_t *b, const char *name)
{
    size_t lo = 0, hi = b->by_name != NULL ? b->ntypes : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, b->by_name[mid]->type->name);
        if (c == 0)
            return b->by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const sb_directive_t *bff_gql_sb_lookup_directive(const sb_t *b, const char *name)
{
    for (size_t i = 0; i != b->ndirs; ++i)
        if (!b->dirs[i].duplicate && strcmp(b->dirs[i].info->name, name) == 0)
            return b->dirs + i;
    return NULL;
}

const char **bff_gql_sb_type_names(const sb_t *b, size_t *n)
{
    const char **names = bff_malloc((b->ntypes ? b->ntypes : 1) * sizeof(*names));
    for (size_t i = 0; i != b->ntypes; ++i)
        names[i] = b->by_name[i]->type->name;
    *n = b->ntypes;
    return names;
}

/* ---- type definitions and extensions ---- */

static void add_part(sb_t *b, sb_type_t *st, const bff_gql_type_def_t *def, unsigned src)
{
    GROW(&b->scratch, st->parts, st->nparts, st->cap);
    st->parts[st->nparts].def = def;
    st->parts[st->nparts++].src = src;
}

/* Every type definition, the built-ins first so that a user's type of the same name is the
 * duplicate; later definitions of a name are reported and left out. */
static void collect_types(sb_t *b)
{
    sb_type_t **all = NULL;
    size_t n = 0, cap = 0;
    for (unsigned k = 0; k <= b->nsources; ++k) {
        unsigned src = k == 0 ? b->builtin_src : k - 1;
        const bff_gql_sdl_t *sdl = bff_gql_sb_sdl_of(b, src);
        for (size_t i = 0; sdl != NULL && i != sdl->ntypes; ++i) {
            const bff_gql_type_def_t *def = sdl->types + i;
            if (def->is_extension)
                continue;
            bff_gql_sb_check_name(b, src, def->name, def->loc);
            sb_type_t *st = bff_gql_arena_alloc(&b->scratch, sizeof(*st));
            bff_gql_type_t *t = bff_gql_arena_alloc(&b->schema->arena, sizeof(*t));
            st->type = t;
            st->order = (unsigned)n;
            st->cycle_depth = -1;
            t->kind = def->kind;
            t->name = bff_gql_sb_strdup(b, def->name);
            t->description = bff_gql_sb_strdup(b, def->description);
            t->is_builtin = src == b->builtin_src;
            t->file = b->files[src];
            t->line = def->loc.line;
            t->column = def->loc.column;
            add_part(b, st, def, src);
            GROW(&b->scratch, all, n, cap);
            all[n++] = st;
        }
    }
    sb_type_t **sorted = bff_gql_arena_alloc(&b->scratch, (n ? n : 1) * sizeof(*sorted));
    memcpy(sorted, all, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), by_name_cmp);
    /* Keep the first of each name; report the others where they are. */
    b->by_name = bff_gql_arena_alloc(&b->scratch, (n ? n : 1) * sizeof(*b->by_name));
    b->types = bff_gql_arena_alloc(&b->scratch, (n ? n : 1) * sizeof(*b->types));
    size_t kept = 0;
    for (size_t i = 0; i != n; ++i) {
        if (kept != 0 && strcmp(b->by_name[kept - 1]->type->name, sorted[i]->type->name) == 0) {
            const sb_type_t *first = b->by_name[kept - 1];
            const sb_part_t *p = sorted[i]->parts;
            if (first->type->is_builtin)
                bff_gql_sb_error(
                    b, p->src, p->def->loc,
                    "Type \"%s\" already exists in the schema. It cannot also be defined "
                    "in this type definition.",
                    p->def->name);
            else
                bff_gql_sb_error(b, p->src, p->def->loc, "There can be only one type named \"%s\".",
                                 p->def->name);
            sorted[i]->order = (unsigned)-1; /* dropped */
            continue;
        }
        b->by_name[kept++] = sorted[i];
    }
    for (size_t i = 0; i != n; ++i)
        if (all[i]->order != (unsigned)-1)
            b->types[b->ntypes++] = all[i];
    for (size_t i = 0; i != b->ntypes; ++i)
        b->types[i]->order = (unsigned)i;
}

static void attach_extensions(sb_t *b)
{
    for (unsigned src = 0; src != b->nsources; ++src) {
        const bff_gql_sdl_t *sdl = b->sources[src].sdl;
        for (size_t i = 0; sdl != NULL && i != sdl->ntypes; ++i) {
            const bff_gql_type_def_t *def = sdl->types + i;
            if (!def->is_extension)
                continue;
            sb_type_t *st = bff_gql_sb_lookup(b, def->name);
            if (st == NULL) {
                size_t nnames;
                const char **names = bff_gql_sb_type_names(b, &nnames);
                char hint[512];
                bff_gql_sb_error(
                    b, src, def->loc, "Cannot extend type \"%s\" because it is not defined.%s",
                    def->name,
                    bff_gql_sb_did_you_mean(hint, sizeof(hint), NULL, def->name, names, nnames));
                free(names);
            } else if (st->type->is_builtin) {
                bff_gql_sb_error(b, src, def->loc, "Cannot extend built-in type \"%s\".",
                                 def->name);
            } else if (st->type->kind != def->kind) {
                bff_gql_sb_error(b, src, def->loc, "Cannot extend non-%s type \"%s\".",
                                 kind_word(def->kind), def->name);
            } else {
                add_part(b, st, def, src);
            }
        }
    }
}

/* ---- hidden names ---- */

static void apply_hidden(sb_t *b, const char *const *hidden)
{
    size_t n = 0;
    while (hidden != NULL && hidden[n] != NULL)
        ++n;
    b->hidden_fields = bff_gql_arena_alloc(&b->scratch, (n ? n : 1) * sizeof(*b->hidden_fields));
    for (size_t i = 0; i != n; ++i) {
        const char *h = hidden[i], *dot = strchr(h, '.');
        if (*h == '\0' || dot == h || (dot != NULL && (dot[1] == '\0' || strchr(dot + 1, '.')))) {
            bff_gql_sb_error(b, SB_NO_SRC, no_loc,
                             "Cannot hide \"%s\": expected Type or Type.field.", h);
            continue;
        }
        char *type_name = bff_strndup(h, dot != NULL ? (size_t)(dot - h) : strlen(h));
        sb_type_t *st = bff_gql_sb_lookup(b, type_name);
        if (st == NULL) {
            size_t nnames;
            const char **names = bff_gql_sb_type_names(b, &nnames);
            char hint[512];
            bff_gql_sb_error(
                b, SB_NO_SRC, no_loc, "Cannot hide \"%s\": there is no type %s.%s", h, type_name,
                bff_gql_sb_did_you_mean(hint, sizeof(hint), NULL, type_name, names, nnames));
            free(names);
            free(type_name);
        } else if (st->type->is_builtin) {
            bff_gql_sb_error(b, SB_NO_SRC, no_loc, "Cannot hide \"%s\": %s is a built-in type.", h,
                             type_name);
            free(type_name);
        } else if (dot == NULL) {
            st->hidden = h;
            free(type_name);
        } else if (st->type->kind != BFF_GQL_OBJECT_TYPE && st->type->kind != BFF_GQL_INTERFACE &&
                   st->type->kind != BFF_GQL_INPUT_OBJECT) {
            bff_gql_sb_error(b, SB_NO_SRC, no_loc, "Cannot hide \"%s\": %s %s has no fields.", h,
                             kind_word(st->type->kind), type_name);
            free(type_name);
        } else {
            sb_hidden_field_t *hf = b->hidden_fields + b->nhidden_fields++;
            hf->type = type_name;
            hf->field = bff_strdup(dot + 1);
            hf->text = h;
        }
    }
}

int bff_gql_sb_is_hidden_field(sb_t *b, const char *type, const char *field)
{
    int found = 0;
    for (size_t i = 0; i != b->nhidden_fields; ++i)
        if (strcmp(b->hidden_fields[i].type, type) == 0 &&
            strcmp(b->hidden_fields[i].field, field) == 0)
            found = b->hidden_fields[i].used = 1;
    return found;
}

static void check_hidden_fields_used(sb_t *b)
{
    for (size_t i = 0; i != b->nhidden_fields; ++i) {
        const sb_hidden_field_t *hf = b->hidden_fields + i;
        const sb_type_t *st = bff_gql_sb_lookup(b, hf->type);
        if (!hf->used && st != NULL && st->hidden == NULL)
            bff_gql_sb_error(b, SB_NO_SRC, no_loc, "Cannot hide \"%s\": type %s has no field %s.",
                             hf->text, hf->type, hf->field);
    }
}

/* ---- root types ---- */

typedef struct {
    const char *name;
    bff_gql_loc_t loc;
    unsigned src;
} root_ref_t;

static void resolve_roots(sb_t *b)
{
    static const char *const ops[] = {"query", "mutation", "subscription"};
    static const char *const defaults[] = {"Query", "Mutation", "Subscription"};
    root_ref_t roots[3];
    memset(roots, 0, sizeof(roots));
    const bff_gql_schema_def_t *definition = NULL;
    unsigned definition_src = 0;
    for (unsigned src = 0; src != b->nsources; ++src) {
        const bff_gql_sdl_t *sdl = b->sources[src].sdl;
        for (size_t i = 0; sdl != NULL && i != sdl->nschemas; ++i) {
            const bff_gql_schema_def_t *sd = sdl->schemas + i;
            if (!sd->is_extension) {
                if (definition != NULL) {
                    bff_gql_sb_error(b, src, sd->loc, "Must provide only one schema definition.");
                } else {
                    definition = sd;
                    definition_src = src;
                    b->schema->description = bff_gql_sb_strdup(b, sd->description);
                }
            }
            const bff_gql_name_t *given[3] = {&sd->query, &sd->mutation, &sd->subscription};
            for (int op = 0; op != 3; ++op) {
                if (given[op]->name == NULL)
                    continue;
                if (roots[op].name != NULL) {
                    bff_gql_sb_error(b, src, given[op]->loc,
                                     "There can be only one %s type in schema.", ops[op]);
                    continue;
                }
                roots[op].name = given[op]->name;
                roots[op].loc = given[op]->loc;
                roots[op].src = src;
            }
        }
    }
    const bff_gql_type_t *resolved[3] = {NULL, NULL, NULL};
    for (int op = 0; op != 3; ++op) {
        const sb_type_t *st = NULL;
        if (roots[op].name != NULL) {
            st = bff_gql_sb_lookup(b, roots[op].name);
        } else if (definition == NULL && (st = bff_gql_sb_lookup(b, defaults[op])) != NULL) {
            roots[op].loc = st->parts[0].def->loc;
            roots[op].src = st->parts[0].src;
        }
        if (st == NULL)
            continue; /* an unknown name given: bff_gql_sb_check_sdl */
        if (st->hidden != NULL) {
            bff_gql_sb_error(b, SB_NO_SRC, no_loc, "Cannot hide \"%s\": %s is the %s root type.",
                             st->hidden, st->type->name, ops[op]);
            continue;
        }
        if (st->type->kind != BFF_GQL_OBJECT_TYPE) {
            bff_gql_sb_error(b, roots[op].src, roots[op].loc,
                             "%c%s root type must be Object type%s, it cannot be %s.",
                             ops[op][0] - 'a' + 'A', ops[op] + 1, op == 0 ? "" : " if provided",
                             st->type->name);
            continue;
        }
        resolved[op] = st->type;
    }
    /* One report per type used for several operations, where it is used the second time. */
    for (int op = 0; op != 3; ++op) {
        int uses = 0, second = -1, first = 1;
        for (int k = 0; k != 3; ++k)
            if (resolved[op] != NULL && resolved[k] == resolved[op]) {
                first &= k >= op;
                if (++uses == 2)
                    second = k;
            }
        if (uses < 2 || !first)
            continue;
        char list[64];
        size_t len = 0;
        for (int k = 0, n = 0; k != 3; ++k)
            if (resolved[k] == resolved[op])
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
                                        n++ == 0    ? ""
                                        : uses == 2 ? " and "
                                        : n == uses ? ", and "
                                                    : ", ",
                                        ops[k]);
        bff_gql_sb_error(b, roots[second].src, roots[second].loc,
                         "All root types must be different, \"%s\" type is used as %s root types.",
                         resolved[op]->name, list);
    }
    /* No query type named at all (an unknown, hidden or non-object one is reported above). */
    if (roots[0].name == NULL && (definition != NULL || bff_gql_sb_lookup(b, "Query") == NULL))
        bff_gql_sb_error(b,
                         definition != NULL ? definition_src
                         : b->nsources != 0 ? 0
                                            : SB_NO_SRC,
                         definition != NULL ? definition->loc : no_loc,
                         "Query root type must be provided.");
    b->schema->query = resolved[0];
    b->schema->mutation = resolved[1];
    b->schema->subscription = resolved[2];
}

/* ---- meta fields, possible types, the final arrays ---- */

static bff_gql_field_t *meta_field(sb_t *b, const char *name, const char *type,
                                   const char *description)
{
    bff_gql_field_t *f = bff_gql_arena_alloc(&b->schema->arena, sizeof(*f));
    f->name = name;
    f->description = description;
    f->type =
        bff_gql_sb_resolve_ref(b, bff_gql_sb_type_ref(&b->scratch, type), b->builtin_src, name);
    f->args = bff_gql_arena_alloc(&b->schema->arena, sizeof(*f->args));
    return f;
}

static int type_name_cmp(const void *a, const void *b)
{
    return strcmp((*(const bff_gql_type_t *const *)a)->name,
                  (*(const bff_gql_type_t *const *)b)->name);
}

static int directive_name_cmp(const void *a, const void *b)
{
    return strcmp((*(const bff_gql_directive_info_t *const *)a)->name,
                  (*(const bff_gql_directive_info_t *const *)b)->name);
}

static void finish(sb_t *b)
{
    bff_gql_schema_t *s = b->schema;
    bff_gql_arena_t *a = &s->arena;
    s->typename_field =
        meta_field(b, "__typename", "String!", "The name of the current Object type at runtime.");
    s->schema_field =
        meta_field(b, "__schema", "__Schema!", "Access the current type schema of this server.");
    bff_gql_field_t *tf =
        meta_field(b, "__type", "__Type", "Request the type information of a single type.");
    tf->args->name = "name";
    tf->args->type = bff_gql_sb_resolve_ref(b, bff_gql_sb_type_ref(&b->scratch, "String!"),
                                            b->builtin_src, "name");
    tf->nargs = 1;
    s->type_field = tf;

    const bff_gql_type_t **types =
        bff_gql_arena_alloc(a, (b->ntypes ? b->ntypes : 1) * sizeof(*types));
    for (size_t i = 0; i != b->ntypes; ++i)
        if (b->by_name[i]->hidden == NULL)
            types[s->ntypes++] = b->by_name[i]->type;
    s->types = types;

    /* Possible types, by name: the visible objects that list an interface, a union's members. */
    for (size_t i = 0; i != s->ntypes; ++i) {
        bff_gql_type_t *t = (bff_gql_type_t *)types[i];
        if (t->kind == BFF_GQL_INTERFACE) {
            size_t n = 0;
            for (size_t j = 0; j != s->ntypes; ++j)
                for (size_t k = 0;
                     types[j]->kind == BFF_GQL_OBJECT_TYPE && k != types[j]->ninterfaces; ++k)
                    n += types[j]->interfaces[k] == t;
            t->possible_types = bff_gql_arena_alloc(a, (n ? n : 1) * sizeof(*t->possible_types));
            for (size_t j = 0; j != s->ntypes; ++j)
                for (size_t k = 0;
                     types[j]->kind == BFF_GQL_OBJECT_TYPE && k != types[j]->ninterfaces; ++k)
                    if (types[j]->interfaces[k] == t)
                        t->possible_types[t->npossible_types++] = types[j];
        } else if (t->kind == BFF_GQL_UNION) {
            const sb_type_t *st = bff_gql_sb_lookup(b, t->name);
            t->possible_types = bff_gql_arena_alloc(a, (st->nmembers ? st->nmembers : 1) *
                                                           sizeof(*t->possible_types));
            memcpy(t->possible_types, st->members, st->nmembers * sizeof(*st->members));
            t->npossible_types = st->nmembers;
            qsort(t->possible_types, t->npossible_types, sizeof(*t->possible_types), type_name_cmp);
        }
    }

    /* Directives: the built-ins in their order, then the user's by name. */
    const bff_gql_directive_info_t **dirs =
        bff_gql_arena_alloc(a, (b->ndirs ? b->ndirs : 1) * sizeof(*dirs));
    size_t nbuiltin = 0;
    for (size_t i = 0; i != b->ndirs; ++i)
        if (!b->dirs[i].duplicate && b->dirs[i].src == b->builtin_src)
            dirs[s->ndirectives++] = b->dirs[i].info;
    nbuiltin = s->ndirectives;
    for (size_t i = 0; i != b->ndirs; ++i)
        if (!b->dirs[i].duplicate && b->dirs[i].src != b->builtin_src)
            dirs[s->ndirectives++] = b->dirs[i].info;
    qsort(dirs + nbuiltin, s->ndirectives - nbuiltin, sizeof(*dirs), directive_name_cmp);
    s->directives = dirs;
}

/* ---- the build ---- */

static int error_cmp(const void *a, const void *b)
{
    const sb_error_t *x = a, *y = b;
    /* SB_NO_SRC + 1 wraps to 0: problems without a place come first. */
    if (x->src + 1 != y->src + 1)
        return x->src + 1 < y->src + 1 ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

bff_gql_schema_t *bff_gql_schema_build(const bff_gql_schema_source_t *sources, size_t nsources,
                                       const char *const *hidden, bff_diag_t *diag)
{
    sb_t b;
    memset(&b, 0, sizeof(b));
    b.schema = bff_calloc(1, sizeof(*b.schema));
    bff_gql_arena_init(&b.schema->arena);
    bff_gql_arena_init(&b.scratch);
    b.sources = sources;
    b.nsources = nsources;
    b.builtin_src = (unsigned)nsources;
    b.builtin_sdl = bff_gql_sb_builtin_sdl(&b.scratch);
    b.files = bff_gql_arena_alloc(&b.scratch, (nsources + 1) * sizeof(*b.files));
    for (size_t i = 0; i != nsources; ++i)
        b.files[i] = bff_gql_sb_strdup(&b, sources[i].file);

    collect_types(&b);
    attach_extensions(&b);
    apply_hidden(&b, hidden);
    bff_gql_sb_build_types(&b);
    check_hidden_fields_used(&b);
    bff_gql_sb_build_directives(&b);
    resolve_roots(&b);
    finish(&b);
    bff_gql_sb_check_sdl(&b);
    bff_gql_sb_check_types(&b);

    bff_gql_schema_t *schema = b.schema;
    if (b.nerrors != 0) {
        qsort(b.errors, b.nerrors, sizeof(*b.errors), error_cmp);
        for (size_t i = 0; i != b.nerrors; ++i) {
            const sb_error_t *e = b.errors + i;
            bff_diag_add(diag, e->src < nsources ? sources[e->src].file : NULL, e->line, e->column,
                         "%s", e->msg);
        }
        bff_gql_schema_free(schema);
        schema = NULL;
    }
    for (size_t i = 0; i != b.nerrors; ++i)
        free(b.errors[i].msg);
    free(b.errors);
    for (size_t i = 0; i != b.nhidden_fields; ++i) {
        free(b.hidden_fields[i].type);
        free(b.hidden_fields[i].field);
    }
    bff_gql_arena_dispose(&b.scratch);
    return schema;
}

void bff_gql_schema_free(bff_gql_schema_t *schema)
{
    if (schema == NULL)
        return;
    bff_gql_arena_dispose(&schema->arena);
    free(schema);
}

/* ---- lookups ---- */

const bff_gql_type_t *bff_gql_schema_type(const bff_gql_schema_t *schema, const char *name)
{
    size_t lo = 0, hi = schema->ntypes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, schema->types[mid]->name);
        if (c == 0)
            return schema->types[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const bff_gql_field_t *bff_gql_schema_field(const bff_gql_schema_t *schema,
                                            const bff_gql_type_t *type, const char *name)
{
    if (type == NULL)
        return NULL;
    if (name[0] == '_' && name[1] == '_') {
        if (strcmp(name, "__typename") == 0 &&
            (type->kind == BFF_GQL_OBJECT_TYPE || type->kind == BFF_GQL_INTERFACE ||
             type->kind == BFF_GQL_UNION))
            return schema->typename_field;
        if (type == schema->query && strcmp(name, "__schema") == 0)
            return schema->schema_field;
        if (type == schema->query && strcmp(name, "__type") == 0)
            return schema->type_field;
    }
    for (size_t i = 0; i != type->nfields; ++i)
        if (strcmp(type->fields[i].name, name) == 0)
            return type->fields + i;
    return NULL;
}

const bff_gql_directive_info_t *bff_gql_schema_directive(const bff_gql_schema_t *schema,
                                                         const char *name)
{
    for (size_t i = 0; i != schema->ndirectives; ++i)
        if (strcmp(schema->directives[i]->name, name) == 0)
            return schema->directives[i];
    return NULL;
}

int bff_gql_type_is_possible(const bff_gql_type_t *abstract, const bff_gql_type_t *obj)
{
    if (abstract == NULL || obj == NULL)
        return 0;
    if (abstract == obj)
        return 1;
    size_t lo = 0, hi = abstract->npossible_types;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(obj->name, abstract->possible_types[mid]->name);
        if (c == 0)
            return abstract->possible_types[mid] == obj;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

const bff_gql_type_t *bff_gql_unwrap(const bff_gql_wrapped_t *t)
{
    while (t != NULL && t->kind != BFF_GQL_NAMED)
        t = t->of;
    return t != NULL ? t->named : NULL;
}

int bff_gql_type_is_leaf(const bff_gql_type_t *t)
{
    return t != NULL && (t->kind == BFF_GQL_SCALAR || t->kind == BFF_GQL_ENUM_TYPE);
}

int bff_gql_type_is_input(const bff_gql_type_t *t)
{
    return t != NULL && (t->kind == BFF_GQL_SCALAR || t->kind == BFF_GQL_ENUM_TYPE ||
                         t->kind == BFF_GQL_INPUT_OBJECT);
}
