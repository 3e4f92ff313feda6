// Builds a client schema from bffd's answer to graphql-js's standard introspection query, then
// validates the documents given on the command line against it. Prints one JSON line:
// {"types": N, "printed": "<SDL of the client schema>", "results": [[messages...], ...]}.
//   usage: node introspect.mjs URL 'query { ... }' ...
import { buildClientSchema, getIntrospectionQuery, parse, printSchema, validate } from "graphql";

const [url, ...documents] = process.argv.slice(2);
const res = await fetch(url, {
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
  body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }) }),
});
const body = await res.json();
if (body.errors) {
  console.log(JSON.stringify({ status: res.status, errors: body.errors }));
  process.exit(0);
}
const schema = buildClientSchema(body.data); // throws on anything malformed
const results = documents.map((d) => validate(schema, parse(d)).map((e) => e.message));
console.log(JSON.stringify({
  status: res.status,
  types: Object.keys(schema.getTypeMap()).length,
  printed: printSchema(schema),
  results,
}));
