/**
 * The model pi will start with, as far as its command line and its settings say, read before
 * any session exists: `--model provider/id` (or `--provider p --model id`), else the
 * `defaultProvider` and `defaultModel` of the project's `.pi/settings.json`, then of
 * `~/.pi/agent/settings.json`. A feature that registers some models only after start-up uses it
 * to register them at once when pi would otherwise not find the one it starts with. (A resumed
 * session's own model is not known before the session loads.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseJsonWithComments } from "../util/json-with-comments.ts";

export interface StartModel {
  provider: string | undefined;
  id: string;
  /** Named by `--model` (pi prefers it to a resumed session's model), not by settings. */
  fromCommandLine?: true;
}

function argument(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}

function fromSettings(path: string): StartModel | undefined {
  try {
    const settings = parseJsonWithComments(readFileSync(path, "utf8")) as { defaultProvider?: unknown; defaultModel?: unknown } | null;
    const id = settings?.defaultModel;
    if (typeof id !== "string") return undefined;
    return { provider: typeof settings?.defaultProvider === "string" ? settings.defaultProvider : undefined, id };
  } catch {
    // No settings file, or one pi will complain about itself.
    return undefined;
  }
}

export function startModel(where: { agentDir: string; cwd: string }, argv: readonly string[] = process.argv): StartModel | undefined {
  const model = argument(argv, "--model");
  if (model !== undefined) {
    const provider = argument(argv, "--provider");
    if (provider !== undefined) return { provider, id: model, fromCommandLine: true };
    const slash = model.indexOf("/");
    return slash > 0
      ? { provider: model.slice(0, slash), id: model.slice(slash + 1), fromCommandLine: true }
      : { provider: undefined, id: model, fromCommandLine: true };
  }
  return fromSettings(join(where.cwd, ".pi", "settings.json")) ?? fromSettings(join(where.agentDir, "settings.json"));
}
