// Optional: a discovered model run by a real llama-server. Skipped unless LLAMA_SERVER points at a
// llama-server binary and LLAMA_SERVER_MODELS at a folder of GGUF files. The smallest of them is
// linked into a temp ~/models, llama-server is put on PATH, and pi starts with no models.json:
// the model is listed, answers, and /llamafiles shows the estimate beside the server's resident
// memory (printed, and the estimate must not be below it: it is an upper-side estimate).
//
// On a machine where only some ports may be used, LLAMA_SERVER_PORT gives the model that port
// and LLAMA_SERVER_ARGS adds arguments (e.g. "--threads 1"): then, and only then, a models.json
// carries them (`discovered.<id>.port`, `serverArgs`).
import { mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { cleanupAll, makeHome, startPi } from "../helpers/pi-harness.ts";
import { isAlive, waitFor } from "../helpers/processes.ts";

const server = process.env.LLAMA_SERVER;
const folder = process.env.LLAMA_SERVER_MODELS;
const originalPath = process.env.PATH;
let home: string | undefined;
afterEach(async () => {
  await cleanupAll();
  process.env.PATH = originalPath;
  if (home) rmSync(home, { recursive: true, force: true });
});

/** "68.5 MiB" → bytes. */
const bytesOf = (text: string) => {
  const [, amount, unit] = /^([\d.]+) (KiB|MiB|GiB)$/.exec(text)!;
  return Number(amount) * { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[unit as "KiB" | "MiB" | "GiB"];
};

test.skipIf(!server || !folder)(
  "a real llama-server: a GGUF in ~/models and llama-server on PATH, no models.json; pi gets an answer and shows the estimate beside the resident memory",
  async () => {
    const ggufs = readdirSync(folder!)
      .filter((name) => name.endsWith(".gguf") && !name.startsWith("mmproj"))
      .map((name) => join(folder!, name))
      .sort((a, b) => statSync(a).size - statSync(b).size);
    expect(ggufs.length, `no GGUF file in ${folder}`).toBeGreaterThan(0);
    const file = ggufs[0]!;
    home = makeHome();
    mkdirSync(join(home, "models"));
    mkdirSync(join(home, "bin"));
    symlinkSync(file, join(home, "models", file.split("/").at(-1)!));
    symlinkSync(server!, join(home, "bin", "llama-server"));
    process.env.PATH = `${join(home, "bin")}:${originalPath}`;
    const id = file
      .split("/")
      .at(-1)!
      .replace(/\.gguf$/i, "")
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-");
    if (process.env.LLAMA_SERVER_PORT || process.env.LLAMA_SERVER_ARGS) {
      const block = {
        api: "openai-completions",
        baseUrl: "http://localhost:8080/v1",
        ...(process.env.LLAMA_SERVER_ARGS ? { serverArgs: process.env.LLAMA_SERVER_ARGS.split(" ").filter(Boolean) } : {}),
        ...(process.env.LLAMA_SERVER_PORT ? { discovered: { [id]: { port: Number(process.env.LLAMA_SERVER_PORT) } } } : {}),
      };
      writeFileSync(join(home, ".pi", "agent", "models.json"), JSON.stringify({ providers: { llamafiles: block } }));
    }

    const pi = await startPi({ home });
    await waitFor(() => pi.runtime.services.modelRuntime.getModel("llamafiles", id), `pi to list llamafiles/${id}`, 30_000);
    await pi.select(`llamafiles/${id}`);
    const { error } = await pi.prompt("Say hello.");
    expect(error).toBeUndefined();

    const report = (await pi.command("/llamafiles"))!;
    console.log(report);
    expect(report).toMatch(/\n {2}last answer: /);
    const memory = /\n {2}memory: estimated ([\d.]+ [KMG]iB) \(.*\), resident now ([\d.]+ [KMG]iB) \(its processes, from \/proc\)/.exec(
      report,
    );
    expect(memory, "the memory line").not.toBeNull();
    const [estimate, resident] = [bytesOf(memory![1]!), bytesOf(memory![2]!)];
    expect(resident).toBeGreaterThan(0);
    expect(estimate).toBeGreaterThanOrEqual(resident);

    const pid = Number(/pid=(\d+)/.exec(report)![1]);
    await pi.quit();
    await waitFor(() => !isAlive(pid), "the real server to stop with pi", 15_000);
  },
  120_000,
);
