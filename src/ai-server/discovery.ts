/**
 * Which router models pi may offer, and their context windows. A preset section without a
 * model path (no `--model` in status.args, no `model =` in status.preset) would hang in
 * "loading" forever if loaded, so it is never offered (docs/llama-server-behaviour.md,
 * "Placeholder presets").
 */
import type { RouterModel } from "./router-api.ts";

export function isPlaceholder(model: RouterModel): boolean {
  const args = model.status?.args ?? [];
  const hasModelArg = args.some((arg) => arg === "--model" || arg === "-m" || arg.startsWith("--model="));
  const hasModelKey = /^\s*model\s*=/m.test(model.status?.preset ?? "");
  return !hasModelArg && !hasModelKey;
}

/** --ctx-size (or -c) from the worker's command line: what the router actually starts it with. */
export function ctxSizeFromArgs(model: RouterModel): number | undefined {
  const args = model.status?.args ?? [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const inline = /^--ctx-size=(\d+)$/.exec(arg);
    if (inline) return Number(inline[1]);
    if ((arg === "--ctx-size" || arg === "-c") && /^\d+$/.test(args[i + 1] ?? "")) return Number(args[i + 1]);
  }
  return undefined;
}

export function contextWindowOf(model: RouterModel, fallback: number): number {
  const fromArgs = ctxSizeFromArgs(model);
  if (fromArgs && fromArgs > 0) return fromArgs;
  if (model.meta?.n_ctx && model.meta.n_ctx > 0) return model.meta.n_ctx;
  return fallback;
}

/**
 * What a model id must look like to be offered in pi and passed to commands and ssh: a router's
 * answer may hold anything (control characters, a line of 10 kB), and an id like that never
 * reaches pi's model list. A "/" inside is allowed: a router lists the models of its Hugging
 * Face cache as `org/repo-GGUF:quant`; one that could read as a path (`/x`, `a//b`, `..`, a
 * trailing "/") is not.
 */
const OFFERABLE_ID = /^[A-Za-z0-9][A-Za-z0-9._:+@/-]{0,199}$/;
const PATH_LIKE = /\/\/|\/$|\.\./;

export function isOfferableId(id: unknown): id is string {
  return typeof id === "string" && OFFERABLE_ID.test(id) && !PATH_LIKE.test(id);
}

export function usableModels(models: RouterModel[]): RouterModel[] {
  return models.filter((model) => isOfferableId(model.id) && !isPlaceholder(model));
}
