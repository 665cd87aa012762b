/**
 * The command line and environment a server runs with: `{{port}}` and `{{promptCacheDir}}`
 * filled in, and for a llama-server whose prompt cache pi keeps, what pi adds
 * (src/llamafiles/prompt-cache/launch.ts). The start (spawn.ts) and the prompt cache, which
 * records the layout beside each file it saves, read the same line.
 */
import type { LaunchSpec } from "../../../machines/local-server.machine.ts";
import { promptCacheLaunch, withPromptCacheDir } from "../prompt-cache/launch.ts";
import { resolveArgs } from "./port-template.ts";

export interface LaunchLine {
  args: string[];
  /** The variables pi sets beyond its own environment (the model's `env`, and what the prompt cache adds). */
  env: Record<string, string>;
}

export function launchLine(model: LaunchSpec, inherited: Readonly<Record<string, string | undefined>> = process.env): LaunchLine {
  const cache = model.promptCache;
  const args = resolveArgs(cache ? withPromptCacheDir(model.args, cache.dir) : model.args, model.port);
  if (cache?.via !== "append") return { args, env: { ...model.env } };
  const added = promptCacheLaunch(args, { ...inherited, ...model.env }, cache.dir);
  return { args: [...args, ...added.args], env: { ...model.env, ...added.env } };
}
