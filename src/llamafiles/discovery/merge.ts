/**
 * Models configured in models.json win over discovered ones (pure): a discovered model with the
 * id of a configured one, or the file a configured one runs, is left out and listed as skipped.
 */
import type { DiscoveredModel, SkippedFile } from "./discover.ts";

/** What discovery needs of a configured model. */
export interface ConfiguredModel {
  id: string;
  command: string;
  args: string[];
}

const MODEL_FILE = /\.(gguf|llamafile)$/i;

/**
 * The model files a configured model names: its command when it is a llamafile, and every
 * argument that is a model file (`-m x.gguf`, `--model=x.gguf`, `sh x.llamafile`, `--mmproj` is no model).
 */
export function filesNamedBy(model: ConfiguredModel): string[] {
  const files = MODEL_FILE.test(model.command) ? [model.command] : [];
  model.args.forEach((arg, index) => {
    if (model.args[index - 1] === "--mmproj" || model.args[index - 1] === "-mm") return;
    const value = arg.startsWith("--model=") ? arg.slice("--model=".length) : arg;
    if (MODEL_FILE.test(value)) files.push(value);
  });
  return files;
}

/**
 * The discovered models no configured model shadows, and the shadowed ones as skipped files.
 * `sameFile` compares two paths (by real path, in the caller: this module does no I/O).
 */
export function withoutConfigured(
  discovered: DiscoveredModel[],
  configured: ConfiguredModel[],
  realPath: (path: string) => string,
): { models: DiscoveredModel[]; skipped: SkippedFile[] } {
  const byId = new Map(configured.map((model) => [model.id, model.id]));
  const byFile = new Map<string, string>();
  for (const model of configured)
    for (const file of filesNamedBy(model)) if (!byFile.has(realPath(file))) byFile.set(realPath(file), model.id);
  const models: DiscoveredModel[] = [];
  const skipped: SkippedFile[] = [];
  for (const model of discovered) {
    const path = model.files[0]!;
    const sameId = byId.get(model.id);
    const sameFile = byFile.get(realPath(path));
    if (sameId !== undefined) skipped.push({ path, reason: { code: "configured", by: sameId, why: "same-id" } });
    else if (sameFile !== undefined) skipped.push({ path, reason: { code: "configured", by: sameFile, why: "same-file" } });
    else models.push(model);
  }
  return { models, skipped };
}
