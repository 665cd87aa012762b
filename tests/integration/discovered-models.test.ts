// Discovered models in a real pi runtime: no models.json at all, GGUF files in the test HOME's
// ~/models, and a stand-in llama-server first on PATH (tests/helpers/fake-llama-server.ts). The
// model is listed, answers through pi, is restored at start-up, shows in /llamafiles with its
// estimate beside its resident memory, and /llamafiles scan updates pi's list without a restart.
// File names carry this run's worker id: a discovered model's port comes from its id, and test
// files of other workers must not share one.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { preferredPort } from "../../src/llamafiles/discovery/ports.ts";
import { QWEN, QWEN_BYTES } from "../helpers/discovery-fixtures.ts";
import { installFakeLlamaServer, llamaServerArgsSeen } from "../helpers/fake-llama-server.ts";
import { requestsSeen } from "../helpers/fake-llamafile.ts";
import { modelSpec, projectorSpec, str, writeGguf } from "../helpers/gguf-writer.ts";
import { cleanupAll, makeHome, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess } from "../helpers/pi-process.ts";
import { isAlive, probeModels, waitFor } from "../helpers/processes.ts";

const originalPath = process.env.PATH;
let home: string;
let models: string;
beforeEach(() => {
  home = makeHome();
  models = join(home, "models");
  mkdirSync(models);
  installFakeLlamaServer(join(home, "bin"));
  process.env.PATH = `${join(home, "bin")}:${originalPath}`;
});
afterEach(async () => {
  await killPiProcesses();
  await cleanupAll();
  process.env.PATH = originalPath;
  rmSync(home, { recursive: true, force: true });
});

const worker = process.env.VITEST_POOL_ID ?? "0";
const qwenFile = () => join(models, `Qwen2.5-Coder-7B-Instruct-w${worker}-Q4_K_M.gguf`);
const QWEN_ID = `qwen2.5-coder-7b-instruct-w${worker}-q4_k_m`;

/** Discovery registers after start-up when nothing was found before: wait for pi's registry to list it. */
const listed = (pi: PiHarness, id: string) =>
  waitFor(() => pi.runtime.services.modelRuntime.getModel("llamafiles", id), `pi to list llamafiles/${id}`);

test("no models.json, a GGUF in ~/models, llama-server on PATH: the model is in /model, answers through pi, and stops on quit", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  const pi = await startPi({ home });
  const model = await listed(pi, QWEN_ID);
  expect(model).toMatchObject({ name: "Qwen2.5 Coder 7B Instruct · Q4_K_M · 4.4 GiB", contextWindow: 32768, input: ["text"] });
  // One line for discovery at start-up, not one per file.
  await waitFor(() => pi.notifications().some((n) => n.message.startsWith("llamafiles: found")), "the discovery line");
  expect(pi.notifications().filter((n) => n.message.startsWith("llamafiles:"))).toEqual([
    { message: "llamafiles: found 1 model in ~/models.", type: "info" },
  ]);

  await pi.select(`llamafiles/${QWEN_ID}`);
  expect(await pi.prompt("hi")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
  const port = preferredPort(QWEN_ID);
  expect(await probeModels(port)).toEqual({ status: 200, ids: [QWEN_ID] });
  expect(requestsSeen(home, QWEN_ID)).toHaveLength(1);
  // Discovery's command line, then what the prompt cache adds to every llama-server pi starts.
  expect(llamaServerArgsSeen(home, QWEN_ID)).toEqual([
    [
      ...["-m", qwenFile(), "--alias", QWEN_ID, "--host", "127.0.0.1", "--port", String(port), "-c", "32768", "--jinja"],
      ...["--slot-save-path", join(home, ".pi", "llamafile_cache", QWEN_ID)],
    ],
  ]);

  const report = (await pi.command("/llamafiles"))!;
  const pid = Number(/pid=(\d+)/.exec(report)?.[1]);
  expect(isAlive(pid)).toBe(true);
  expect(report).toMatch(
    new RegExp(
      `^Running: Qwen2\\.5 Coder 7B Instruct · Q4_K_M · 4\\.4 GiB \\(id=${QWEN_ID.replaceAll(".", "\\.")}, port=${port}, pid=${pid}, status=ready, memory 6\\.7 GiB\\)\n` +
        "  context 32,768 tokens per request \\(from the server\\)\n" +
        "  memory: estimated 6\\.7 GiB \\(files 4\\.4 GiB \\+ KV cache 1\\.8 GiB \\+ margin 625\\.8 MiB\\), resident now [\\d.]+ MiB \\(its processes, from /proc\\)\n",
    ),
  );
  expect(report).toContain("Model folders: ~/models");

  await pi.quit();
  await waitFor(() => !isAlive(pid), "the server to stop with pi");
});

test("a second pi (the real CLI) on the same HOME finds the discovered model's server on its port and uses it: one server, started once", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  const first = await startPi({ home });
  await listed(first, QWEN_ID);
  await first.select(`llamafiles/${QWEN_ID}`);
  expect((await first.prompt("hi")).error).toBeUndefined();
  const pid = Number(/pid=(\d+)/.exec((await first.command("/llamafiles"))!)?.[1]);

  const second = startPiProcess(home, ["-p", "hi from the second pi", "--model", `llamafiles/${QWEN_ID}`]);
  const { code } = await second.exited;
  expect({ code, stderr: second.stderr() }).toEqual({
    code: 0,
    stderr: 'Left llamafile "Qwen2.5 Coder 7B Instruct · Q4_K_M · 4.4 GiB" running for 1 other pi session.\n',
  });
  expect(second.records.map((r) => r.text).join("\n")).toContain("Hello from the fake llamafile");
  expect(llamaServerArgsSeen(home, QWEN_ID)).toHaveLength(1);
  expect(requestsSeen(home, QWEN_ID)).toHaveLength(2);
  expect(isAlive(pid)).toBe(true);

  await first.quit();
  await waitFor(() => !isAlive(pid), "the server to stop with its last user");
});

test('"discover": false: a GGUF in ~/models is not offered, and nothing about discovery is said', async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  const pi = await startPi({ home, llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", discover: false } });
  await pi.command("/llamafiles scan");
  expect(pi.runtime.services.modelRuntime.getModels("llamafiles")).toEqual([]);
  expect(pi.notifications().filter((n) => n.message.startsWith("llamafiles: found"))).toEqual([]);
  expect(llamaServerArgsSeen(home, QWEN_ID)).toEqual([]);
});

test("a preselected discovered model is restored at start-up: found in the factory the first time, from the last scan after", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  for (const run of ["first start: nothing known yet", "second start: the last scan's models"]) {
    const pi = await startPi({ home, preselect: `llamafiles/${QWEN_ID}` });
    expect(`${pi.runtime.session.model?.provider}/${pi.runtime.session.model?.id}`, run).toBe(`llamafiles/${QWEN_ID}`);
    await waitFor(() => pi.notifications().some((n) => n.message.endsWith("is ready")), `${run}: the model to become ready`);
    expect((await pi.prompt("hi")).error, run).toBeUndefined();
    await pi.cleanup();
  }
});

test("a model with its image projector gets --mmproj and image input; /llamafiles lists the models not running, the folders and every skipped file", async () => {
  const gemma = join(models, `gemma-w${worker}`);
  mkdirSync(gemma);
  writeGguf(join(gemma, "gemma-3-4b-it-Q4_K_M.gguf"), modelSpec({ name: "Gemma 3 4B It", embeddingLength: 2560, fileType: 15 }), {
    size: 2_489_757_856,
  });
  writeGguf(join(gemma, "mmproj-gemma-3-4b-it-f16.gguf"), projectorSpec({ projectionDim: 2560 }), { size: 851_251_104 });
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  writeFileSync(join(models, "interrupted.gguf"), "GGUF");
  writeFileSync(join(models, "notes.gguf"), "not a model");
  const pi = await startPi({ home });
  const gemmaId = `gemma-3-4b-it-q4_k_m`;
  expect(await listed(pi, gemmaId)).toMatchObject({ input: ["text", "image"] });
  await waitFor(() => pi.notifications().some((n) => n.message.startsWith("llamafiles: found")), "the discovery line");
  expect(pi.notifications().filter((n) => n.message.startsWith("llamafiles:"))).toEqual([
    { message: "llamafiles: found 2 models in ~/models; skipped 2 files (see /llamafiles).", type: "warning" },
  ]);

  await pi.select(`llamafiles/${gemmaId}`);
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(llamaServerArgsSeen(home, gemmaId)[0]).toEqual(expect.arrayContaining(["--mmproj", join(gemma, "mmproj-gemma-3-4b-it-f16.gguf")]));

  const report = (await pi.command("/llamafiles"))!;
  // After the running model's lines (running, context, memory, last answer):
  expect(report.split("\n").slice(4)).toEqual([
    "Discovered, not running (1):",
    `  Qwen2.5 Coder 7B Instruct · Q4_K_M · 4.4 GiB (id=${QWEN_ID}, port=${preferredPort(QWEN_ID)}, context 32,768, estimate 6.7 GiB)`,
    "Model folders: ~/models",
    "Skipped (2):",
    "  ~/models/interrupted.gguf: cut off inside its header (the file has 4 bytes): an interrupted download? Download it again",
    '  ~/models/notes.gguf: not a GGUF file (it does not begin with "GGUF")',
    "Not offered as models (1):",
    `  ~/models/gemma-w${worker}/mmproj-gemma-3-4b-it-f16.gguf: an image projector, given to ~/models/gemma-w${worker}/gemma-3-4b-it-Q4_K_M.gguf (--mmproj)`,
  ]);
});

test("/llamafiles scan finds a new file and updates pi's model list without a restart; a file gone is gone from it", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  const pi = await startPi({ home });
  await listed(pi, QWEN_ID);
  const other = join(models, `Other-w${worker}.gguf`);
  writeGguf(other, modelSpec({ name: "Other", fileType: 7 }), { size: 900_000_000 });
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", `other-w${worker}`)).toBeUndefined();

  expect((await pi.command("/llamafiles scan"))?.split("\n")[0]).toBe(
    `Scanned the model folders again: 2 discovered models (new: other-w${worker}).`,
  );
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", `other-w${worker}`)).toMatchObject({ name: "Other · Q8_0 · 858 MiB" });

  rmSync(other);
  expect((await pi.command("/llamafiles scan"))?.split("\n")[0]).toBe(
    `Scanned the model folders again: 1 discovered model (gone: other-w${worker}).`,
  );
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", `other-w${worker}`)).toBeUndefined();

  // The model in use changed on disk (a new download of it): the session's own copy of the model is the new one.
  await pi.select(`llamafiles/${QWEN_ID}`);
  writeGguf(
    qwenFile(),
    { ...QWEN, metadata: QWEN.metadata.map(([key, value]) => [key, key === "general.name" ? str("Qwen2.5 Coder 7B Instruct v2") : value]) },
    { size: QWEN_BYTES },
  );
  expect((await pi.command("/llamafiles scan"))?.split("\n")[0]).toBe(
    "Scanned the model folders again: 1 discovered model, none new, none gone.",
  );
  expect(pi.runtime.session.model?.name).toBe("Qwen2.5 Coder 7B Instruct v2 · Q4_K_M · 4.4 GiB");
  // A /reload evaluates the extension anew: the start-up line is not said again. /llamafiles waits
  // for the scan after start-up and its line, so by its answer the line would have been said.
  const before = pi.notifications().filter((n) => n.message.startsWith("llamafiles: found")).length;
  await pi.reload();
  await pi.command("/llamafiles");
  expect(pi.notifications().filter((n) => n.message.startsWith("llamafiles: found"))).toHaveLength(before);
});

test("a hostile disk says one line at start-up, not one per file; pi starts and the good model is offered", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  for (let i = 0; i < 40; i++) writeFileSync(join(models, `broken-${i}.gguf`), i % 2 ? "GGUF" : "junk");
  mkdirSync(join(models, "loop"));
  symlinkSync(join(models, "loop"), join(models, "loop", "again"));
  symlinkSync("/nonexistent/target.gguf", join(models, "dangling.gguf"));
  const pi = await startPi({ home });
  await listed(pi, QWEN_ID);
  await waitFor(() => pi.notifications().some((n) => n.message.startsWith("llamafiles: found")), "the discovery line");
  expect(pi.notifications().filter((n) => n.message.startsWith("llamafiles:"))).toEqual([
    { message: "llamafiles: found 1 model in ~/models; skipped 41 files (see /llamafiles).", type: "warning" },
  ]);
  const report = (await pi.command("/llamafiles"))!;
  expect(report).toContain("  ~/models/dangling.gguf: a symbolic link to nothing");
  expect(report).toContain("Skipped (41):");
});

test("no llama-server on PATH: one line says so and what to do; the GGUF files are listed, nothing is offered", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  process.env.PATH = originalPath!
    .split(":")
    .filter((dir) => !dir.startsWith(home))
    .join(":");
  rmSync(join(home, "bin"), { recursive: true });
  const pi = await startPi({ home });
  await waitFor(() => pi.notifications().some((n) => n.message.startsWith("llamafiles: found")), "the discovery line");
  expect(pi.notifications().filter((n) => n.message.startsWith("llamafiles:"))).toEqual([
    {
      message:
        'llamafiles: found 0 models in ~/models; skipped 1 file (see /llamafiles). llama-server is not on PATH, so GGUF models cannot run: install llama.cpp, or set "llamaServer" to its path in ~/.pi/agent/models.json.',
      type: "warning",
    },
  ]);
  expect(pi.runtime.services.modelRuntime.getModels("llamafiles")).toEqual([]);
  expect(await pi.command("/llamafiles")).toContain(`  ~/models/${basename(qwenFile())}: a GGUF model, and no llama-server to run it`);
});

test("a model declared in models.json wins over the discovered one with its file; both kinds are offered side by side", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  const other = join(models, `Other-w${worker}.gguf`);
  writeGguf(other, modelSpec({ name: "Other", fileType: 7 }), { size: 900_000_000 });
  const pi = await startPi({
    home,
    llamafiles: [
      {
        id: "my-qwen",
        name: "My Qwen",
        command: join(home, "bin", "llama-server"),
        args: ["-m", qwenFile(), "--alias", "my-qwen", "--port", "{{port}}"],
        port: preferredPort(`other-w${worker}`),
      },
    ],
  });
  await listed(pi, `other-w${worker}`);
  expect(pi.runtime.services.modelRuntime.getModels("llamafiles").map((m) => m.id)).toEqual(["my-qwen", `other-w${worker}`]);
  // The declared model's port is never a discovered one's.
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", `other-w${worker}`)?.baseUrl).not.toBe(
    `http://localhost:${preferredPort(`other-w${worker}`)}/v1`,
  );
  expect(await pi.command("/llamafiles")).toContain(
    `  ~/models/${basename(qwenFile())}: ~/.pi/agent/models.json declares "my-qwen" with this file; that one is offered`,
  );
  await pi.select("llamafiles/my-qwen");
  expect(await pi.prompt("hi")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
});

test("memoryBudget: a discovered model's context is cut to fit it, and one that cannot fit is refused with its estimate", async () => {
  writeGguf(qwenFile(), QWEN, { size: QWEN_BYTES });
  const big = join(models, `Big-w${worker}.gguf`);
  writeGguf(big, modelSpec({ name: "Big", fileType: 15 }), { size: 7 * 2 ** 30 });
  const pi = await startPi({ home, llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", memoryBudget: "6GiB" } });
  const qwen = await listed(pi, QWEN_ID);
  expect(qwen.contextWindow).toBeLessThan(32768);
  expect(qwen.contextWindow).toBeGreaterThan(16384);
  await pi.select(`llamafiles/${QWEN_ID}`);
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(llamaServerArgsSeen(home, QWEN_ID)[0]).toEqual(expect.arrayContaining(["-c", String(qwen.contextWindow)]));

  await pi.select(`llamafiles/big-w${worker}`);
  const { error } = await pi.prompt("hi");
  expect(error).toMatch(
    /^Cannot start Big · Q4_K_M · 7 GiB: its "memory" estimate \(7\.7 GiB\) is larger than the whole "memoryBudget" \(6 GiB\)/,
  );
});
