/**
 * How pi was started, read from its command line the way pi reads it (pi 0.87.1's
 * `resolveAppMode`): pi tells an extension its mode only at session_start, and in print mode
 * and with `--list-models` it may exit before any session starts (a model it cannot find), so
 * what the extension has to say at start-up must know earlier whether a UI will show it.
 */
import { basename } from "node:path";

export type RunMode =
  /** The TUI: notifications, and pi shows models.json errors itself. */
  | "interactive"
  /** RPC: notifications go to the client. */
  | "rpc"
  /** `-p`, `--mode json`, piped input: no UI; pi may exit before a session starts. */
  | "print"
  /** `pi --list-models`: no session at all; pi shows models.json errors itself. */
  | "list-models"
  /** Not pi's command line (the SDK, a test): whatever the session says at session_start. */
  | "embedded";

export function runMode(
  argv: readonly string[] = process.argv,
  tty: { stdin: boolean; stdout: boolean } = { stdin: Boolean(process.stdin.isTTY), stdout: Boolean(process.stdout.isTTY) },
): RunMode {
  const script = argv[1] ?? "";
  const isPiCli = basename(script) === "pi" || /pi-coding-agent[\\/]dist[\\/](bundle[\\/])?cli\.js$/.test(script);
  if (!isPiCli) return "embedded";
  const args = argv.slice(2);
  const modeAt = args.indexOf("--mode");
  const mode = modeAt >= 0 ? args[modeAt + 1] : undefined;
  const print = args.includes("-p") || args.includes("--print");
  if (args.includes("--list-models") && !print && mode === undefined) return "list-models";
  if (mode === "rpc") return "rpc";
  if (mode === "json" || print || !tty.stdin || !tty.stdout) return "print";
  return "interactive";
}
