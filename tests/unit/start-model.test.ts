// The model pi starts with, read before any session exists: --model (with or without --provider),
// else the project's settings, else the user's.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { startModel } from "../../src/pi-session/start-model.ts";

const temp = mkdtempSync(join(tmpdir(), "start-model-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
const agentDir = join(temp, "agent");
const cwd = join(temp, "project");
mkdirSync(agentDir);
mkdirSync(join(cwd, ".pi"), { recursive: true });
const pi = (...args: string[]) => ["node", "/usr/lib/node_modules/pi/dist/cli.js", ...args];

test("--model provider/id, --provider with --model, a bare id", () => {
  expect(startModel({ agentDir, cwd }, pi("--model", "llamafiles/qwen2.5-coder"))).toEqual({
    provider: "llamafiles",
    id: "qwen2.5-coder",
    fromCommandLine: true,
  });
  expect(startModel({ agentDir, cwd }, pi("--provider", "llamafiles", "--model", "a/b"))).toEqual({
    provider: "llamafiles",
    id: "a/b",
    fromCommandLine: true,
  });
  expect(startModel({ agentDir, cwd }, pi("--model", "qwen"))).toEqual({ provider: undefined, id: "qwen", fromCommandLine: true });
});

test("the default model of the settings: the project's before the user's; a broken file is no model", () => {
  expect(startModel({ agentDir, cwd }, pi())).toBeUndefined();
  writeFileSync(join(agentDir, "settings.json"), JSON.stringify({ defaultProvider: "llamafiles", defaultModel: "tiny-a" }));
  expect(startModel({ agentDir, cwd }, pi())).toEqual({ provider: "llamafiles", id: "tiny-a" });
  writeFileSync(join(cwd, ".pi", "settings.json"), JSON.stringify({ defaultProvider: "ai-server", defaultModel: "big" }));
  expect(startModel({ agentDir, cwd }, pi())).toEqual({ provider: "ai-server", id: "big" });
  writeFileSync(join(cwd, ".pi", "settings.json"), "{ not json");
  expect(startModel({ agentDir, cwd }, pi())).toEqual({ provider: "llamafiles", id: "tiny-a" });
  expect(startModel({ agentDir, cwd }, pi("--model", "x/y"))).toEqual({ provider: "x", id: "y", fromCommandLine: true });
});
