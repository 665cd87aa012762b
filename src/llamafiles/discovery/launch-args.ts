/**
 * The command line of a discovered model's server (pure), and the checks on the arguments a
 * user adds (`serverArgs`, for every model and per model).
 */
import type { CacheTypes } from "./memory-estimate.ts";

export type ServerArgsProblem =
  | { code: "not-a-list" }
  | { code: "not-a-string"; index: number }
  | { code: "control-character"; index: number }
  | { code: "reserved-flag"; index: number; flag: string; reservedFor: ReservedFor }
  | { code: "bad-context"; index: number };

/** What pi decides of a discovered model's server itself. */
export type ReservedFor = "address" | "id" | "model" | "projector";

/**
 * The flags (llama.cpp's common/arg.cpp, which a llamafile keeps) that would decide it otherwise,
 * coming after discovery's own: llama.cpp takes the last of a repeated flag.
 *   address    pi probes and sends to 127.0.0.1 and the port it chose: a server elsewhere is never found.
 *   id         the server must advertise the discovered id: with another alias pi does not recognise
 *              its own server (a warning at every start, and no adoption after a restart).
 *   model      the file discovery found is what the id, the name, the context and the estimate describe.
 *   projector  the one beside the model, which the model's image input follows.
 * Another model or projector is a model of its own: declared in models.json.
 */
const RESERVED_FLAGS = new Map<string, ReservedFor>([
  ["--host", "address"],
  ["--port", "address"],
  ["-a", "id"],
  ["--alias", "id"],
  ["-m", "model"],
  ["--model", "model"],
  ["-mu", "model"],
  ["--model-url", "model"],
  ["-hf", "model"],
  ["-hfr", "model"],
  ["--hf-repo", "model"],
  ["-hff", "model"],
  ["--hf-file", "model"],
  ["-dr", "model"],
  ["--docker-repo", "model"],
  ["-mm", "projector"],
  ["--mmproj", "projector"],
  ["-mmu", "projector"],
  ["--mmproj-url", "projector"],
]);

/** The flag an argument names as llama.cpp reads it: a long flag's "_" is "-" (`--hf_repo`); "=value" is cut off. */
function flagName(arg: string): string {
  return arg.startsWith("--") ? arg.split("=", 1)[0]!.replaceAll("_", "-") : arg;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTEXT_FLAGS = new Set(["-c", "--ctx-size"]);

/** Reads a flag's value from `args`: `-c 4096`, `--ctx-size 4096` or `--ctx-size=4096`; the last one wins, as in llama.cpp. */
function flagValue(args: string[], flags: Set<string>): { value: string; index: number } | undefined {
  let found: { value: string; index: number } | undefined;
  args.forEach((arg, index) => {
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0 && flags.has(arg.slice(0, eq))) found = { value: arg.slice(eq + 1), index };
    else if (flags.has(arg) && index + 1 < args.length) found = { value: args[index + 1]!, index };
  });
  return found;
}

/** `serverArgs` as the user wrote them: a list of strings with no control characters, that leaves RESERVED_FLAGS to pi. */
export function checkServerArgs(value: unknown): { ok: true; args: string[] } | { ok: false; problem: ServerArgsProblem } {
  if (!Array.isArray(value)) return { ok: false, problem: { code: "not-a-list" } };
  for (const [index, arg] of value.entries()) {
    if (typeof arg !== "string") return { ok: false, problem: { code: "not-a-string", index } };
    if (CONTROL.test(arg)) return { ok: false, problem: { code: "control-character", index } };
    const flag = flagName(arg);
    const reservedFor = RESERVED_FLAGS.get(flag);
    if (reservedFor) return { ok: false, problem: { code: "reserved-flag", index, flag, reservedFor } };
  }
  const args = value as string[];
  const context = flagValue(args, CONTEXT_FLAGS);
  if (context && !/^\d{1,9}$/.test(context.value)) return { ok: false, problem: { code: "bad-context", index: context.index } };
  return { ok: true, args };
}

/**
 * What the user's arguments decide that discovery must know: a context size (`-c`; 0 means the
 * trained context, as in llama.cpp) and the KV cache types (`-ctk`, `-ctv`; f16 by default).
 */
export function userChoices(args: string[]): { context: number | undefined; cache: CacheTypes } {
  const context = flagValue(args, CONTEXT_FLAGS);
  return {
    context: context ? Number(context.value) : undefined,
    cache: {
      k: flagValue(args, new Set(["-ctk", "--cache-type-k"]))?.value ?? "f16",
      v: flagValue(args, new Set(["-ctv", "--cache-type-v"]))?.value ?? "f16",
    },
  };
}

export interface LaunchInput {
  /** The server's `--alias`: what it advertises on /v1/models, so a running one is recognised (adopted) by id. */
  id: string;
  port: number;
  /** Passed as `-c` unless the user's arguments give one. */
  context: number;
  /** The user's arguments: for every model, then this model's (llama.cpp takes the last of a repeated flag). */
  userArgs: string[];
}

/** What pi finds its own server by: the id it advertises, on loopback, on the model's port. */
const identityArgs = (input: LaunchInput) => ["--alias", input.id, "--host", "127.0.0.1", "--port", String(input.port)];

/** llama-server: `-m` the model (the first file of a split: llama.cpp finds the others by name). */
export function llamaServerArgs(
  input: LaunchInput & { modelFile: string; projector: string | undefined; chatTemplate: boolean },
): string[] {
  return [
    "-m",
    input.modelFile,
    ...identityArgs(input),
    ...contextArgs(input),
    ...(input.chatTemplate ? ["--jinja"] : []),
    ...(input.projector ? ["--mmproj", input.projector] : []),
    ...input.userArgs,
  ];
}

/**
 * A llamafile is its own command. Its documentation (docs/running_llamafile.md in the llamafile
 * repository) runs it as a server with `--server` (the web server only, no chat in the terminal)
 * and `--nobrowser` (no browser tab); the rest are llama.cpp's server flags, which it keeps.
 * No `--jinja` or `--mmproj`: older llamafiles refuse flags they do not know, and a llamafile
 * carries its own projector.
 */
export function llamafileArgs(input: LaunchInput): string[] {
  return ["--server", "--nobrowser", ...identityArgs(input), ...contextArgs(input), ...input.userArgs];
}

function contextArgs(input: LaunchInput): string[] {
  return userChoices(input.userArgs).context === undefined ? ["-c", String(input.context)] : [];
}
