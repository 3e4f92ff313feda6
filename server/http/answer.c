/* Answers as data (answer.h): plain memory, no h2o, so tools can inspect them. */
#include "server/http/answer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compose/json_write.h"
#include "compose/mem.h"

void bff_answer_init(bff_answer_t *a)
{
    memset(a, 0, sizeof(*a));
}

void bff_answer_dispose(bff_answer_t *a)
{
    for (size_t i = 0; i != a->nheaders; ++i) {
        free(a->headers[i].name);
        free(a->headers[i].value);
    }
    free(a->headers);
    free(a->body);
    bff_answer_init(a);
}

void bff_answer_add_header(bff_answer_t *a, const char *name, size_t name_len, const char *value,
                           size_t value_len)
{
    a->headers = bff_realloc(a->headers, (a->nheaders + 1) * sizeof(*a->headers));
    bff_answer_header_t *h = a->headers + a->nheaders++;
    h->name = bff_strndup(name, name_len);
    for (size_t k = 0; k != name_len; ++k) /* HTTP/2 wants lower case */
        h->name[k] = (char)tolower((unsigned char)h->name[k]);
    h->value = bff_strndup(value, value_len);
}

void bff_answer_set_body(bff_answer_t *a, const char *body, size_t len)
{
    free(a->body);
    a->body = bff_strndup(body, len);
    a->body_len = len;
}

void bff_answer_error(bff_answer_t *a, int status, const char *code, const char *message,
                      const char *extra_json)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 256, 64 * 1024);
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "error", 5);
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "code", 4);
    bff_jwrite_str(&w, code, strlen(code));
    bff_jwrite_key(&w, "message", 7);
    bff_jwrite_str(&w, message, strlen(message));
    if (extra_json != NULL) {
        bff_jwrite_bytes(&w, ",", 1);
        bff_jwrite_bytes(&w, extra_json, strlen(extra_json));
    }
    bff_jwrite_close(&w, '}');
    bff_jwrite_close(&w, '}');
    a->status = status;
    bff_answer_set_body(a, w.buf, w.len);
    bff_jwrite_dispose(&w);
}

const char *bff_answer_header(const bff_answer_t *a, const char *name)
{
    for (size_t i = 0; i != a->nheaders; ++i)
        if (strcmp(a->headers[i].name, name) == 0)
            return a->headers[i].value;
    return NULL;
}
