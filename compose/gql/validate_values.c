/* Types and literals for the validator: typeFromAST, printing as graphql-js prints, the type
 * comparators, ValuesOfCorrectType with UniqueInputFieldNames (one walk over a literal, as the
 * visitor runs them together), and getVariableUsages with TypeInfo's view of each position. */
#include <stdlib.h>
#include <string.h>

#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

int vd_is_composite(const bff_gql_type_t *t)
{
    return t != NULL && (t->kind == BFF_GQL_OBJECT_TYPE || t->kind == BFF_GQL_INTERFACE ||
                         t->kind == BFF_GQL_UNION);
}

int vd_is_abstract(const bff_gql_type_t *t)
{
    return t != NULL && (t->kind == BFF_GQL_INTERFACE || t->kind == BFF_GQL_UNION);
}

int vd_is_output(const bff_gql_type_t *t)
{
    return t != NULL && t->kind != BFF_GQL_INPUT_OBJECT;
}

/* ---- written types ---- */

const char *vd_type_ref_name(const bff_gql_type_ref_t *ref)
{
    while (ref != NULL && ref->kind != BFF_GQL_NAMED)
        ref = ref->of;
    return ref != NULL ? ref->name : "";
}

const bff_gql_wrapped_t *vd_type_from_ast(vd_ctx_t *c, const bff_gql_type_ref_t *ref)
{
    /* Wrappers nest as deep as the parser allowed: build from the inside out, no recursion. */
    size_t n = 0;
    const bff_gql_type_ref_t *r = ref;
    while (r != NULL && r->kind != BFF_GQL_NAMED) {
        ++n;
        r = r->of;
    }
    if (r == NULL)
        return NULL;
    const bff_gql_type_t *named = bff_gql_schema_type(c->schema, r->name);
    if (named == NULL)
        return NULL;
    bff_gql_wrapped_t *w = bff_gql_arena_alloc(&c->arena, sizeof(*w));
    w->kind = BFF_GQL_NAMED;
    w->named = named;
    for (size_t level = n; level > 0; --level) {
        r = ref;
        for (size_t k = 1; k < level; ++k)
            r = r->of;
        bff_gql_wrapped_t *outer = bff_gql_arena_alloc(&c->arena, sizeof(*outer));
        outer->kind = r->kind;
        outer->of = w;
        w = outer;
    }
    return w;
}

const bff_gql_wrapped_t *vd_nullable(const bff_gql_wrapped_t *t)
{
    return t != NULL && t->kind == BFF_GQL_NON_NULL ? t->of : t;
}

void vd_print_type(vd_buf_t *b, const bff_gql_wrapped_t *t)
{
    /* '[' on the way in, then the closing ']' and '!' innermost first. */
    vd_buf_t closing = {0};
    const bff_gql_wrapped_t *w = t;
    for (; w != NULL && w->kind != BFF_GQL_NAMED; w = w->of) {
        if (w->kind == BFF_GQL_LIST_OF)
            bff_text_puts(b, "[");
        bff_text_puts(&closing, w->kind == BFF_GQL_LIST_OF ? "]" : "!");
    }
    bff_text_puts(b, w != NULL && w->named != NULL ? w->named->name : "?");
    for (size_t i = closing.len; i > 0; --i)
        bff_text_put(b, closing.buf + i - 1, 1);
    vd_buf_dispose(&closing);
}

void vd_print_type_ref(vd_buf_t *b, const bff_gql_type_ref_t *ref)
{
    size_t depth = 0;
    const bff_gql_type_ref_t *r = ref;
    for (; r != NULL && r->kind != BFF_GQL_NAMED; r = r->of) {
        if (r->kind == BFF_GQL_LIST_OF)
            bff_text_puts(b, "[");
        ++depth;
    }
    bff_text_puts(b, r != NULL ? r->name : "?");
    for (size_t level = depth; level > 0; --level) {
        r = ref;
        for (size_t k = 1; k < level; ++k)
            r = r->of;
        bff_text_puts(b, r->kind == BFF_GQL_LIST_OF ? "]" : "!");
    }
}

/* ---- literals as print() writes them ---- */

/* printString: the C0 controls, '"', '\\', DEL and the C1 controls escaped. */
static void print_string(vd_buf_t *b, const char *s, size_t len)
{
    static const char short_esc[0x20] = {
        ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};
    bff_text_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i != len; ++i) {
        unsigned char ch = (unsigned char)s[i];
        const char *plain = NULL;
        unsigned code = 0;
        if (ch < 0x20) {
            code = ch;
        } else if (ch == 0x7F) {
            code = ch;
        } else if (ch == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9F) {
            code = (unsigned char)s[i + 1];
        } else if (ch == '"') {
            plain = "\\\"";
        } else if (ch == '\\') {
            plain = "\\\\";
        } else {
            continue;
        }
        bff_text_put(b, s + run, i - run);
        if (plain != NULL) {
            bff_text_puts(b, plain);
        } else if (code < 0x20 && short_esc[code] != 0) {
            char esc[2] = {'\\', short_esc[code]};
            bff_text_put(b, esc, 2);
        } else {
            bff_text_printf(b, "\\u%04X", code);
            if (code >= 0x80)
                ++i; /* the C1 control took two bytes */
        }
        run = i + 1;
    }
    bff_text_put(b, s + run, len - run);
    bff_text_put(b, "\"", 1);
}

static void print_value(vd_buf_t *b, const bff_gql_value_t *v, unsigned depth)
{
    if (depth > VD_MAX_NESTING) {
        bff_text_puts(b, "...");
        return;
    }
    switch (v->kind) {
    case BFF_GQL_VARIABLE:
        bff_text_puts(b, "$");
        bff_text_puts(b, v->str);
        break;
    case BFF_GQL_INT:
    case BFF_GQL_FLOAT:
    case BFF_GQL_ENUM:
        bff_text_puts(b, v->str);
        break;
    case BFF_GQL_STRING:
        print_string(b, v->str, v->len);
        break;
    case BFF_GQL_BOOLEAN:
        bff_text_puts(b, v->boolean ? "true" : "false");
        break;
    case BFF_GQL_NULL:
        bff_text_puts(b, "null");
        break;
    case BFF_GQL_LIST:
        bff_text_puts(b, "[");
        for (size_t i = 0; i != v->nitems; ++i) {
            if (i != 0)
                bff_text_puts(b, ", ");
            print_value(b, v->items[i], depth + 1);
        }
        bff_text_puts(b, "]");
        break;
    case BFF_GQL_OBJECT:
        bff_text_puts(b, "{");
        for (size_t i = 0; i != v->nfields; ++i) {
            if (i != 0)
                bff_text_puts(b, ", ");
            bff_text_puts(b, v->fields[i].name);
            bff_text_puts(b, ": ");
            print_value(b, v->fields[i].value, depth + 1);
        }
        bff_text_puts(b, "}");
        break;
    }
}

void vd_print_value(vd_buf_t *b, const bff_gql_value_t *v)
{
    print_value(b, v, 0);
}

/* Object fields by name, then as written (sortValueNode's stable sort; any total order on names
 * pairs the same fields). */
static int field_ptr_cmp(const void *x, const void *y)
{
    const bff_gql_object_field_t *a = *(const bff_gql_object_field_t *const *)x,
                                 *b = *(const bff_gql_object_field_t *const *)y;
    int c = strcmp(a->name, b->name);
    if (c != 0)
        return c;
    return a < b ? -1 : a > b;
}

int vd_same_value(const bff_gql_value_t *a, const bff_gql_value_t *b, unsigned depth)
{
    if (a->kind != b->kind)
        return 0;
    if (depth > VD_MAX_NESTING)
        return 1;
    switch (a->kind) {
    case BFF_GQL_VARIABLE:
    case BFF_GQL_INT:
    case BFF_GQL_FLOAT:
    case BFF_GQL_ENUM:
        return strcmp(a->str, b->str) == 0;
    case BFF_GQL_STRING:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case BFF_GQL_BOOLEAN:
        return !a->boolean == !b->boolean;
    case BFF_GQL_NULL:
        return 1;
    case BFF_GQL_LIST:
        if (a->nitems != b->nitems)
            return 0;
        for (size_t i = 0; i != a->nitems; ++i)
            if (!vd_same_value(a->items[i], b->items[i], depth + 1))
                return 0;
        return 1;
    case BFF_GQL_OBJECT: {
        if (a->nfields != b->nfields)
            return 0;
        if (a->nfields == 0)
            return 1;
        const bff_gql_object_field_t **fa = bff_malloc(2 * a->nfields * sizeof(*fa)),
                                     **fb = fa + a->nfields;
        for (size_t i = 0; i != a->nfields; ++i) {
            fa[i] = a->fields + i;
            fb[i] = b->fields + i;
        }
        qsort(fa, a->nfields, sizeof(*fa), field_ptr_cmp);
        qsort(fb, b->nfields, sizeof(*fb), field_ptr_cmp);
        int same = 1;
        for (size_t i = 0; i != a->nfields && same; ++i)
            same = strcmp(fa[i]->name, fb[i]->name) == 0 &&
                   vd_same_value(fa[i]->value, fb[i]->value, depth + 1);
        free(fa);
        return same;
    }
    }
    return 0;
}

/* ---- type comparators ---- */

int vd_is_sub_type(const bff_gql_type_t *abstract, const bff_gql_type_t *t)
{
    if (abstract == NULL || t == NULL)
        return 0;
    if (t->kind == BFF_GQL_OBJECT_TYPE)
        return abstract != t && bff_gql_type_is_possible(abstract, t);
    if (abstract->kind == BFF_GQL_INTERFACE && t->kind == BFF_GQL_INTERFACE)
        for (size_t i = 0; i != t->ninterfaces; ++i)
            if (t->interfaces[i] == abstract)
                return 1;
    return 0;
}

int vd_types_overlap(const bff_gql_type_t *a, const bff_gql_type_t *b)
{
    if (a == b)
        return 1;
    if (vd_is_abstract(a)) {
        if (vd_is_abstract(b)) {
            for (size_t i = 0; i != a->npossible_types; ++i)
                if (vd_is_sub_type(b, a->possible_types[i]))
                    return 1;
            return 0;
        }
        return vd_is_sub_type(a, b);
    }
    if (vd_is_abstract(b))
        return vd_is_sub_type(b, a);
    return 0;
}

int vd_is_type_sub_type_of(const bff_gql_wrapped_t *sub, const bff_gql_wrapped_t *super)
{
    for (;;) {
        if (sub == NULL || super == NULL)
            return 0;
        if (super->kind == BFF_GQL_NON_NULL) {
            if (sub->kind != BFF_GQL_NON_NULL)
                return 0;
            sub = sub->of;
            super = super->of;
            continue;
        }
        if (sub->kind == BFF_GQL_NON_NULL) {
            sub = sub->of;
            continue;
        }
        if (super->kind == BFF_GQL_LIST_OF) {
            if (sub->kind != BFF_GQL_LIST_OF)
                return 0;
            sub = sub->of;
            super = super->of;
            continue;
        }
        if (sub->kind == BFF_GQL_LIST_OF)
            return 0;
        if (sub->named == super->named)
            return 1;
        return vd_is_abstract(super->named) &&
               (sub->named->kind == BFF_GQL_INTERFACE || sub->named->kind == BFF_GQL_OBJECT_TYPE) &&
               vd_is_sub_type(super->named, sub->named);
    }
}

/* ---- ValuesOfCorrectType ---- */

static int is_builtin(const bff_gql_type_t *t, const char *name)
{
    return t->is_builtin && strcmp(t->name, name) == 0;
}

/* Int's parseLiteral range: -2147483648 ..= 2147483647 (the literal is -?(0|[1-9][0-9]*)). */
static int int_in_range(const char *s)
{
    int neg = *s == '-';
    const char *digits = s + neg;
    size_t len = strlen(digits);
    const char *limit = neg ? "2147483648" : "2147483647";
    if (len != 10)
        return len < 10;
    return strcmp(digits, limit) <= 0;
}

static void value_error(vd_ctx_t *c, const bff_gql_value_t *v, const char *before,
                        const char *after)
{
    vd_buf_t b = {0};
    vd_print_value(&b, v);
    vd_error(c, &v->loc, 1, "%s%s%s", before, vd_buf_str(&b), after);
    vd_buf_dispose(&b);
}

static void enum_error(vd_ctx_t *c, const bff_gql_value_t *v, const bff_gql_type_t *t)
{
    vd_buf_t printed = {0}, msg = {0};
    vd_print_value(&printed, v);
    const char *str = vd_buf_str(&printed);
    if (v->kind == BFF_GQL_ENUM)
        bff_text_printf(&msg, "Value \"%s\" does not exist in \"%s\" enum.", str, t->name);
    else
        bff_text_printf(&msg, "Enum \"%s\" cannot represent non-enum value: %s.", t->name, str);
    const char **names = bff_malloc((t->nvalues != 0 ? t->nvalues : 1) * sizeof(*names));
    for (size_t i = 0; i != t->nvalues; ++i)
        names[i] = t->values[i].name;
    vd_suggest(&msg, "the enum value", str, names, t->nvalues);
    free(names);
    vd_error(c, &v->loc, 1, "%s", vd_buf_str(&msg));
    vd_buf_dispose(&printed);
    vd_buf_dispose(&msg);
}

/* isValidValueNode: a literal against a leaf type's parseLiteral, else "Expected value". */
static void check_leaf(vd_ctx_t *c, const bff_gql_value_t *v, const bff_gql_wrapped_t *location)
{
    if (location == NULL)
        return;
    const bff_gql_type_t *t = bff_gql_unwrap(location);
    if (!bff_gql_type_is_leaf(t)) {
        vd_buf_t want = {0}, got = {0};
        vd_print_type(&want, location);
        vd_print_value(&got, v);
        vd_error(c, &v->loc, 1, "Expected value of type \"%s\", found %s.", vd_buf_str(&want),
                 vd_buf_str(&got));
        vd_buf_dispose(&want);
        vd_buf_dispose(&got);
        return;
    }
    if (t->kind == BFF_GQL_ENUM_TYPE) {
        if (v->kind != BFF_GQL_ENUM || vd_enum_value(c, t, v->str) == NULL)
            enum_error(c, v, t);
    } else if (is_builtin(t, "Int")) {
        if (v->kind != BFF_GQL_INT)
            value_error(c, v, "Int cannot represent non-integer value: ", "");
        else if (!int_in_range(v->str))
            vd_error(c, &v->loc, 1, "Int cannot represent non 32-bit signed integer value: %s",
                     v->str);
    } else if (is_builtin(t, "Float")) {
        if (v->kind != BFF_GQL_INT && v->kind != BFF_GQL_FLOAT)
            value_error(c, v, "Float cannot represent non numeric value: ", "");
    } else if (is_builtin(t, "String")) {
        if (v->kind != BFF_GQL_STRING)
            value_error(c, v, "String cannot represent a non string value: ", "");
    } else if (is_builtin(t, "Boolean")) {
        if (v->kind != BFF_GQL_BOOLEAN)
            value_error(c, v, "Boolean cannot represent a non boolean value: ", "");
    } else if (is_builtin(t, "ID")) {
        if (v->kind != BFF_GQL_STRING && v->kind != BFF_GQL_INT)
            value_error(c, v, "ID cannot represent a non-string and non-integer value: ", "");
    }
    /* A custom scalar's parseLiteral (valueFromASTUntyped) takes any literal. */
}

static void required_fields(vd_ctx_t *c, const bff_gql_value_t *v, const bff_gql_type_t *t)
{
    for (size_t i = 0; i != t->ninput_fields && !c->full; ++i) {
        const bff_gql_input_value_t *f = t->input_fields + i;
        if (f->type->kind != BFF_GQL_NON_NULL || f->default_value != NULL)
            continue;
        int present = 0;
        for (size_t k = 0; k != v->nfields && !present; ++k)
            present = strcmp(v->fields[k].name, f->name) == 0;
        if (present)
            continue;
        vd_buf_t b = {0};
        vd_print_type(&b, f->type);
        vd_error(c, &v->loc, 1, "Field \"%s.%s\" of required type \"%s\" was not provided.",
                 t->name, f->name, vd_buf_str(&b));
        vd_buf_dispose(&b);
    }
}

/* One literal: `check` is ValuesOfCorrectType still looking (it stops below a list or object
 * it has refused); UniqueInputFieldNames always looks. */
static void check_value(vd_ctx_t *c, const bff_gql_value_t *v, const bff_gql_wrapped_t *type,
                        int check, unsigned depth)
{
    if (c->full)
        return;
    if (depth > VD_MAX_NESTING) {
        vd_too_deep(c, v->loc);
        return;
    }
    switch (v->kind) {
    case BFF_GQL_VARIABLE:
        return;
    case BFF_GQL_NULL:
        if (check && type != NULL && type->kind == BFF_GQL_NON_NULL) {
            vd_buf_t b = {0};
            vd_print_type(&b, type);
            vd_error(c, &v->loc, 1, "Expected value of type \"%s\", found null.", vd_buf_str(&b));
            vd_buf_dispose(&b);
        }
        return;
    case BFF_GQL_LIST: {
        /* TypeInfo: the items' type is the list's item type, or the position's nullable type. */
        const bff_gql_wrapped_t *nullable = vd_nullable(type);
        const bff_gql_wrapped_t *item =
            nullable != NULL && nullable->kind == BFF_GQL_LIST_OF ? nullable->of : nullable;
        if (check && (nullable == NULL || nullable->kind != BFF_GQL_LIST_OF)) {
            check_leaf(c, v, item);
            check = 0;
        }
        for (size_t i = 0; i != v->nitems && !c->full; ++i)
            check_value(c, v->items[i], item, check, depth + 1);
        return;
    }
    case BFF_GQL_OBJECT: {
        const bff_gql_type_t *named = bff_gql_unwrap(type);
        int is_input = named != NULL && named->kind == BFF_GQL_INPUT_OBJECT;
        if (check) {
            if (!is_input) {
                check_leaf(c, v, type);
                check = 0;
            } else {
                required_fields(c, v, named);
            }
        }
        size_t n = v->nfields;
        const char **names = bff_malloc((n != 0 ? n : 1) * sizeof(*names));
        size_t *first = bff_malloc((n != 0 ? n : 1) * 2 * sizeof(*first)), *next = first + n;
        for (size_t i = 0; i != n; ++i)
            names[i] = v->fields[i].name;
        vd_group_names(names, n, first, next);
        for (size_t i = 0; i != n && !c->full; ++i) {
            const bff_gql_object_field_t *f = v->fields + i;
            const bff_gql_input_value_t *def = is_input ? vd_input_field(c, named, f->name) : NULL;
            if (check && def == NULL) {
                vd_buf_t b = {0};
                bff_text_printf(&b, "Field \"%s\" is not defined by type \"%s\".", f->name,
                                named->name);
                const char **opts = bff_malloc((named->ninput_fields + 1) * sizeof(*opts));
                for (size_t k = 0; k != named->ninput_fields; ++k)
                    opts[k] = named->input_fields[k].name;
                vd_suggest(&b, NULL, f->name, opts, named->ninput_fields);
                free(opts);
                vd_error(c, &f->loc, 1, "%s", vd_buf_str(&b));
                vd_buf_dispose(&b);
            }
            if (first[i] != i) {
                bff_gql_loc_t locs[2] = {v->fields[first[i]].loc, f->loc};
                vd_error(c, locs, 2, "There can be only one input field named \"%s\".", f->name);
            }
            check_value(c, f->value, def != NULL ? def->type : NULL, check, depth + 1);
        }
        free(names);
        free(first);
        return;
    }
    default:
        if (check)
            check_leaf(c, v, type);
        return;
    }
}

void vd_check_value(vd_ctx_t *c, const bff_gql_value_t *v, const bff_gql_wrapped_t *type,
                    unsigned depth)
{
    check_value(c, v, type, 1, depth);
}

/* ---- getVariableUsages ---- */

static void push_usage(vd_usages_t *u, const bff_gql_value_t *v, const bff_gql_wrapped_t *type,
                       int has_default)
{
    if (u->n == u->cap) {
        u->cap = u->cap != 0 ? u->cap * 2 : 8;
        u->items = bff_realloc(u->items, u->cap * sizeof(*u->items));
    }
    vd_usage_t *x = u->items + u->n++;
    x->name = v->str;
    x->loc = v->loc;
    x->type = type;
    x->has_default = has_default;
}

static void usages_value(vd_ctx_t *c, const bff_gql_value_t *v, const bff_gql_wrapped_t *type,
                         int has_default, vd_usages_t *out, unsigned depth)
{
    if (depth > VD_MAX_NESTING)
        return;
    if (v->kind == BFF_GQL_VARIABLE) {
        push_usage(out, v, type, has_default);
    } else if (v->kind == BFF_GQL_LIST) {
        const bff_gql_wrapped_t *nullable = vd_nullable(type);
        const bff_gql_wrapped_t *item =
            nullable != NULL && nullable->kind == BFF_GQL_LIST_OF ? nullable->of : nullable;
        for (size_t i = 0; i != v->nitems; ++i)
            usages_value(c, v->items[i], item, 0, out, depth + 1); /* items have no default */
    } else if (v->kind == BFF_GQL_OBJECT) {
        const bff_gql_type_t *named = bff_gql_unwrap(type);
        int is_input = named != NULL && named->kind == BFF_GQL_INPUT_OBJECT;
        for (size_t i = 0; i != v->nfields; ++i) {
            const bff_gql_input_value_t *def =
                is_input ? vd_input_field(c, named, v->fields[i].name) : NULL;
            usages_value(c, v->fields[i].value, def != NULL ? def->type : NULL,
                         def != NULL && def->default_value != NULL, out, depth + 1);
        }
    }
}

/* Arguments of a directive: its own definitions, or (TypeInfo's fallback for an unknown one)
 * those of the enclosing field. */
static void usages_directives(vd_ctx_t *c, const bff_gql_directive_t *dirs, size_t n,
                              const bff_gql_field_t *field, vd_usages_t *out)
{
    for (size_t i = 0; i != n; ++i) {
        const bff_gql_directive_info_t *info = bff_gql_schema_directive(c->schema, dirs[i].name);
        for (size_t k = 0; k != dirs[i].nargs; ++k) {
            const bff_gql_argument_t *arg = dirs[i].args + k;
            const bff_gql_input_value_t *def =
                info != NULL    ? vd_arg(info->args, info->nargs, arg->name)
                : field != NULL ? vd_arg(field->args, field->nargs, arg->name)
                                : NULL;
            usages_value(c, arg->value, def != NULL ? def->type : NULL,
                         def != NULL && def->default_value != NULL, out, 0);
        }
    }
}

static void usages_set(vd_ctx_t *c, const bff_gql_selection_set_t *set, const bff_gql_type_t *type,
                       const bff_gql_field_t *field, vd_usages_t *out, unsigned depth)
{
    if (depth > VD_MAX_NESTING)
        return;
    const bff_gql_type_t *parent = vd_is_composite(type) ? type : NULL;
    for (size_t i = 0; i != set->nitems; ++i) {
        const bff_gql_selection_t *sel = set->items + i;
        if (sel->kind == BFF_GQL_FIELD) {
            const bff_gql_field_t *def = parent != NULL ? vd_field(c, parent, sel->name) : NULL;
            for (size_t k = 0; k != sel->nargs; ++k) {
                const bff_gql_input_value_t *ad =
                    def != NULL ? vd_arg(def->args, def->nargs, sel->args[k].name) : NULL;
                usages_value(c, sel->args[k].value, ad != NULL ? ad->type : NULL,
                             ad != NULL && ad->default_value != NULL, out, 0);
            }
            usages_directives(c, sel->directives, sel->ndirectives, def, out);
            if (sel->selection_set != NULL)
                usages_set(c, sel->selection_set, def != NULL ? bff_gql_unwrap(def->type) : NULL,
                           def, out, depth + 1);
        } else if (sel->kind == BFF_GQL_FRAGMENT_SPREAD) {
            usages_directives(c, sel->directives, sel->ndirectives, field, out);
        } else {
            const bff_gql_type_t *t = sel->type_condition != NULL
                                          ? bff_gql_schema_type(c->schema, sel->type_condition)
                                          : type;
            usages_directives(c, sel->directives, sel->ndirectives, field, out);
            usages_set(c, sel->selection_set, vd_is_output(t) ? t : NULL, field, out, depth + 1);
        }
    }
}

void vd_usages_of(vd_ctx_t *c, const bff_gql_directive_t *dirs, size_t ndirs,
                  const bff_gql_selection_set_t *set, const bff_gql_type_t *type, vd_usages_t *out)
{
    usages_directives(c, dirs, ndirs, NULL, out);
    usages_set(c, set, type, NULL, out, 0);
}
