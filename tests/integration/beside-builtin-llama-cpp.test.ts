// pi ships its own llama.cpp extension (provider `llama.cpp`, command `/llama`, a router at
// LLAMA_BASE_URL), loaded by default. With both loaded in the real pi CLI: both providers are
// listed, `/llama` and `/llamafiles` both work in the TUI, the command names do not clash, and
// the built-in's variables change nothing of ours. pi's router here is the fake router over
// plain HTTP on loopback, one model loaded.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { modelDefaults } from "../../src/llamafiles/config.ts";
import { PRESET } from "../helpers/ai-server-setup.ts";
import { testPki } from "../helpers/certificates.ts";
import { fakeModelEntry, REPO_ROOT } from "../helpers/fake-llamafile.ts";
import { type FakeRouter, startFakeRouter } from "../helpers/fake-router.ts";
import { makeHome } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess, writeModels } from "../helpers/pi-process.ts";
import { killPiTerminals, startPiTerminal } from "../helpers/pi-terminal.ts";
import { findProcesses, freePort, isAlive, waitFor } from "../helpers/processes.ts";

/** The built-in's default router port (pi 1.6 docs/llama-cpp.md) and its variables. */
const BUILTIN_PORT = 9931;
const BUILTIN_VARIABLES = ["LLAMA_BASE_URL", "LLAMA_API_KEY"];

let router: FakeRouter | undefined;
afterEach(async () => {
  await killPiTerminals();
  await killPiProcesses();
  await router?.close();
  router = undefined;
});

/** pi's router with tiny-a loaded, as the built-in finds it at LLAMA_BASE_URL. */
async function routerWithLoadedModel(): Promise<{ env: Record<string, string> }> {
  const presetPath = join(mkdtempSync(join(tmpdir(), "pi-builtin-router-")), "models.ini");
  writeFileSync(presetPath, PRESET);
  router = await startFakeRouter({ pki: testPki(), presetPath, plainHttp: true, loadDelayMs: 10 });
  await fetch(`http://127.0.0.1:${router.port}/models/load`, { method: "POST", body: JSON.stringify({ model: "tiny-a" }) });
  await waitFor(() => router!.models().find((model) => model.id === "tiny-a")?.value === "loaded", "tiny-a to load");
  return { env: { LLAMA_BASE_URL: `http://127.0.0.1:${router.port}`, LLAMA_API_KEY: "local" } };
}

test("in the TUI both providers are listed in /model, /llama shows pi's router, /llamafiles shows our server; quitting stops only ours", async () => {
  const { env } = await routerWithLoadedModel();
  const home = makeHome();
  const port = await freePort();
  writeModels(home, [fakeModelEntry({ id: "local-a", name: "Local A", port })]);
  writeFileSync(join(home, ".pi", "agent", "settings.json"), JSON.stringify({ defaultProvider: "llamafiles", defaultModel: "local-a" }));
  const setUp = router!.requests.length;
  // No -ne: pi's built-in extensions load as they do for every user.
  const pi = startPiTerminal(home, ["-e", REPO_ROOT, "--no-session"], env);
  await pi.waitForText("Local A running");
  /**
   * Ctrl+C closes a dialog (one byte: Esc can be read together with the next key as Alt+…);
   * keys typed before pi has redrawn its editor would still go to the dialog.
   */
  const closeDialog = async () => {
    const before = pi.screen().length;
    pi.type("\u0003");
    await pi.waitForText(/─{40}/, before);
  };

  let since = pi.screen().length;
  pi.type("/llama\r");
  await pi.waitForText("llama.cpp models", since);
  await pi.waitForText("tiny-a", since);
  await closeDialog();

  since = pi.screen().length;
  pi.type("/llamafiles\r");
  await pi.waitForText(`Running: Local A (id=local-a, port=${port}`, since);

  since = pi.screen().length;
  pi.type("/model\r");
  await pi.waitForText("local-a [llamafiles]", since);
  await pi.waitForText("tiny-a [llama.cpp]", since);
  await closeDialog();

  const server = findProcesses(`--port ${port} `)[0]!;
  expect(isAlive(server)).toBe(true);
  pi.type("/quit\r");
  await pi.exited;
  await waitFor(() => !isAlive(server), "our server to stop with pi");
  // pi's router was only read: the built-in loads nothing, and we never touched it.
  const byPi = router!.requests.slice(setUp);
  expect(byPi.length).toBeGreaterThan(0);
  expect(byPi.filter((request) => request.method !== "GET")).toEqual([]);
});

test("each command name is registered once (llama, llamafiles), and the built-in's variables change nothing of ours", async () => {
  const { env } = await routerWithLoadedModel();
  const home = makeHome();
  writeModels(home, [{ id: "local-a", command: "/bin/true", port: 18099 }]);
  const pi = startPiProcess(home, ["--mode", "rpc"], { env, withBuiltins: true });
  pi.send({ id: "commands", type: "get_commands" });
  const answer = (await pi.waitFor((record) => record.id === "commands", "the command list")) as {
    data: { commands: Array<{ name: string; source: string }> };
  };
  const names = answer.data.commands.map((command) => command.name);
  expect(names.filter((name) => name === "llama")).toHaveLength(1);
  expect(names.filter((name) => name === "llamafiles")).toHaveLength(1);
  expect(new Set(names).size).toBe(names.length);
  pi.send({ id: "models", type: "get_available_models" });
  const models = (await pi.waitFor((record) => record.id === "models", "the model list")) as {
    data: { models: Array<{ provider: string; id: string; baseUrl: string }> };
  };
  // Ours keeps its own port and base URL whatever LLAMA_BASE_URL says.
  expect(models.data.models.filter((model) => model.provider === "llamafiles").map((model) => [model.id, model.baseUrl])).toEqual([
    ["local-a", "http://localhost:18099/v1"],
  ]);
  expect(pi.stderr()).not.toMatch(/conflict|already registered|replac/i);
});

test("our defaults stay off the built-in's port, and no file pi loads of ours reads the built-in's variables", () => {
  expect(modelDefaults.port).not.toBe(BUILTIN_PORT);
  const shipped = execFileSync("git", ["ls-files", "index.ts", "src", "machines"], { cwd: REPO_ROOT, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  expect(shipped.length).toBeGreaterThan(20);
  for (const path of shipped)
    for (const name of BUILTIN_VARIABLES) expect(readFileSync(join(REPO_ROOT, path), "utf8"), path).not.toContain(name);
});
