/* Comparison of scalar JSON values across docs. */
#include "compose/json_compare.h"

#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

/* The unescaped bytes of a string token: its raw range when it has no escapes. */
static const char *string_bytes(const bff_jdoc_t *doc, uint32_t tok, char *stackbuf, size_t size,
                                char **heap, size_t *len)
{
    const bff_jtok_t *t = doc->toks + tok;
    *len = t->end - t->start;
    if (!t->escaped)
        return doc->json + t->start;
    char *buf = *len < size ? stackbuf : (*heap = bff_malloc(*len + 1));
    *len = bff_jdoc_unescape(doc, tok, buf);
    return buf;
}

int bff_json_compare(const bff_jdoc_t *a, uint32_t atok, const bff_jdoc_t *b, uint32_t btok,
                     int *cmp)
{
    const bff_jtok_t *ta = a->toks + atok, *tb = b->toks + btok;
    if (ta->type != tb->type)
        return -1;
    switch (ta->type) {
    case BFF_J_NUMBER: {
        double x, y;
        if (bff_jdoc_to_double(a, atok, &x) != 0 || bff_jdoc_to_double(b, btok, &y) != 0)
            return -1;
        *cmp = (x > y) - (x < y);
        return 0;
    }
    case BFF_J_STRING: {
        char bufa[512], bufb[512], *heapa = NULL, *heapb = NULL;
        size_t na, nb;
        const char *sa = string_bytes(a, atok, bufa, sizeof(bufa), &heapa, &na);
        const char *sb = string_bytes(b, btok, bufb, sizeof(bufb), &heapb, &nb);
        size_t m = na < nb ? na : nb;
        int c = m ? memcmp(sa, sb, m) : 0;
        *cmp = c != 0 ? c : (na > nb) - (na < nb);
        free(heapa);
        free(heapb);
        return 0;
    }
    case BFF_J_TRUE:
    case BFF_J_FALSE:
    case BFF_J_NULL:
        *cmp = 0;
        return 0;
    default:
        return -1;
    }
}
