// `pi --list-models` shows both models under the llamafiles provider.
// Also the known pi 0.87.1 conflict (docs/architecture.md, "models.json composition"): a models.json llamafiles block with only
// `models` (no api, no baseUrl) must work, and every models.json example in README.md
// must load exactly as written.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { VERSION } from "@earendil-works/pi-coding-agent";
import { afterEach, expect, test } from "vitest";
import { nativeProviderRacesStartUp } from "../../src/pi-versions/native-provider-start.ts";
import { fakeModelEntry, REPO_ROOT } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, startPi } from "../helpers/pi-harness.ts";
import { PI_CLI } from "../helpers/pi-under-test.ts";
import { freePort } from "../helpers/processes.ts";

afterEach(cleanupAll);

/** A models.json with "api" and "baseUrl" added to its llamafiles block (README's form). */
const withApiAndBaseUrl = <T>(config: T): T => {
  const complete = structuredClone(config) as { providers: { llamafiles: Record<string, unknown> } };
  Object.assign(complete.providers.llamafiles, { api: "openai-completions", baseUrl: "http://localhost:8080/v1" });
  return complete as T;
};

const minimal = {
  providers: {
    llamafiles: {
      models: [
        { id: "model-a", command: "/opt/llamafile/a.llamafile", port: 18080 },
        { id: "model-b", command: "llama-server", args: ["-m", "b.gguf", "--port", "{{port}}"], port: 18081 },
      ],
    },
  },
};

// pi before 0.99.2 may leave a native provider out of --list-models (pi #9962,
// src/pi-versions/native-provider-start.ts): there, README's form is what lists reliably.
const shortestReliable = nativeProviderRacesStartUp(VERSION) ? withApiAndBaseUrl(minimal) : minimal;

test(`pi --list-models (the real CLI) lists both models under llamafiles, from the shortest config pi ${VERSION} lists reliably`, async () => {
  const home = makeHome();
  writeFileSync(join(home, ".pi/agent/models.json"), JSON.stringify(shortestReliable));
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [PI_CLI, "-ne", "-e", REPO_ROOT, "--list-models"], {
    env: { ...process.env, HOME: home, PI_CODING_AGENT_DIR: join(home, ".pi/agent"), PI_OFFLINE: "1" },
    timeout: 30_000,
  });
  const rows = stdout.split("\n").filter((line) => /^llamafiles\s/.test(line));
  expect(
    rows.map((row) => row.split(/\s+/)[1]),
    `stdout:\n${stdout}\nstderr:\n${stderr}`,
  ).toEqual(["model-a", "model-b"]);
  expect(stderr).not.toMatch(/error/i);
});

test("README's form (api + baseUrl) lists every model with its own port and the documented defaults, without warnings", async () => {
  const pi = await startPi({ modelsJsonText: JSON.stringify(withApiAndBaseUrl(minimal)) });
  const runtime = pi.runtime.services.modelRuntime;
  expect(runtime.getError()).toBeUndefined();
  expect(pi.runtime.diagnostics).toEqual([]);
  const available = (await runtime.getAvailable()).filter((m) => m.provider === "llamafiles");
  expect(available.map((m) => [m.id, m.name, m.api, m.baseUrl, m.contextWindow, m.maxTokens])).toEqual([
    ["model-a", "model-a", "openai-completions", "http://localhost:18080/v1", 131072, 8192],
    ["model-b", "model-b", "openai-completions", "http://localhost:18081/v1", 131072, 8192],
  ]);
  expect(pi.notifications().filter((n) => n.type !== "info")).toEqual([]);
});

test(`the minimal block (only models) composes and works; on pi ${VERSION} the user is ${nativeProviderRacesStartUp(VERSION) ? "told the exact lines to add" : "told nothing"}`, async () => {
  const pi = await startPi({ modelsJsonText: JSON.stringify(minimal) });
  const runtime = pi.runtime.services.modelRuntime;
  expect(runtime.getError()).toBeUndefined();
  expect(pi.runtime.diagnostics).toEqual([]);
  const available = (await runtime.getAvailable()).filter((m) => m.provider === "llamafiles");
  expect(available.map((m) => [m.id, m.baseUrl])).toEqual([
    ["model-a", "http://localhost:18080/v1"],
    ["model-b", "http://localhost:18081/v1"],
  ]);
  const told = pi.notifications().filter((n) => n.type !== "info");
  if (!nativeProviderRacesStartUp(VERSION)) expect(told).toEqual([]);
  else
    expect(told).toEqual([
      {
        type: "warning",
        message: [
          `llamafiles: providers.llamafiles in ~/.pi/agent/models.json has no "api" and "baseUrl".`,
          `Your models work, but pi ${VERSION} (before 0.99.2) may then not restore a preselected llamafiles model at start-up, nor list the models in pi --list-models. Update pi, or add these lines to providers.llamafiles:`,
          `  "api": "openai-completions",`,
          `  "baseUrl": "http://localhost:8080/v1",`,
        ].join("\n"),
      },
    ]);
});

test(`a block with only api missing: on pi ${VERSION} ${nativeProviderRacesStartUp(VERSION) ? "the warning names only that line" : "nothing to say"}`, async () => {
  const partial = structuredClone(minimal) as { providers: { llamafiles: Record<string, unknown> } };
  partial.providers.llamafiles.baseUrl = "http://localhost:8080/v1";
  const pi = await startPi({ modelsJsonText: JSON.stringify(partial) });
  const warnings = pi.notifications().filter((n) => n.type === "warning");
  if (!nativeProviderRacesStartUp(VERSION)) return expect(warnings).toEqual([]);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]!.message).toMatch(/has no "api"\.\n/);
  expect(warnings[0]!.message).toMatch(/add this line to providers\.llamafiles:\n {2}"api": "openai-completions",$/);
});

test("with the minimal block, selecting a model starts it and chats", async () => {
  const port = await freePort();
  const pi = await startPi({
    modelsJsonText: JSON.stringify({
      providers: { llamafiles: { models: [fakeModelEntry({ id: "m", port, flags: ["--reply", "minimal works"] })] } },
    }),
  });
  await pi.select("llamafiles/m");
  expect(await pi.prompt("hi")).toEqual({ text: "minimal works", error: undefined });
});

/** ```jsonc blocks preceded by `<!-- example: models.json -->` in README.md. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/<!-- example: models\.json -->\s*```jsonc?\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test("README has models.json examples, and each loads in pi exactly as written", async () => {
  const examples = readmeExamples();
  expect(examples.length).toBeGreaterThanOrEqual(2);
  for (const text of examples) {
    const pi = await startPi({ modelsJsonText: text });
    const runtime = pi.runtime.services.modelRuntime;
    expect(runtime.getError()).toBeUndefined();
    expect(pi.runtime.diagnostics).toEqual([]);
    expect(pi.notifications().filter((n) => n.type === "warning" || n.type === "error")).toEqual([]);
    const listed = (await runtime.getAvailable()).filter((m) => m.provider === "llamafiles");
    expect(listed.length).toBeGreaterThan(0);
    for (const model of listed) expect(model.baseUrl).toMatch(/^http:\/\/localhost:\d+\/v1$/);
    await pi.cleanup();
  }
});

test("an invalid entry is skipped with a warning naming its path and value; the others still load", async () => {
  const config = structuredClone(minimal) as { providers: { llamafiles: { models: Array<Record<string, unknown>> } } };
  config.providers.llamafiles.models.push({ id: "model-c", command: "x", port: "8080" });
  const pi = await startPi({ modelsJsonText: JSON.stringify(config) });
  expect(pi.notifications()).toContainEqual({
    message: `llamafiles: skipped models[2] "model-c": providers.llamafiles.models[2].port must be integer (got "8080").`,
    type: "warning",
  });
  expect(pi.runtime.services.modelRuntime.getModels("llamafiles").map((m) => m.id)).toContain("model-a");
});
