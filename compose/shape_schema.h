/* Static JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses them) of what an endpoint takes and
 * answers, derived from its compiled spec: the typed parameters, the request body its shapes
 * read, and the response shape. One inference for every consumer contract (the OpenAPI
 * document and the TypeScript types). Pure: no I/O.
 *
 * The rules (docs/spec-reference.md, "Consumer contracts"):
 * - a constructed object has exactly its keys, all present; a literal is typed by its value;
 *   a text template is a string;
 * - a value read from a source is unknown ({}): bffd does not know the upstream's types, and it
 *   may be null when absent, unless $default gives a non-null value;
 * - $count is an integer, $format a string (date: format date) or a number;
 * - $select makes objects of the fields it names: a list when the path yields several values or
 *   $filter/$sort/$limit iterate, else the object or a list of them (whichever the upstream
 *   sends); selected elements are assumed to be objects;
 * - a parameter's value has the parameter's type; `header.X` is a string;
 * - $merge of constructed objects is an object with every part's keys; with an upstream part
 *   it is unknown. */
#ifndef BFF_COMPOSE_SHAPE_SCHEMA_H
#define BFF_COMPOSE_SHAPE_SCHEMA_H

#include <jansson.h>

#include "compose/shape.h"
#include "compose/spec.h"

/* Shared component names: the schemas both contracts define once and refer to. */
#define BFF_SCHEMA_ERROR "BffError"                /* bffd's error body */
#define BFF_SCHEMA_PARTIAL_ERROR "BffPartialError" /* one entry of a partial answer's errors */
#define BFF_SCHEMA_REF_PREFIX "#/components/schemas/"

/** The schema of what `shape` writes; `spec` (may be NULL) types parameter references. New
 * reference. */
json_t *bff_shape_schema(const bff_shape_t *shape, const bff_spec_t *spec);
/** The schema of the endpoint's answer body: its response shape, with the partial answer's
 * `errors` list when an optional source (or respond_by) can make one. */
json_t *bff_spec_response_schema(const bff_spec_t *spec);
/** The schema of a parameter as a client sends it (type, bounds, enum, default). */
json_t *bff_param_schema(const bff_param_t *p);
/** The request body the shapes and templates read (`body.items` -> property `items`); NULL
 * when the endpoint reads none. */
json_t *bff_spec_body_schema(const bff_spec_t *spec);
/** 1 when the answer may be partial (bff-partial header, `errors` member). */
int bff_spec_may_be_partial(const bff_spec_t *spec);
/** The shared component schemas (BFF_SCHEMA_ERROR, BFF_SCHEMA_PARTIAL_ERROR) as an object of
 * name: schema. */
json_t *bff_schema_components(void);
/** A schema's union with null (a value that may be absent). {} stays {}. Steals `s`. */
json_t *bff_schema_nullable(json_t *s);

#endif
