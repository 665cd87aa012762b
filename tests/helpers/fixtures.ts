/** The transcripts recorded from a real llama.cpp server, router and Caddy proxy (tests/fixtures/llama-server/, see docs/llama-server-behaviour.md). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures/llama-server/", import.meta.url));

export function fixture(name: string): string {
  return readFileSync(`${FIXTURES}${name}`, "utf8");
}

/** C03 holds several pretty-printed JSON objects one after the other. */
export function concatenatedJson<T>(text: string): T[] {
  return text
    .trim()
    .split(/\n}\n(?={)/)
    .map((part, i, all) => JSON.parse(i < all.length - 1 ? `${part}\n}` : part) as T);
}
