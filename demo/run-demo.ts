/**
 * `npm run demo`: the real pi TUI with this extension, in a throwaway HOME with three demo
 * local models served by the project's fake llamafile server, two of which may run at once. Nothing outside the temp
 * folder is read or written; the folder is removed when pi exits.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const fakeServer = join(repo, "tests/helpers/fake-server.ts");
const piCli = join(repo, "node_modules/@earendil-works/pi-coding-agent/dist/bundle/cli.js");
const tag = `pi-llama-demo-${process.pid}`;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const home = mkdtempSync(join(tmpdir(), "pi-llama-demo-"));
const agentDir = join(home, ".pi", "agent");
mkdirSync(agentDir, { recursive: true });
const model = (id: string, name: string, port: number, bootMs: number) => ({
  id,
  name,
  command: process.execPath,
  args: [
    fakeServer,
    "--port",
    "{{port}}",
    "--id",
    id,
    "--startup-delay-ms",
    String(bootMs),
    "--tag",
    tag,
    "--reply",
    `Hello from ${name}, a fake llamafile on port ${port}. ${"It streams slowly, a few words at a time, so that the working indicator can show the tokens so far and their rate. ".repeat(2)}`,
    // One chunk every 40 ms: the working indicator counts them while the answer streams.
    "--token-delay-ms",
    "40",
  ],
  port,
});
const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
writeFileSync(
  join(agentDir, "models.json"),
  JSON.stringify(
    {
      providers: {
        llamafiles: {
          api: "openai-completions",
          baseUrl: "http://localhost:8080/v1",
          // Two servers may run at once: switching back to the other one is instant.
          keepWarm: 2,
          memoryBudget: "24GiB",
          models: [
            { ...model("demo-alpha", "Demo Alpha", portA, 1500), memory: "8GiB" },
            { ...model("demo-beta", "Demo Beta", portB, 3000), memory: "12GiB" },
            { ...model("demo-gamma", "Demo Gamma", portC, 2000), memory: "10GiB" },
          ],
        },
      },
    },
    null,
    2,
  ),
);
writeFileSync(join(agentDir, "settings.json"), JSON.stringify({ defaultProvider: "llamafiles", defaultModel: "demo-alpha" }));

console.log(`pi-llama-supervisor demo (throwaway HOME: ${home})
  keepWarm 2, memoryBudget 24 GiB; Alpha 8 GiB (1.5 s boot), Beta 12 GiB (3 s), Gamma 10 GiB (2 s).
  Demo Alpha starts at once. Try:
    /llamafiles                 what runs now
    /model → Demo Beta          starts Beta (3 s boot), Alpha stays warm: "Demo Beta running · 1 warm"
    send a prompt while it starts: it waits; Esc cancels the prompt only
    while it answers            the working indicator counts tokens; then the footer shows the
                                server's own figures (tok/s, prompt tok/s, cache share)
    /model → Demo Alpha         current at once: no start, same pid in /llamafiles
    /model → Demo Gamma         stops Beta (the least recently used) to make room, starts Gamma
    /reload                     both warm servers stay (same pids in /llamafiles)
    quit (Ctrl+D on an empty prompt, or /quit)   stops both; the stderr lines show it
  Logs: ${join(home, ".pi", "llamafile_logs")}
`);

// --no-session: nothing to resume from a HOME that is deleted afterwards.
const result = spawnSync(process.execPath, [piCli, "--no-session", "-e", repo], {
  stdio: "inherit",
  env: { ...process.env, HOME: home, PI_CODING_AGENT_DIR: agentDir, PI_OFFLINE: "1" },
});

/** The demo's servers and their keepers still running (their command lines name the tag or this HOME). */
const leftRunning = () =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
        return cmdline.includes(tag) || cmdline.includes(home);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);

// pi stops what it started, within the 5 s stop grace: anything still there after that is a bug, and said so.
const deadline = Date.now() + 7_000;
let left = leftRunning();
while (left.length > 0 && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  left = leftRunning();
}
if (left.length > 0) {
  console.error(
    `\n*** DEMO FAILURE: ${left.length} process(es) the demo's models started outlived pi (pids ${left.join(", ")}); killing them now. ***`,
  );
  for (const pid of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}
rmSync(home, { recursive: true, force: true });
process.exit(left.length > 0 ? 1 : (result.status ?? 0));
