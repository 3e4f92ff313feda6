/* Builds the OpenAPI 3.1 document of a profile (openapi.h). What a route answers besides its
 * shaped body follows the stages that can answer it: params (400, 413, 415), auth (401, 403),
 * ratelimit (429), compose (502, 504, partial answers), shed and overload (503). */
#include "server/contract/openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/shape_schema.h"
#include "server/contract/names.h"
#include "server/core/profile.h"

#define REF_ERROR BFF_SCHEMA_REF_PREFIX BFF_SCHEMA_ERROR
#define HEADER_REF "#/components/headers/"

/* Headers the document defines once (components.headers) and refers to. */
static json_t *shared_headers(void)
{
    return json_pack(
        "{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s, s:i}}, s:{s:s, s:{s:s, s:i}}, "
        "s:{s:s, s:{s:s, s:i}}, s:{s:s, s:{s:s, s:i}}, s:{s:s, s:{s:s, s:s}}}",
        "RateLimit", "description",
        "the limit's state: \"<plan>\";r=<remaining>;t=<seconds until reset> (IETF httpapi "
        "RateLimit header fields draft)",
        "schema", "type", "string", "RateLimit-Policy", "description",
        "the plan: \"<plan>\";q=<requests>;w=<window seconds>", "schema", "type", "string",
        "X-RateLimit-Limit", "description", "requests per window", "schema", "type", "integer",
        "minimum", 0, "X-RateLimit-Remaining", "description", "requests left in this window",
        "schema", "type", "integer", "minimum", 0, "X-RateLimit-Reset", "description",
        "seconds until the window resets", "schema", "type", "integer", "minimum", 0, "Retry-After",
        "description", "seconds to wait before trying again", "schema", "type", "integer",
        "minimum", 0, "Bff-Partial", "description",
        "present when optional sources failed (or were pending at respond_by): the body's "
        "`errors` lists them",
        "schema", "type", "string", "const", "true");
}

static void add_header_ref(json_t *headers, const char *name)
{
    char ref[128];
    snprintf(ref, sizeof(ref), HEADER_REF "%s", name);
    json_object_set_new(headers, name, json_pack("{s:s}", "$ref", ref));
}

static void add_rate_headers(json_t *headers)
{
    static const char *const names[] = {"RateLimit", "RateLimit-Policy", "X-RateLimit-Limit",
                                        "X-RateLimit-Remaining", "X-RateLimit-Reset"};
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i)
        add_header_ref(headers, names[i]);
}

static json_t *error_response(const char *description)
{
    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description, "content",
                     "application/json", "schema", "$ref", REF_ERROR);
}

static void set_response(json_t *responses, unsigned status, json_t *r)
{
    char code[8];
    snprintf(code, sizeof(code), "%u", status);
    json_object_set_new(responses, code, r);
}

static json_t *security_of(const bff_profile_t *p, const bff_access_t *a)
{
    if (a->auth == BFF_AUTH_NONE)
        return NULL;
    json_t *scopes = json_array(), *alts = json_array();
    for (size_t i = 0; i != a->nscopes; ++i)
        json_array_append_new(scopes, json_string(a->scopes[i]));
    if (p->auth.jwt)
        json_array_append_new(alts, json_pack("{s:O}", "bearerAuth", scopes));
    if (p->auth.cookie != NULL)
        json_array_append_new(alts, json_pack("{s:O}", "sessionCookie", scopes));
    if (p->auth.api_key_header != NULL)
        json_array_append_new(alts, json_pack("{s:O}", "apiKey", scopes));
    if (a->auth == BFF_AUTH_OPTIONAL) /* anonymous callers are let in too */
        json_array_append_new(alts, json_object());
    json_decref(scopes);
    return alts;
}

static json_t *security_schemes(const bff_profile_t *p)
{
    json_t *s = json_object();
    if (p->auth.jwt) {
        char desc[512];
        snprintf(desc, sizeof(desc), "a JWT (%s) in Authorization: Bearer%s%s",
                 p->auth.issuer ? "issuer named in the token's iss"
                                : "signed by the profile's keys",
                 p->auth.cookie ? "; the same token may come in the cookie " : "",
                 p->auth.cookie ? p->auth.cookie : "");
        json_object_set_new(s, "bearerAuth",
                            json_pack("{s:s, s:s, s:s, s:s}", "type", "http", "scheme", "bearer",
                                      "bearerFormat", "JWT", "description", desc));
    }
    if (p->auth.cookie != NULL)
        json_object_set_new(s, "sessionCookie",
                            json_pack("{s:s, s:s, s:s, s:s}", "type", "apiKey", "in", "cookie",
                                      "name", p->auth.cookie, "description",
                                      p->auth.csrf_header
                                          ? "a session JWT; writes need the CSRF header too"
                                          : "a session JWT; writes need a same-origin Origin"));
    if (p->auth.api_key_header != NULL)
        json_object_set_new(s, "apiKey",
                            json_pack("{s:s, s:s, s:s, s:s}", "type", "apiKey", "in", "header",
                                      "name", p->auth.api_key_header, "description",
                                      "an API key issued to a partner; its plan sets the rate"));
    return s;
}

static int is_auth_header(const bff_profile_t *p, const char *name)
{
    return strcmp(name, "authorization") == 0 || strcmp(name, "cookie") == 0 ||
           strcmp(name, "content-type") == 0 || strcmp(name, "accept") == 0 ||
           (p->auth.api_key_header != NULL && strcmp(name, p->auth.api_key_header) == 0);
}

static json_t *parameters_of(const bff_profile_t *p, const bff_spec_t *spec)
{
    json_t *params = json_array();
    for (size_t i = 0; i != spec->nparams; ++i) {
        const bff_param_t *pa = spec->params + i;
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:o}", "name", pa->name, "in",
                                                pa->in_path ? "path" : "query", "required",
                                                pa->in_path || pa->required, "schema",
                                                bff_param_schema(pa)));
    }
    for (size_t i = 0; i != spec->nrequest_headers; ++i)
        if (!is_auth_header(p, spec->request_headers[i]))
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name",
                                                    spec->request_headers[i], "in", "header",
                                                    "required", 0, "schema", "type", "string"));
    return params;
}

static int has_required_source(const bff_spec_t *spec)
{
    for (size_t i = 0; i != spec->plan.nsources; ++i)
        if (!spec->plan.sources[i].optional)
            return 1;
    return spec->graphql != NULL;
}

static json_t *success_response(const bff_spec_t *spec, int rate_limited)
{
    json_t *headers = json_object();
    if (bff_spec_may_be_partial(spec))
        add_header_ref(headers, "Bff-Partial");
    if (rate_limited)
        add_rate_headers(headers);
    for (size_t i = 0; i != spec->nheaders; ++i)
        json_object_set_new(headers, spec->headers[i].name,
                            json_pack("{s:s, s:{s:s}}", "description",
                                      "set by the endpoint (headers:)", "schema", "type",
                                      "string"));
    char desc[512];
    snprintf(desc, sizeof(desc), "%s", spec->description ? spec->description : "the answer");
    json_t *r = json_pack("{s:s, s:{s:{s:o}}}", "description", desc, "content", "application/json",
                          "schema", bff_spec_response_schema(spec));
    if (json_object_size(headers))
        json_object_set_new(r, "headers", headers);
    else
        json_decref(headers);
    return r;
}

/* Answers an upstream's status decides: on_status rules with respond: (their own status, or the
 * upstream's: a class rule is documented as 4XX), then what a required source passes through
 * by default (the client's mistakes: 400, 401, 403, 404, 409, 410, 422). An earlier entry for a
 * code is kept. Under `errors: safe` no source is named: the document is public. */
static void add_decided(json_t *responses, const bff_profile_t *p, const bff_spec_t *spec)
{
    int safe = p->errors == BFF_ERRORS_SAFE;
    for (size_t s = 0; s != spec->plan.nsources; ++s) {
        const bff_source_t *src = spec->plan.sources + s;
        for (size_t i = 0; i != src->non_status; ++i) {
            const bff_status_rule_t *rule = src->on_status + i;
            if (rule->action != BFF_STATUS_RESPOND)
                continue;
            char code[16], seen[16], desc[200];
            if (rule->respond_status != 0)
                snprintf(code, sizeof(code), "%u", rule->respond_status);
            else if (rule->status < 10)
                snprintf(code, sizeof(code), "%uXX", rule->status);
            else
                snprintf(code, sizeof(code), "%u", rule->status);
            if (rule->status < 10)
                snprintf(seen, sizeof(seen), "%uxx", rule->status);
            else
                snprintf(seen, sizeof(seen), "%u", rule->status);
            if (json_object_get(responses, code) != NULL)
                continue;
            snprintf(desc, sizeof(desc), "%s%s answered %s", safe ? "an upstream" : "source ",
                     safe ? "" : src->name, seen);
            json_t *schema = rule->body != NULL ? bff_shape_schema(rule->body, spec)
                                                : json_pack("{s:s}", "$ref", REF_ERROR);
            json_object_set_new(responses, code,
                                json_pack("{s:s, s:{s:{s:o}}}", "description", desc, "content",
                                          "application/json", "schema", schema));
        }
    }
    static const unsigned passed[] = {400, 401, 403, 404, 409, 410, 422};
    if (!has_required_source(spec) || spec->graphql != NULL)
        return;
    for (size_t i = 0; i != sizeof(passed) / sizeof(passed[0]); ++i) {
        char code[8];
        snprintf(code, sizeof(code), "%u", passed[i]);
        if (json_object_get(responses, code) == NULL)
            set_response(responses, passed[i],
                         error_response("a required source's upstream answered this status"));
    }
}

static json_t *operation(const bff_profile_t *p, const bff_spec_t *spec, const char *name)
{
    json_t *op = json_pack("{s:s, s:s}", "operationId", name, "summary",
                           spec->description ? spec->description : spec->route);
    json_t *params = parameters_of(p, spec);
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    json_t *body = bff_spec_body_schema(spec);
    if (body != NULL) {
        char desc[160];
        uint64_t max = spec->max_body ? spec->max_body : p->max_body_bytes;
        snprintf(desc, sizeof(desc), "JSON, at most %llu bytes", (unsigned long long)max);
        json_object_set_new(op, "requestBody",
                            json_pack("{s:s, s:b, s:{s:{s:o}}}", "description", desc, "required", 1,
                                      "content", "application/json", "schema", body));
    }
    const bff_access_t *a = &spec->access;
    json_t *responses = json_object();
    if (spec->status_tmpl.nparts != 0)
        json_object_set_new(responses, "2XX", success_response(spec, a->rate_limited));
    else
        set_response(responses, spec->status, success_response(spec, a->rate_limited));
    if (spec->nparams != 0 || body != NULL)
        set_response(responses, 400, error_response("a parameter or the body is not valid"));
    if (a->auth != BFF_AUTH_NONE) {
        json_t *r = error_response("credentials missing or not valid");
        json_object_set_new(r, "headers",
                            json_pack("{s:{s:s, s:{s:s}}}", "WWW-Authenticate", "description",
                                      "the scheme to authenticate with", "schema", "type",
                                      "string"));
        set_response(responses, 401, r);
        set_response(responses, 403,
                     error_response(a->nscopes ? "the credentials lack a scope this route needs"
                                               : "the credentials may not call this route"));
    }
    if (body != NULL) {
        set_response(responses, 413, error_response("the body is larger than the route takes"));
        set_response(responses, 415, error_response("the body is not JSON"));
    }
    if (a->rate_limited) {
        json_t *r = error_response("the plan's rate limit is spent: retry after Retry-After");
        json_t *h = json_object();
        add_header_ref(h, "Retry-After");
        add_rate_headers(h);
        json_object_set_new(r, "headers", h);
        set_response(responses, 429, r);
    }
    add_decided(responses, p, spec);
    if (has_required_source(spec)) { /* a decided answer of the same code stays documented */
        if (json_object_get(responses, "502") == NULL)
            set_response(responses, 502, error_response("a required source failed"));
        if (json_object_get(responses, "504") == NULL)
            set_response(responses, 504, error_response("a required source timed out"));
    }
    if (json_object_get(responses, "503") == NULL) {
        json_t *busy = error_response("overloaded or draining: retry after Retry-After");
        json_t *h = json_object();
        add_header_ref(h, "Retry-After");
        json_object_set_new(busy, "headers", h);
        set_response(responses, 503, busy);
    }
    json_object_set_new(op, "responses", responses);
    json_t *security = security_of(p, a);
    if (security != NULL)
        json_object_set_new(op, "security", security);
    return op;
}

static void lower(char *s)
{
    for (; *s; ++s)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* graph.yaml's endpoint: GraphQL over HTTP, its own schema by introspection. */
static void add_graphql(json_t *paths, const bff_profile_t *p)
{
    const bff_gql_graph_t *g = p->graph;
    json_t *body =
        json_pack("{s:s, s:[s], s:{s:{s:s}, s:{s:[s,s]}, s:{s:[s,s]}}}", "type", "object",
                  "required", "query", "properties", "query", "type", "string", "operationName",
                  "type", "string", "null", "variables", "type", "object", "null");
    json_t *answer = json_pack("{s:s, s:{s:{}, s:{s:s}}}", "type", "object", "properties", "data",
                               "errors", "type", "array");
    json_t *responses =
        json_pack("{s:{s:s, s:{s:{s:o}, s:{s:O}}}}", "200", "description",
                  "the GraphQL response (data and errors); the schema is introspectable", "content",
                  "application/json", "schema", answer, "application/graphql-response+json",
                  "schema", answer);
    if (g->access.auth != BFF_AUTH_NONE)
        json_object_set_new(responses, "401", error_response("credentials missing or not valid"));
    if (g->access.rate_limited) {
        json_t *r = error_response("the plan's rate limit is spent: retry after Retry-After");
        json_t *h = json_object();
        add_header_ref(h, "Retry-After");
        add_rate_headers(h);
        json_object_set_new(r, "headers", h);
        json_object_set_new(responses, "429", r);
    }
    json_t *op = json_pack("{s:s, s:s, s:{s:b, s:{s:{s:o}}}, s:o}", "operationId", "graphql",
                           "summary", "GraphQL queries and mutations over the same upstreams",
                           "requestBody", "required", 1, "content", "application/json", "schema",
                           body, "responses", responses);
    json_t *security = security_of(p, &g->access);
    if (security != NULL)
        json_object_set_new(op, "security", security);
    json_object_set_new(paths, g->path, json_pack("{s:o}", "post", op));
}

json_t *bff_openapi_build(const bff_profile_t *p)
{
    const bff_openapi_conf_t *c = &p->openapi;
    json_t *info = json_pack("{s:s, s:s}", "title", c->title ? c->title : p->name, "version",
                             c->version ? c->version : "1.0.0");
    if (c->description != NULL)
        json_object_set_new(info, "description", json_string(c->description));
    json_t *doc = json_pack("{s:s, s:o}", "openapi", "3.1.0", "info", info);
    if (c->nservers != 0) {
        json_t *servers = json_array();
        for (size_t i = 0; i != c->nservers; ++i)
            json_array_append_new(servers, json_pack("{s:s}", "url", c->servers[i]));
        json_object_set_new(doc, "servers", servers);
    }
    json_t *paths = json_object();
    char **names = bff_contract_names(p);
    for (size_t i = 0; i != p->nendpoints; ++i) {
        const bff_spec_t *spec = p->endpoints[i];
        json_t *item = json_object_get(paths, spec->route);
        if (item == NULL) {
            item = json_object();
            json_object_set_new(paths, spec->route, item);
        }
        char method[16];
        snprintf(method, sizeof(method), "%s", spec->method);
        lower(method);
        json_object_set_new(item, method, operation(p, spec, names[i]));
    }
    bff_contract_names_free(names, p->nendpoints);
    if (p->graph != NULL)
        add_graphql(paths, p);
    json_object_set_new(doc, "paths", paths);
    json_t *components =
        json_pack("{s:o, s:o}", "schemas", bff_schema_components(), "headers", shared_headers());
    json_t *schemes = security_schemes(p);
    if (json_object_size(schemes))
        json_object_set_new(components, "securitySchemes", schemes);
    else
        json_decref(schemes);
    json_object_set_new(doc, "components", components);
    return doc;
}

char *bff_openapi_render(const bff_profile_t *p, int pretty, size_t *len)
{
    json_t *doc = bff_openapi_build(p);
    char *text = json_dumps(doc, pretty ? JSON_INDENT(2) : JSON_COMPACT);
    json_decref(doc);
    *len = text != NULL ? strlen(text) : 0;
    return text;
}
