/**
 * Admin work on the router host over the system `ssh` (BatchMode, connect timeout), argv
 * only. ssh joins the remote words into one shell command line, so every word is validated
 * first and single-quoted besides; scripts travel on stdin (`sh -s`), never in the argv.
 */
import { spawn } from "node:child_process";
import { aiServerTimeouts } from "../timeouts.ts";
import { shellQuoted } from "../util/shell-word.ts";
import { SSH_TARGET } from "./config.ts";
import { isOfferableId } from "./discovery.ts";

/** Why an ssh step failed (src/ai-server/messages.ts words it). */
export type SshFailure =
  | { code: "ssh-missing" }
  | { code: "ssh-failed"; detail: string }
  | { code: "host-invalid"; host: string }
  | { code: "remote-failed"; host: string; what: string; detail: string; exitCode: number | null };

/** A command argument that cannot be used. */
export type ArgumentProblem =
  | { code: "not-an-id"; id: string; knownIds: readonly string[] }
  | { code: "unknown-id"; id: string; knownIds: readonly string[] }
  | { code: "bad-size"; text: string };

/** A failed ssh step: carries the failure value (src/ai-server/messages.ts words it). */
export class SshFailureError extends Error {
  readonly sshFailure: SshFailure;
  constructor(failure: SshFailure) {
    super(`ssh ${failure.code}`);
    this.name = "SshFailureError";
    this.sshFailure = failure;
  }
}

/** Router model ids as llama.cpp names them (file names, preset sections, aliases). */

export function checkModelId(id: string, knownIds: readonly string[]): ArgumentProblem | undefined {
  if (!isOfferableId(id)) return { code: "not-an-id", id, knownIds };
  if (knownIds.length > 0 && !knownIds.includes(id)) return { code: "unknown-id", id, knownIds };
  return undefined;
}

export function parseCtxSize(text: string): number | ArgumentProblem {
  if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > 2 ** 31 - 1) return { code: "bad-size", text };
  return Number(text);
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SshOptions {
  stdin?: string;
  timeoutMs?: number;
  /** Cancels the command (the local ssh is killed). */
  signal?: AbortSignal;
}

export function runSsh(host: string, words: string[], options: SshOptions = {}): Promise<SshResult> {
  if (!SSH_TARGET.test(host)) return Promise.reject(new SshFailureError({ code: "host-invalid", host }));
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  return new Promise((resolve, reject) => {
    const child = spawn(
      "ssh",
      ["-o", "BatchMode=yes", "-o", `ConnectTimeout=${aiServerTimeouts.sshConnectSeconds}`, "--", host, ...words.map(shellQuoted)],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const onAbort = () => {
      child.kill("SIGKILL");
      reject(options.signal!.reason);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (part) => (stdout += part));
    child.stderr.on("data", (part) => (stderr += part));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? aiServerTimeouts.sshCommandMs);
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      done();
      reject(new SshFailureError(error.code === "ENOENT" ? { code: "ssh-missing" } : { code: "ssh-failed", detail: error.message }));
    });
    child.once("close", (code) => {
      done();
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

function sshFailure(host: string, what: string, result: SshResult): Error {
  return new SshFailureError({
    code: "remote-failed",
    host,
    what,
    detail: result.stderr.trim() || `exit code ${result.code}`,
    exitCode: result.code,
  });
}

/** Expands a leading ~/ on the remote side (the path arrives quoted, so the shell will not). */
const RESOLVE_FILE = `case $file in "~/"*) file="$HOME/\${file#"~/"}";; "~") file=$HOME;; esac`;

/**
 * Sets `ctx-size` in one section of the preset, changing nothing else: other sections,
 * comments and key order stay. Written to a temp file and renamed (atomic), the old file
 * kept as <preset>.bak. Prints the previous value.
 */
export const PRESET_EDIT_SCRIPT = `set -eu
id=$1; size=$2; file=$3
${RESOLVE_FILE}
if [ ! -f "$file" ]; then echo "preset file $file does not exist" >&2; exit 3; fi
section='function enter(line,   s, n) { s = line; sub(/^[ \\t]*\\[/, "", s); n = index(s, "]"); return n ? substr(s, 1, n - 1) : s }'
old=$(awk -v id="$id" "$section"'
  /^[ \\t]*\\[/ { insec = (enter($0) == id); next }
  insec && /^[ \\t]*ctx-size[ \\t]*=/ { v = $0; sub(/^[^=]*=[ \\t]*/, "", v); print v; exit }
' "$file")
tmp="$file.pi-edit.$$"
cp -p "$file" "$tmp"
status=0
awk -v id="$id" -v size="$size" -v had="$old" "$section"'
  /^[ \\t]*\\[/ { insec = (enter($0) == id); print; if (insec) { found = 1; if (had == "" && !done) { print "ctx-size = " size; done = 1 } }; next }
  insec && /^[ \\t]*ctx-size[ \\t]*=/ { if (!done) { print "ctx-size = " size; done = 1 }; next }
  { print }
  END { if (!found) exit 4 }
' "$file" > "$tmp" || status=$?
if [ "$status" -ne 0 ]; then
  rm -f "$tmp"
  if [ "$status" -eq 4 ]; then echo "no [$id] section in $file" >&2; fi
  exit "$status"
fi
cp -p "$file" "$file.bak"
mv -f "$tmp" "$file"
echo "previous=$old"
`;

export async function setPresetCtxSize(
  host: string,
  presetPath: string,
  id: string,
  size: number,
  signal?: AbortSignal,
): Promise<{ previous: number | undefined }> {
  const result = await runSsh(host, ["sh", "-s", "--", id, String(size), presetPath], { stdin: PRESET_EDIT_SCRIPT, signal });
  if (result.code !== 0) throw sshFailure(host, `editing ${presetPath}`, result);
  const previous = /previous=(\d+)/.exec(result.stdout)?.[1];
  return { previous: previous ? Number(previous) : undefined };
}

export async function readPresetFile(host: string, presetPath: string): Promise<string> {
  const result = await runSsh(host, ["sh", "-s", "--", presetPath], { stdin: `set -eu\nfile=$1\n${RESOLVE_FILE}\ncat -- "$file"\n` });
  if (result.code !== 0) throw sshFailure(host, `reading ${presetPath}`, result);
  return result.stdout;
}

export async function restartRouterService(host: string, signal?: AbortSignal): Promise<void> {
  const result = await runSsh(host, ["systemctl", "--user", "restart", "llama-server.service"], {
    timeoutMs: aiServerTimeouts.sshRestartMs,
    signal,
  });
  if (result.code !== 0) throw sshFailure(host, "systemctl --user restart llama-server.service", result);
}
