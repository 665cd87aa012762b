/**
 * The `fetch` pi-ai's openai-completions implementation uses for ai-server chats: an undici
 * Agent carrying the client certificate (never a global dispatcher: pi replaces that), no
 * bearer token, a bound on the whole request, and a guard that turns a stream the router
 * cut into an error instead of a silently truncated answer.
 *
 * The reason of a failure is recorded on the per-request `RequestReport` as a value, because
 * the OpenAI SDK replaces a failing fetch's error with "Connection error.".
 */
import { createSecureContext } from "node:tls";
import type { Agent } from "undici";
import type { AnswerTail } from "../llama-cpp/timings.ts";
import type { AiServerSettings } from "./config.ts";
import { classifyHttpFailure, classifyTransportError, errorDetail, type RouterFailure } from "./router-failures.ts";
import type { TlsMaterial } from "./tls.ts";

export interface RequestReport {
  /** Set when the request failed in a way the user should read about in our words. */
  failure: RouterFailure | undefined;
  /** Keeps the end of the answer, where llama.cpp puts its timings (src/llama-cpp/timings.ts). */
  tail?: AnswerTail;
}

type Fetch = typeof globalThis.fetch;

export function createMtlsFetchFactory(settings: AiServerSettings, tls: TlsMaterial) {
  let agent: Promise<{ Agent: typeof Agent; fetch: typeof import("undici").fetch; dispatcher: Agent }> | undefined;
  const undici = () =>
    (agent ??= import("undici").then((module) => ({
      Agent: module.Agent,
      fetch: module.fetch,
      // One TLS context for every connection (the router closes each proxied answer's connection):
      // parsing the CA and key again per connection costs milliseconds of time to first token.
      dispatcher: new module.Agent({ connect: { secureContext: createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key }) } }),
    })));

  return {
    /** A fetch for one request, reporting into `report`. */
    forRequest(report: RequestReport): Fetch {
      return (async (input: string | URL | Request, init?: RequestInit) => {
        const { fetch, dispatcher } = await undici();
        report.tail?.reset();
        const headers = new Headers(init?.headers);
        // The apiKey "ai-server-mtls" is a registry placeholder: authentication is the certificate.
        headers.delete("authorization");
        const timeout = AbortSignal.timeout(settings.timeoutMs);
        timeout.addEventListener("abort", () => {
          report.failure ??= { code: "request-timeout", detail: "during the answer" };
        });
        const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
        let response: Response;
        try {
          response = (await fetch(input as string, { ...(init as object), headers, signal, dispatcher } as never)) as unknown as Response;
        } catch (error) {
          report.failure = timeout.aborted
            ? { code: "request-timeout", detail: "before the answer" }
            : init?.signal?.aborted
              ? undefined
              : classifyTransportError(error);
          throw error;
        }
        if (!response.ok) {
          const body = await response.text();
          const model = (() => {
            try {
              return (JSON.parse(String(init?.body)) as { model?: string }).model;
            } catch {
              return undefined;
            }
          })();
          report.failure = classifyHttpFailure(response.status, body, { action: "chat with", modelId: model });
          return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
        }
        if (!response.body || !(response.headers.get("content-type") ?? "").includes("text/event-stream")) return response;
        const watched = watchConnection(response.body, report, () => timeout.aborted || init?.signal?.aborted === true);
        return new Response(watched.pipeThrough(guardEventStream(report, timeout)), {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      }) as Fetch;
    },
    async close(): Promise<void> {
      if (agent) await (await agent).dispatcher.close();
    },
  };
}

/**
 * The answer's bytes as they come, recording a connection that breaks mid-answer (the proxy
 * or router killed: undici says only "terminated") as a failure the user can read.
 */
function watchConnection(body: ReadableStream<Uint8Array>, report: RequestReport, cancelled: () => boolean): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        if (!cancelled()) report.failure ??= { code: "connection-lost", detail: errorDetail(error) };
        controller.error(error);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * Passes SSE bytes through unchanged while watching the lines: the router's raw
 * `proxy error: …` line, a `data: {"error":…}` event, or an end without `data: [DONE]`
 * (docs/llama-server-behaviour.md, "A cut answer") end the stream with an error.
 */
export function guardEventStream(report: RequestReport, timeout?: AbortSignal): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  // Only the last few characters of a chunk can begin a marker that ends in the next one.
  let tail = "";
  let done = false;
  let failed = false;
  const fail = (controller: TransformStreamDefaultController<Uint8Array>, failure: RouterFailure) => {
    failed = true;
    report.failure = failure;
    controller.error(new Error(`ai-server ${failure.code}`));
  };
  /** Scans text for the three markers; searching is far cheaper than splitting into lines. */
  const inspect = (text: string, controller: TransformStreamDefaultController<Uint8Array>) => {
    if (!done && text.includes("data: [DONE]")) done = true;
    const proxy = text.search(/^proxy error[^\n]*/im);
    if (proxy >= 0) {
      const line = text.slice(proxy).split("\n")[0]!.trim();
      return fail(controller, { code: "stream-cut", detail: line });
    }
    const errorAt = text.indexOf('data: {"error"');
    if (errorAt >= 0) {
      let detail = text.slice(errorAt + 6).split("\n")[0]!;
      try {
        detail = (JSON.parse(detail) as { error: { message?: string } }).error.message ?? detail;
      } catch {
        // keep the raw text
      }
      fail(controller, { code: "stream-error-event", detail });
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      if (failed) return;
      const text = tail + decoder.decode(chunk, { stream: true });
      // A marker is only judged once its line is complete.
      const lastNewline = text.lastIndexOf("\n");
      inspect(text.slice(0, lastNewline + 1), controller);
      tail = text.slice(lastNewline + 1);
      if (failed) return;
      report.tail?.add(chunk);
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (failed) return;
      if (tail) inspect(`${tail}\n`, controller);
      if (failed) return;
      if (timeout?.aborted) return fail(controller, { code: "request-timeout", detail: "during the answer" });
      if (!done) fail(controller, { code: "stream-incomplete" });
    },
  });
}
