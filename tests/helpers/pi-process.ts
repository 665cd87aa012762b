/**
 * A real pi process (the CLI, with this package as its extension) in a HOME a test shares
 * between several of them: for what an in-process SDK session cannot show, pi being killed,
 * crashing or losing its terminal, and several pi processes on one HOME.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./fake-llamafile.ts";
import { PI_CLI } from "./pi-under-test.ts";
import { killChildren } from "./processes.ts";

export { PI_CLI };

const live = new Set<ChildProcess>();

/** Writes models.json (README's form: api and baseUrl given) into `home`'s agent folder. */
export function writeModels(home: string, models: Array<Record<string, unknown>>): void {
  const agentDir = join(home, ".pi", "agent");
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(
    join(agentDir, "models.json"),
    JSON.stringify({ providers: { llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models } } }),
  );
}

export function piEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, PI_CODING_AGENT_DIR: join(home, ".pi", "agent"), PI_OFFLINE: "1" };
  // No pi reaches a real router: only the AI_SERVER_* variables a test gives exist.
  for (const name of Object.keys(env)) if (name.startsWith("AI_SERVER_")) delete env[name];
  return { ...env, ...extra };
}

export interface PiProcess {
  child: ChildProcess;
  pid: number;
  /** Every JSON record pi wrote on stdout. */
  records: Array<Record<string, unknown>>;
  stderr(): string;
  send(command: Record<string, unknown>): void;
  /** Resolves with the first record (already written or to come) that `match` accepts. */
  waitFor(match: (record: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends a prompt and resolves once the agent is done with it. */
  prompt(text: string): Promise<void>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** `pi --mode rpc` (or other `args`) with the extension loaded from this repository. */
export function startPiProcess(
  home: string,
  args: string[],
  options: { env?: Record<string, string>; detached?: boolean; withBuiltins?: boolean; keepSession?: boolean } = {},
): PiProcess {
  // -ne: no other extension; it disables pi's built-in ones (llama.cpp, mcp, …) too, unless asked for.
  const only = options.withBuiltins ? [] : ["-ne"];
  // Sessions are files under the test's HOME only when a test wants one back (--continue).
  const session = options.keepSession ? [] : ["--no-session"];
  const child = spawn(process.execPath, [PI_CLI, ...only, "-e", REPO_ROOT, ...session, ...args], {
    cwd: home,
    env: piEnv(home, options.env),
    stdio: ["pipe", "pipe", "pipe"],
    detached: options.detached,
  });
  live.add(child);
  // Outside RPC mode pi reads piped input as part of the prompt: give it none.
  if (!args.includes("rpc")) child.stdin!.end();
  const records: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let buffered = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += String(chunk);
    for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
      const line = buffered.slice(0, newline).replace(/\r$/, "");
      buffered = buffered.slice(newline + 1);
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        records.push({ type: "text", text: line });
      }
      for (const waiter of [...waiters]) waiter();
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += String(chunk);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      live.delete(child);
      for (const waiter of [...waiters]) waiter();
      resolve({ code, signal });
    }),
  );
  const waitFor = (match: (record: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = records.find(match);
        if (found) return done(() => resolve(found));
        if (child.exitCode !== null || child.signalCode !== null)
          return done(() => reject(new Error(`pi exited while waiting for ${what}; stderr:\n${stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${stderr}`))), timeoutMs);
      const done = (finish: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        finish();
      };
      waiters.add(check);
      check();
    });
  let prompts = 0;
  return {
    child,
    pid: child.pid!,
    records,
    stderr: () => stderr,
    send(command) {
      child.stdin!.write(`${JSON.stringify(command)}\n`);
    },
    waitFor,
    async prompt(text) {
      const id = `prompt-${++prompts}`;
      const ends = records.filter((record) => record.type === "agent_end").length;
      child.stdin!.write(`${JSON.stringify({ id, type: "prompt", message: text })}\n`);
      await waitFor((record) => record.type === "response" && record.id === id, `the answer to ${id}`);
      await waitFor(() => records.filter((record) => record.type === "agent_end").length > ends, `the end of ${id}`, 30_000);
    },
    exited,
  };
}

/** For afterEach: ends every pi process a test started that is still running. */
export async function killPiProcesses(): Promise<void> {
  await killChildren(live);
}
