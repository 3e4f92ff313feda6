// Prints what graphql-js's validate() says about case documents, in the .err format of
// tests/unit/test_gql_validate.c ("line:column[,line:column...]: message", one error a line),
// so expected files can be checked against the reference implementation:
//   GRAPHQL_JS=/path/to/node_modules/graphql node oracle.cjs CASE.graphql...
// Without GRAPHQL_JS it takes tests/js's copy (16.9.0). The expected files are 16.11.0's output
// (npm install graphql@16.11.0 somewhere and point GRAPHQL_JS at it): 16.9 misses the conflict of
// overlapping_fields_can_be_merged/invalid_nested_fragments_defined_first (fixed in 16.10).
// With --write it rewrites each <name>.err.
// The rules are specifiedRules without the recommended extras (MaxIntrospectionDepthRule is not
// one of section 5's). Cases with a "# limits:" line check bffd's own limits: skipped here.
const fs = require("fs");
const path = require("path");

const gql = require(process.env.GRAPHQL_JS || path.join(__dirname, "../../js/node_modules/graphql"));
const rules = gql.specifiedRules.filter((r) => !(gql.recommendedRules || []).includes(r));
const schema = gql.buildSchema(fs.readFileSync(path.join(__dirname, "schema.graphql"), "utf8"));

const args = process.argv.slice(2);
const write = args[0] === "--write";
for (const file of write ? args.slice(1) : args) {
  const text = fs.readFileSync(file, "utf8");
  if (/^# limits:/m.test(text)) continue;
  let errors;
  try {
    errors = gql.validate(schema, gql.parse(text), rules);
  } catch (e) {
    // graphql-js throws where bffd validates on (a deviation/ case): nothing to compare.
    process.stdout.write(`== ${file}\n# graphql-js throws: ${e.message}\n`);
    continue;
  }
  const out = errors
    // error.h keeps the first 4 locations of an error.
    .map((e) => (e.locations || []).slice(0, 4).map((l) => `${l.line}:${l.column}`).join(",") + ": " + e.message)
    .map((line) => line + "\n")
    .join("");
  if (write) fs.writeFileSync(file.replace(/\.graphql$/, ".err"), out);
  else process.stdout.write(`== ${file}\n${out}`);
}
