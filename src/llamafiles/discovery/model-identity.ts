/**
 * Ids and display names of discovered models (pure). An id is what pi's model list, settings and
 * `--model llamafiles/<id>` use, and what the server advertises (`--alias`): it must stay the
 * same across restarts and rescans, read well, and be unique.
 */
import { terminalSafe } from "../../pi-session/terminal-text.ts";

/** A short, stable hash (FNV-1a, 32 bits) of a text. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

const shortHash = (text: string) => fnv1a(text).toString(16).padStart(8, "0").slice(0, 6);

/** "Qwen2.5-Coder-7B-Instruct-Q4_K_M" → "qwen2.5-coder-7b-instruct-q4_k_m". */
export function slugOf(stem: string): string {
  return stem
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-._]+|[-._]+$/g, "");
}

/**
 * One id per model, in the order given (folders in their configured order, paths sorted): the
 * slug of its file name; a slug already taken (the same file name in two folders) gets the first
 * six hex digits of a hash of its path, so the first keeps the plain id and each other one keeps
 * its own across rescans.
 */
export function assignIds(models: Array<{ stem: string; path: string }>, taken: Iterable<string> = []): string[] {
  const used = new Set(taken);
  return models.map(({ stem, path }) => {
    const slug = slugOf(stem) || "model";
    let id = used.has(slug) ? `${slug}-${shortHash(path)}` : slug;
    for (let n = 2; used.has(id); n++) id = `${slug}-${shortHash(`${path}#${n}`)}`;
    used.add(id);
    return id;
  });
}

/** "4.4 GiB", "462 KiB": one decimal under 10, none above. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value).toString() : (Math.round(value * 10) / 10).toString();
  return `${shown} ${units[unit]}`;
}

/**
 * "Qwen2.5 Coder 7B Instruct · Q4_K_M · 4.4 GiB": the model's own name, its quantisation, its size
 * on disk. One line, terminal-safe: the name comes from the file, and pi shows it in /model
 * without filtering it (escape sequences dropped, other control characters "?", lines joined).
 */
export function displayName(input: { name: string | undefined; stem: string; quantization: string | undefined; bytes: number }): string {
  const text = [input.name ?? input.stem, input.quantization, formatBytes(input.bytes)].filter(Boolean).join(" · ");
  return terminalSafe(text).replace(/\n/g, " ");
}
