// Generates the console's wire types from the OpenAPI document with
// openapi-typescript: `node typegen/generate.mjs [document] [output]`, by
// default docs/openapi.yaml into src/generated/openapi.ts. The console's
// api.ts names these types, so a field the document renames or removes is a
// compile error in `tsc`, and keysource.ts lists every field it reads or
// leaves out, so one the document adds is one too.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const input = resolve(process.argv[2] ?? resolve(here, "../../docs/openapi.yaml"));
const output = resolve(process.argv[3] ?? resolve(here, "../src/generated/openapi.ts"));

const ast = await openapiTS(pathToFileURL(input), {
  // A default in a request schema (dailyLimit: 250) is the server's, not a
  // promise that the client sends the field: keep such fields optional.
  defaultNonNullable: false,
  silent: true,
});
const header = [
  "// Generated from docs/openapi.yaml by console/typegen/generate.mjs (openapi-typescript).",
  "// Do not edit: `make console` writes it again. Not in git.",
  "",
].join("\n");
await mkdir(dirname(output), { recursive: true });
await writeFile(output, header + astToString(ast));
console.log(`wire types: ${output} from ${input}`);
