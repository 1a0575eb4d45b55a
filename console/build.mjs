// Builds the console into dist/: one minified ES module and one stylesheet
// with content hashes in their names (cacheable for ever), an index.html that
// names them (never cached), and the licence texts of the bundled packages.
// config.json is not built: the server that hosts dist/ provides it.
import * as esbuild from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";

const dist = "dist";
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const result = await esbuild.build({
  entryPoints: ["src/main.tsx"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  platform: "browser",
  outdir: dist,
  entryNames: "app-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  // amazon-cognito-identity-js reads `global` (Node) to find crypto.
  define: { global: "globalThis", "process.env.NODE_ENV": '"production"' },
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith(".js"));
const css = outputs.find((f) => f.endsWith(".css"));
if (!js || !css) throw new Error(`build produced ${outputs.join(", ")}`);
const html = (await readFile("index.html", "utf8")).replace("%APP_JS%", js).replace("%APP_CSS%", css);
await writeFile(`${dist}/index.html`, html);
console.log(`console built: dist/${js}, dist/${css}`);
