/**
 * `npm run demo`: the real pi TUI with this extension, in a throwaway HOME with two demo
 * local models served by the project's fake llamafile server. Nothing outside the temp
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
const [portA, portB] = [await freePort(), await freePort()];
writeFileSync(
  join(agentDir, "models.json"),
  JSON.stringify(
    {
      providers: {
        llamafiles: {
          api: "openai-completions",
          baseUrl: "http://localhost:8080/v1",
          models: [model("demo-alpha", "Demo Alpha", portA, 1500), model("demo-beta", "Demo Beta", portB, 3000)],
        },
      },
    },
    null,
    2,
  ),
);
writeFileSync(join(agentDir, "settings.json"), JSON.stringify({ defaultProvider: "llamafiles", defaultModel: "demo-alpha" }));

console.log(`pi-llama-supervisor demo (throwaway HOME: ${home})
  Demo Alpha starts at once (1.5 s boot). Try:
    /llamafiles                 what runs now
    /model → Demo Beta          stops Alpha, starts Beta (3 s boot); the footer shows progress
    send a prompt while it starts: it waits; Esc cancels the prompt only
    while it answers            the working indicator counts tokens; then the footer shows the
                                server's own figures (tok/s, prompt tok/s, cache share)
    /reload                     Beta stays warm (same pid in /llamafiles)
    quit (Ctrl+D twice)         stops Beta; the stderr lines show it
  Logs: ${join(home, ".pi", "llamafile_logs")}
`);

const result = spawnSync(process.execPath, [piCli, "-e", repo], {
  stdio: "inherit",
  env: { ...process.env, HOME: home, PI_CODING_AGENT_DIR: agentDir, PI_OFFLINE: "1" },
});

// pi stops what it started; make sure, then clean up.
for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
  try {
    if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(tag)) process.kill(Number(entry), "SIGKILL");
  } catch {
    // gone
  }
}
rmSync(home, { recursive: true, force: true });
process.exit(result.status ?? 0);
