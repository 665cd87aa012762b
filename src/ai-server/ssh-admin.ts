/**
 * Admin work on the router host over the system `ssh` (BatchMode, connect timeout), argv
 * only. ssh joins the remote words into one shell command line, so every word is validated
 * first and single-quoted besides; scripts travel on stdin (`sh -s`), never in the argv.
 */
import { spawn } from "node:child_process";
import { SSH_TARGET } from "./config.ts";

/** Router model ids as llama.cpp names them (file names, preset sections, aliases). */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:+@-]{0,199}$/;

export function checkModelId(id: string, knownIds: readonly string[]): string | undefined {
  if (!SAFE_ID.test(id)) {
    return `ai-server: ${JSON.stringify(id)} is not a model id (letters, digits and . _ : + @ - only).${knownIds.length ? ` Known models: ${knownIds.join(", ")}.` : ""}`;
  }
  if (knownIds.length > 0 && !knownIds.includes(id)) return `ai-server: the router has no model "${id}". Known models: ${knownIds.join(", ")}.`;
  return undefined;
}

export function parseCtxSize(text: string): number | string {
  if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > 2 ** 31 - 1) {
    return `ai-server: the context size must be a positive whole number of tokens (got ${JSON.stringify(text)}), e.g. 65536.`;
  }
  return Number(text);
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runSsh(host: string, words: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<SshResult> {
  if (!SSH_TARGET.test(host)) return Promise.reject(new Error(`ai-server: AI_SERVER_SSH_HOST=${JSON.stringify(host)} is not a plain ssh target like user@host.`));
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "--", host, ...words.map(quote)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (part) => (stdout += part));
    child.stderr.on("data", (part) => (stderr += part));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(error.code === "ENOENT" ? "ai-server: the ssh command was not found on PATH (install OpenSSH's client)." : `ai-server: ssh failed: ${error.message}`));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

function sshFailure(host: string, what: string, result: SshResult): Error {
  const detail = result.stderr.trim() || `exit code ${result.code}`;
  const hint = result.code === 255 ? ` (ssh could not log in to ${host}: set up key authentication, e.g. ssh-copy-id ${host}; BatchMode allows no password prompt)` : "";
  return new Error(`ai-server: ${what} over ssh on ${host} failed: ${detail}${hint}`);
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

export async function setPresetCtxSize(host: string, presetPath: string, id: string, size: number): Promise<{ previous: number | undefined }> {
  const result = await runSsh(host, ["sh", "-s", "--", id, String(size), presetPath], { stdin: PRESET_EDIT_SCRIPT });
  if (result.code !== 0) throw sshFailure(host, `editing ${presetPath}`, result);
  const previous = /previous=(\d+)/.exec(result.stdout)?.[1];
  return { previous: previous ? Number(previous) : undefined };
}

export async function readPresetFile(host: string, presetPath: string): Promise<string> {
  const result = await runSsh(host, ["sh", "-s", "--", presetPath], { stdin: `set -eu\nfile=$1\n${RESOLVE_FILE}\ncat -- "$file"\n` });
  if (result.code !== 0) throw sshFailure(host, `reading ${presetPath}`, result);
  return result.stdout;
}

export async function restartRouterService(host: string): Promise<void> {
  const result = await runSsh(host, ["systemctl", "--user", "restart", "llama-server.service"], { timeoutMs: 120_000 });
  if (result.code !== 0) throw sshFailure(host, "systemctl --user restart llama-server.service", result);
}
