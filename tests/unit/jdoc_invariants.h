/* The structural invariants every successful JSON scan must satisfy, shared by
 * test_json_scan.c and test_json_scan_cases.c. Header-only and static, like tap.h; include it
 * after compose/json_scan.c. */
#ifndef BFF_TESTS_JDOC_INVARIANTS_H
#define BFF_TESTS_JDOC_INVARIANTS_H

/* Structural invariants every successful scan must satisfy; returns the first violation. */
static __attribute__((unused)) const char *check_invariants(const bff_jdoc_t *doc)
{
    if (doc->ntoks == 0 || doc->toks[0].next != doc->ntoks)
        return "root does not span all tokens";
    for (uint32_t i = 0; i < doc->ntoks; ++i) {
        const bff_jtok_t *t = doc->toks + i;
        if (t->next <= i || t->next > doc->ntoks)
            return "next out of range";
        if (t->start > t->end || t->end > doc->len)
            return "byte range out of input";
        if (t->type < BFF_J_OBJECT || t->type > BFF_J_NULL)
            return "bad type";
        if (t->type != BFF_J_OBJECT && t->type != BFF_J_ARRAY) {
            if (t->next != i + 1 || t->size != 0)
                return "scalar with children";
            continue;
        }
        /* Walking the children by skip links must land exactly on next. */
        uint32_t j = i + 1;
        for (uint32_t k = 0; k < t->size; ++k) {
            if (j >= t->next)
                return "children overrun subtree";
            if (t->type == BFF_J_OBJECT) {
                if (doc->toks[j].type != BFF_J_STRING)
                    return "key is not a string";
                ++j;
            }
            if (doc->toks[j].start < t->start || doc->toks[j].end > t->end)
                return "child outside parent bytes";
            j = doc->toks[j].next;
        }
        if (j != t->next)
            return "children do not end at next";
    }
    return NULL;
}

#endif
