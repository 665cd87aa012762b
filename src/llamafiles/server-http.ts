/**
 * What answers on a local port, asked with GET /v1/models: the readiness and adoption
 * endpoint (docs/llama-server-behaviour.md). node:http rather than got: a loopback request
 * needs none of got's features, loads in no time (got costs ~100 ms to import), and lets the
 * answer be capped and the failures told apart: nothing listening, something that is not an
 * HTTP server, a server still loading, a server serving.
 */
import { get } from "node:http";

export type ModelsAnswer =
  /** Nothing listens: the port is free. */
  | { kind: "refused" }
  /** llama-server and llamafile answer 503 "Loading model" on every endpoint while loading. */
  | { kind: "loading" }
  | { kind: "serving"; ids: string[] }
  /** Something answers HTTP, but not like a llama.cpp server. */
  | { kind: "unexpected"; detail: string }
  /** Something accepts connections but does not speak HTTP (or says nothing in time). */
  | { kind: "not-http"; detail: string };

/** A server's answer is read up to this size; a model list is a few kilobytes. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export function modelsUrl(port: number): string {
  return `http://localhost:${port}/v1/models`;
}

export function askModels(port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ModelsAnswer> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    let settled = false;
    const finish = (answer: ModelsAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      request.destroy();
      resolve(answer);
    };
    const onAbort = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(options.signal!.reason);
    };
    const request = get(
      { host: "localhost", port, path: "/v1/models", agent: false, headers: { accept: "application/json" } },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) return finish({ kind: "unexpected", detail: "/v1/models answered more than 1 MiB" });
          chunks.push(chunk);
        });
        response.on("error", () => finish({ kind: "not-http", detail: "the answer broke off" }));
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          if (status === 503) return finish({ kind: "loading" });
          if (status < 200 || status >= 300) return finish({ kind: "unexpected", detail: `HTTP ${status} on /v1/models` });
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data?: Array<{ id?: unknown }> };
            const ids = (Array.isArray(body?.data) ? body.data : [])
              .map((entry) => entry?.id)
              .filter((id): id is string => typeof id === "string");
            finish({ kind: "serving", ids });
          } catch {
            finish({ kind: "unexpected", detail: "/v1/models did not return JSON" });
          }
        });
      },
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") finish({ kind: "refused" });
      else finish({ kind: "not-http", detail: error.code ?? error.message });
    });
    const timer = setTimeout(
      () => finish({ kind: "not-http", detail: `no HTTP answer within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
