// Discovered models in the real pi CLI, with no models.json: `pi -p --model llamafiles/<id>` on a
// first start (nothing known yet: discovery runs in the factory so pi finds the model) answers,
// `pi --list-models` lists the model, and in RPC mode the start-up line is one notification.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { installFakeLlamaServer } from "../helpers/fake-llama-server.ts";
import { tinyModelSpec, writeGguf } from "../helpers/gguf-writer.ts";
import { makeHome } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess } from "../helpers/pi-process.ts";

const homes: string[] = [];
afterEach(async () => {
  await killPiProcesses();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

// The id carries the worker: a discovered model's port comes from its id.
const ID = `tiny-cli-w${process.env.VITEST_POOL_ID ?? "0"}`;

function homeWithModel(): { home: string; env: Record<string, string> } {
  const home = makeHome();
  homes.push(home);
  mkdirSync(join(home, "models"));
  writeGguf(join(home, "models", `${ID}.gguf`), tinyModelSpec(ID));
  installFakeLlamaServer(join(home, "bin"), ["--reply", "hello from a discovered model"]);
  return { home, env: { PATH: `${join(home, "bin")}:${process.env.PATH}` } };
}

async function run(home: string, args: string[], env: Record<string, string>) {
  const pi = startPiProcess(home, args, { env });
  const { code } = await pi.exited;
  return { code, stdout: pi.records.map((r) => String(r.text ?? JSON.stringify(r))).join("\n"), stderr: pi.stderr() };
}

test("print mode, first start: pi finds the discovered model it was asked for and gets its answer; the server stops with pi", async () => {
  const { home, env } = homeWithModel();
  const print = await run(home, ["-p", "hi", "--model", `llamafiles/${ID}`], env);
  expect(print.stderr).not.toMatch(/not found/i);
  expect(print.stdout).toContain("hello from a discovered model");
  expect(print.code).toBe(0);
  expect(print.stderr).toMatch(new RegExp(`Stopped llamafile "${ID} · F32 · \\d+ KiB"\\.`));
  // Nothing else: the discovery line is for a UI, not for a script reading print mode's output.
  expect(print.stderr).not.toContain("llamafiles:");
});

test("--list-models lists the discovered model with the context it will be started with; nothing said on stderr", async () => {
  const { home, env } = homeWithModel();
  const listing = await run(home, ["--list-models"], env);
  expect(listing.code).toBe(0);
  expect(listing.stdout).toMatch(new RegExp(`llamafiles\\s+${ID}\\s+8\\.2K`));
  expect(listing.stderr).toBe("");
});

test("RPC mode: the start-up line is one notification", async () => {
  const { home, env } = homeWithModel();
  const pi = startPiProcess(home, ["--mode", "rpc"], { env });
  const notice = await pi.waitFor(
    (r) => r.type === "extension_ui_request" && r.method === "notify" && String(r.message).startsWith("llamafiles:"),
    "the discovery line",
  );
  expect(notice.message).toBe("llamafiles: found 1 model in ~/models.");
});
