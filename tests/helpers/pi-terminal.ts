/**
 * pi's TUI in a real pseudo-terminal (`script` from util-linux), typed into like a user: for
 * what only the interactive mode shows (pi's own `/llama` dialog, the `/model` picker).
 * `screen()` is everything pi drew so far, without terminal control sequences.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { terminalSafe } from "../../src/pi-session/terminal-text.ts";
import { piEnv } from "./pi-process.ts";
import { PI_CLI } from "./pi-under-test.ts";
import { isAlive, killChildren, waitFor } from "./processes.ts";

const live = new Set<ChildProcess>();

export interface PiTerminal {
  /** Types `text` (a line ends with "\r", Esc is "\u001b"). */
  type(text: string): void;
  /** Everything drawn so far, as plain text. */
  screen(): string;
  /** Resolves once `pattern` is on the screen, drawn after `since` (a length of `screen()`). */
  waitForText(pattern: string | RegExp, since?: number, timeoutMs?: number): Promise<void>;
  exited: Promise<void>;
}

/** `pi` (the CLI under test) with `args`, in a 120×40 terminal, in `home`. */
export function startPiTerminal(home: string, args: string[], env: Record<string, string> = {}): PiTerminal {
  const command = [process.execPath, PI_CLI, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
  const child = spawn("script", ["-qfec", `stty cols 120 rows 40; exec ${command}`, "/dev/null"], {
    cwd: home,
    env: { ...piEnv(home, env), TERM: "xterm-256color" },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  live.add(child);
  let raw = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    raw += String(chunk);
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      live.delete(child);
      resolve();
    }),
  );
  // What a user would read: the product's own filter for terminal text drops every control sequence.
  const screen = () => terminalSafe(raw);
  return {
    type: (text) => child.stdin!.write(text),
    screen,
    async waitForText(pattern, since = 0, timeoutMs = 15_000) {
      const found = () => {
        const text = screen().slice(since);
        return typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
      };
      try {
        await waitFor(found, `"${pattern}" on pi's screen`, timeoutMs);
      } catch (error) {
        throw new Error(`${(error as Error).message}\nscreen (last 3000 characters):\n${screen().slice(-3000)}`);
      }
    },
    exited,
  };
}

/** The processes `pid` started (its children's children too), from /proc. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`))
      children.push(...readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number));
  } catch {
    // gone meanwhile
  }
  children = [...new Set(children)];
  return [...children, ...children.flatMap(descendants)];
}

/**
 * For afterEach: ends every terminal a test started and the pi inside it. `script` gives pi a
 * session of its own, so signalling script's group does not reach pi: pi (and what it started in
 * its own groups) is found among script's descendants and killed too, and waited for.
 */
export async function killPiTerminals(): Promise<void> {
  const inside = [...live].flatMap((child) => descendants(child.pid!));
  for (const pid of inside) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // not a group leader, or gone
    }
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await killChildren(live, { group: true });
  await waitFor(() => inside.every((pid) => !isAlive(pid)), "pi inside its terminal to be gone");
}
