/** What a local server says on GET /v1/models: the readiness and adoption endpoint (docs/architecture.md). */
import type { Got, Response } from "got";

// got costs ~100 ms to import: load it on the first probe, not while pi starts.
let gotClient: Promise<Got> | undefined;
const loadGot = () => (gotClient ??= import("got").then((module) => module.default));

export type ModelsAnswer =
  /** Nothing listens (or it did not answer in time): the port is free for us. */
  | { kind: "refused" }
  /** llama-server and llamafile answer 503 "Loading model" on every endpoint while loading. */
  | { kind: "loading" }
  | { kind: "serving"; ids: string[] }
  /** Something answers HTTP, but not like a llama.cpp server. */
  | { kind: "unexpected"; detail: string };

export function modelsUrl(port: number): string {
  return `http://localhost:${port}/v1/models`;
}

export async function askModels(port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ModelsAnswer> {
  const got = await loadGot();
  let response: Response<string>;
  try {
    response = await got(modelsUrl(port), {
      timeout: { request: options.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { kind: "refused" };
  }
  if (response.statusCode === 503) return { kind: "loading" };
  if (response.statusCode < 200 || response.statusCode >= 300) {
    return { kind: "unexpected", detail: `HTTP ${response.statusCode} on /v1/models` };
  }
  try {
    const body = JSON.parse(response.body) as { data?: Array<{ id?: unknown }> };
    const ids = (body.data ?? []).map((entry) => entry.id).filter((id): id is string => typeof id === "string");
    return { kind: "serving", ids };
  } catch {
    return { kind: "unexpected", detail: "/v1/models did not return JSON" };
  }
}
