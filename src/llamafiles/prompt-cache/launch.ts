/**
 * How a server pi starts gets its prompt-cache folder. llama-server has no environment
 * variable for `--slot-save-path`: it must be an argument. pi adds it by itself only to a
 * command that is llama-server (a llamafile or another program may refuse an unknown flag and
 * not start); any command can have it where its args say `{{promptCacheDir}}`.
 *
 * For llama-server pi also chooses the slot layout, through the environment (an older build
 * ignores a variable it does not know, where it would refuse an unknown flag), unless the args
 * or the environment already say it: 4 slots (`LLAMA_ARG_N_PARALLEL`) sharing one unified KV
 * cache (`LLAMA_ARG_KV_UNIFIED`), so each pi session sharing the server has a slot of its own
 * with the whole context, and idle slots are not cleared (`LLAMA_ARG_CACHE_IDLE_SLOTS=0`):
 * docs/llama-server-behaviour.md, "Slots: save and restore", says why.
 */
import { basename } from "node:path";
import type { PromptCacheSpec } from "../../../machines/local-server.machine.ts";
import { promptCacheDir } from "./paths.ts";

export const PROMPT_CACHE_DIR_PLACEHOLDER = "{{promptCacheDir}}";
/** Slots pi asks a llama-server for: one per pi session sharing it. */
export const SESSION_SLOTS = 4;

/** How a server gets the folder: pi adds `--slot-save-path` (llama-server), or the args name the placeholder. */
export type PromptCacheVia = "append" | "placeholder";

export const isLlamaServer = (command: string) => /^llama-server(\.exe)?$/i.test(basename(command));

const namesSavePath = (args: readonly string[]) => args.some((arg) => arg === "--slot-save-path" || arg.startsWith("--slot-save-path="));

/**
 * Whether pi can give this server a prompt-cache folder, and how; undefined when not (turned
 * off, a command pi adds nothing to, or args that name a save folder of the user's own).
 */
export function promptCacheVia(model: { command: string; args: readonly string[] }, wanted: boolean): PromptCacheVia | undefined {
  if (!wanted) return undefined;
  if (model.args.some((arg) => arg.includes(PROMPT_CACHE_DIR_PLACEHOLDER))) return "placeholder";
  if (namesSavePath(model.args)) return undefined;
  return isLlamaServer(model.command) ? "append" : undefined;
}

/**
 * The `promptCache` of a model pi launches, configured (config.ts) or discovered: put it in the
 * model's LaunchSpec and the rest follows (launch-line.ts adds `--slot-save-path` and the layout
 * at start; the chart saves and restores). The hook for src/llamafiles/discovery/launch-args.ts:
 * a discovered llama-server model gets `promptCacheSpec({ id, command, args }, wanted, budget)`;
 * a caller that builds the final command line itself adds `promptCacheLaunch(...)` instead.
 */
export function promptCacheSpec(
  model: { id: string; command: string; args: readonly string[] },
  wanted: boolean,
  budgetBytes: number,
): PromptCacheSpec | undefined {
  const via = promptCacheVia(model, wanted);
  return via && { dir: promptCacheDir(model.id), via, budgetBytes };
}

const LAYOUT_ARGS = ["-np", "--parallel", "-kvu", "--kv-unified", "-no-kvu", "--no-kv-unified"];
const IDLE_SLOT_ARGS = ["--cache-idle-slots", "--no-cache-idle-slots"];
const says = (args: readonly string[], flags: string[]) =>
  args.some((arg) => flags.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));

/**
 * What pi adds to a llama-server it starts so that it can save and restore this session's
 * slot: `--slot-save-path <dir>`, and the layout variables nobody set. `env` is everything the
 * server will see (pi's environment and the model's `env`). The hook for models whose args pi
 * builds itself (discovered models): add `args` after theirs, merge `env` under theirs.
 */
export function promptCacheLaunch(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  dir: string,
): { args: string[]; env: Record<string, string> } {
  const added: Record<string, string> = {};
  const layoutSaid = says(args, LAYOUT_ARGS) || env.LLAMA_ARG_N_PARALLEL !== undefined || env.LLAMA_ARG_KV_UNIFIED !== undefined;
  if (!layoutSaid) {
    added.LLAMA_ARG_N_PARALLEL = String(SESSION_SLOTS);
    added.LLAMA_ARG_KV_UNIFIED = "1";
  }
  if (!says(args, IDLE_SLOT_ARGS) && env.LLAMA_ARG_CACHE_IDLE_SLOTS === undefined) added.LLAMA_ARG_CACHE_IDLE_SLOTS = "0";
  return { args: ["--slot-save-path", dir], env: added };
}

/** Every `{{promptCacheDir}}` in an argument becomes the folder. */
export function withPromptCacheDir(args: readonly string[], dir: string): string[] {
  return args.map((arg) => arg.split(PROMPT_CACHE_DIR_PLACEHOLDER).join(dir));
}
