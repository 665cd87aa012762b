// The files `npm run generate` writes are what their sources say today: the ahead-of-time
// validators (from the JSON Schemas) and the module pi loads (index.ts: src/index.ts and its static imports).
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { START_MODULE, startModuleSource } from "../../tools/generate-start-module.ts";
import { generateValidatorSource, validators } from "../../tools/generate-validators.ts";

test("the validators are generated from the current schemas (run npm run generate after editing one)", () => {
  for (const validator of validators) expect(readFileSync(validator.generated, "utf8")).toBe(generateValidatorSource(validator));
});

test("the module pi loads is built from the current sources (run npm run generate after editing one it inlines)", async () => {
  expect(readFileSync(START_MODULE, "utf8")).toBe(await startModuleSource());
});

test("pi loads the generated module, which loads everything else from the sources on first use", async () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { pi: { extensions: string[] } };
  expect(pkg.pi.extensions).toEqual(["./index.ts"]);
  const lazy = [...readFileSync(START_MODULE, "utf8").matchAll(/import\("([^"]+)"\)/g)].map((m) => m[1]!);
  expect(lazy.length).toBeGreaterThan(5);
  for (const path of lazy) expect(path).toMatch(/^\.\/src\/[a-z-]+\/[a-z/-]+\.ts$/);
});
