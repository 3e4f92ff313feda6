// Validates an OpenAPI document (a file, or a URL to fetch) against the OpenAPI 3.x JSON Schemas
// with @seriousme/openapi-schema-validator, an implementation independent of bffd's. Prints one
// JSON line: {"valid": bool, "version": "3.1", "errors": [...]}.
//   usage: node openapi-validate.mjs FILE|URL
import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";

const [where] = process.argv.slice(2);
const text = where.startsWith("http://") ? await (await fetch(where)).text() : await readFile(where, "utf8");
const validator = new Validator();
const res = await validator.validate(JSON.parse(text));
console.log(JSON.stringify({ valid: res.valid, version: validator.version, errors: res.errors ?? [] }));
