// The layers of the tree (docs/architecture.md, "The rule of the layout"): a module imports only
// from its own layer or the ones below, and the two backends never import each other. Read from
// the source text of every module git tracks (static imports, `export … from`, and import()).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { expect, test } from "vitest";
import { REPO_ROOT } from "../helpers/fake-llamafile.ts";

/** Lowest first. A path belongs to the first layer whose prefix it starts with. */
const LAYERS: Array<{ name: string; prefixes: string[] }> = [
  { name: "statecharts", prefixes: ["machines/"] },
  { name: "helpers with no pi in them", prefixes: ["src/util/", "src/timeouts.ts"] },
  { name: "what llama.cpp servers report", prefixes: ["src/llama-cpp/"] },
  { name: "pi glue", prefixes: ["src/pi-session/", "src/pi-versions/"] },
  { name: "the backend contract and the generic feature", prefixes: ["src/backend/"] },
  { name: "the entry", prefixes: ["src/index.ts"] },
];
const sources = execFileSync("git", ["ls-files", "machines", "src"], { cwd: REPO_ROOT, encoding: "utf8" })
  .split("\n")
  .filter((path) => /\.(ts|mjs|js)$/.test(path) && !path.endsWith(".generated.js"));
// Every other folder of src/ is a backend (docs/architecture.md, "Adding a backend"): a new one
// needs no edit here to be held to the rule.
const named = LAYERS.flatMap((layer) => layer.prefixes);
const BACKENDS = [
  ...new Set(
    sources.map((path) => /^src\/[^/]+\//.exec(path)?.[0]).filter((folder): folder is string => !!folder && !named.includes(folder)),
  ),
];
LAYERS.splice(LAYERS.length - 1, 0, { name: "the backends", prefixes: BACKENDS });

const layerOf = (path: string) => LAYERS.findIndex((layer) => layer.prefixes.some((prefix) => path.startsWith(prefix)));

function importsOf(path: string): string[] {
  const text = readFileSync(join(REPO_ROOT, path), "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)"(\.[^"]+)"/g)].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(REPO_ROOT, normalize(join(REPO_ROOT, dirname(path), specifier))));
}

test("every module of machines/ and src/ belongs to a layer", () => {
  expect(sources.length).toBeGreaterThan(40);
  expect(sources.filter((path) => layerOf(path) < 0)).toEqual([]);
  expect(BACKENDS).toEqual(expect.arrayContaining(["src/llamafiles/", "src/ai-server/"]));
});

test("no module imports from a layer above its own, and the backends never import each other", () => {
  const wrong: string[] = [];
  for (const path of sources) {
    const own = layerOf(path);
    for (const target of importsOf(path)) {
      const theirs = layerOf(target);
      if (theirs > own) wrong.push(`${path} (${LAYERS[own]!.name}) imports ${target} (${LAYERS[theirs]!.name})`);
      const mine = BACKENDS.find((prefix) => path.startsWith(prefix));
      const other = BACKENDS.find((prefix) => target.startsWith(prefix));
      if (mine && other && mine !== other) wrong.push(`${path} imports ${target}: one backend never imports another`);
    }
  }
  expect(wrong).toEqual([]);
});

test("machines/ has no I/O: no node: module, no package but xstate", () => {
  for (const path of sources.filter((candidate) => candidate.startsWith("machines/"))) {
    const packages = [...readFileSync(join(REPO_ROOT, path), "utf8").matchAll(/\bfrom\s+"([^".][^"]*)"/g)].map((match) => match[1]);
    expect(
      packages.filter((name) => name !== "xstate"),
      path,
    ).toEqual([]);
  }
});
