/**
 * What answers on a local port: GET /v1/models, the readiness and adoption endpoint, and
 * GET /props, what the server serves (docs/llama-server-behaviour.md). node:http rather than
 * got: a loopback request needs none of got's features, loads in no time (got costs ~100 ms
 * to import), and lets the answer be capped and the failures told apart: nothing listening,
 * something that is not an HTTP server, a server still loading, a server serving.
 */
import { get } from "node:http";
import type { ServerProps } from "../../machines/server-props.ts";
import { serverPropsFromText } from "../llama-cpp/props.ts";

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

type RawAnswer =
  | { kind: "answer"; status: number; body: string }
  | { kind: "refused" }
  | { kind: "too-large" }
  | { kind: "not-http"; detail: string };

/** A server's answer is read up to this size; a model list or /props is a few kilobytes. */
const MAX_ANSWER_BYTES = 1024 * 1024;

function getLocal(port: number, path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    let settled = false;
    const finish = (answer: RawAnswer) => {
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
    const request = get({ host: "localhost", port, path, agent: false, headers: { accept: "application/json" } }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) return finish({ kind: "too-large" });
        chunks.push(chunk);
      });
      response.on("error", () => finish({ kind: "not-http", detail: "the answer broke off" }));
      response.on("end", () => finish({ kind: "answer", status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
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

export async function askModels(port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ModelsAnswer> {
  const answer = await getLocal(port, "/v1/models", options);
  if (answer.kind === "too-large") return { kind: "unexpected", detail: "/v1/models answered more than 1 MiB" };
  if (answer.kind !== "answer") return answer;
  if (answer.status === 503) return { kind: "loading" };
  if (answer.status < 200 || answer.status >= 300) return { kind: "unexpected", detail: `HTTP ${answer.status} on /v1/models` };
  try {
    const body = JSON.parse(answer.body) as { data?: Array<{ id?: unknown }> };
    const ids = (Array.isArray(body?.data) ? body.data : []).map((entry) => entry?.id).filter((id): id is string => typeof id === "string");
    return { kind: "serving", ids };
  } catch {
    return { kind: "unexpected", detail: "/v1/models did not return JSON" };
  }
}

/** GET /props: what the server serves; {} when it does not say (an old llamafile, any failure). */
export async function askProps(port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ServerProps> {
  const answer = await getLocal(port, "/props", options);
  return answer.kind === "answer" && answer.status === 200 ? serverPropsFromText(answer.body) : {};
}
