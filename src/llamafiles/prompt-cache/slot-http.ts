/**
 * The slot endpoints of a local llama-server: `POST /slots/<id>?action=save|restore` and
 * `GET /slots`, `GET /props` read for what the prompt cache needs (docs/llama-server-behaviour.md,
 * "Slots: save and restore"). node:http, capped answers, a timeout and an abort signal, as
 * src/llamafiles/server-http.ts does for its probes.
 */
import { request } from "node:http";

export interface LocalAnswer {
  status: number;
  /** The body as JSON; undefined when it is not JSON (or too large). */
  json: unknown;
}

/** Slot answers and /slots are small; a larger body is not believed. */
const MAX_ANSWER_BYTES = 256 * 1024;

export function askLocal(
  port: number,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<LocalAnswer> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    const text = body === undefined ? undefined : JSON.stringify(body);
    let settled = false;
    const finish = (error: Error | undefined, answer?: LocalAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      outgoing.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    const onAbort = () => finish(options.signal!.reason instanceof Error ? options.signal!.reason : new Error("aborted"));
    const outgoing = request(
      {
        host: "localhost",
        port,
        path,
        method,
        agent: false,
        headers:
          text === undefined
            ? { accept: "application/json" }
            : { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
        });
        response.on("error", (error) => finish(error));
        response.on("end", () => {
          let json: unknown;
          try {
            json = size <= MAX_ANSWER_BYTES ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
          } catch {
            json = undefined;
          }
          finish(undefined, { status: response.statusCode ?? 0, json });
        });
      },
    );
    outgoing.on("error", (error) => finish(error));
    const timer = setTimeout(() => finish(new Error(`no answer from port ${port} within ${options.timeoutMs} ms`)), options.timeoutMs);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    outgoing.end(text);
  });
}

/** POST /slots/<slot>?action=…: the slot id is always one the server has (ids out of range wrap around, D02). */
export function slotAction(
  port: number,
  slot: number,
  action: "save" | "restore",
  filename: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<LocalAnswer> {
  return askLocal(port, "POST", `/slots/${slot}?action=${action}`, { filename }, options);
}

/**
 * Whether the server can save slots, without writing anything: a save with a file name it must
 * refuse answers 400 "Invalid filename" when it can, 501 when it was started without
 * --slot-save-path (that check comes first), 404 without the endpoint (D03, D11).
 */
export async function saveSupported(port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<number> {
  return (await askLocal(port, "POST", "/slots/0?action=save", { filename: "../probe" }, options)).status;
}

/** What GET /props says that a saved file must match: the model file, the context of one slot, the slots. */
export interface ServingFacts {
  modelPath: string | undefined;
  contextPerSlot: number | undefined;
  slots: number | undefined;
  sleeping: boolean;
}

const object = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const positive = (value: unknown) => (typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined);

export async function servingFacts(port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ServingFacts> {
  const answer = await askLocal(port, "GET", "/props", undefined, options);
  const root = answer.status === 200 ? object(answer.json) : {};
  return {
    modelPath: typeof root.model_path === "string" && root.model_path.length < 4096 ? root.model_path : undefined,
    contextPerSlot: positive(object(root.default_generation_settings).n_ctx),
    slots: positive(root.total_slots),
    sleeping: root.is_sleeping === true,
  };
}

/**
 * Use of the server by any client, from GET /slots: the highest task id a slot ran (it moves
 * with every request placed in a slot, failed ones too, and with nothing else) and whether a
 * slot is busy now (D08). Undefined when the server does not say (no /slots). Asked only when
 * the server is awake: /slots wakes a sleeping server (D13).
 */
/** The task id `slot` ran last (GET /slots), or undefined when the server does not say. */
export async function slotTask(
  port: number,
  slot: number,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<number | undefined> {
  const answer = await askLocal(port, "GET", "/slots", undefined, options);
  if (answer.status !== 200 || !Array.isArray(answer.json)) return undefined;
  const entry = object((answer.json as unknown[]).find((candidate) => object(candidate).id === slot));
  return typeof entry.id_task === "number" && Number.isSafeInteger(entry.id_task) ? entry.id_task : undefined;
}

export async function slotUse(
  port: number,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<{ lastTask: number; busy: boolean } | undefined> {
  const answer = await askLocal(port, "GET", "/slots", undefined, options);
  if (answer.status !== 200 || !Array.isArray(answer.json)) return undefined;
  let lastTask = -1;
  let busy = false;
  for (const slot of answer.json as unknown[]) {
    const entry = object(slot);
    if (typeof entry.id_task === "number" && Number.isSafeInteger(entry.id_task)) lastTask = Math.max(lastTask, entry.id_task);
    if (entry.is_processing === true) busy = true;
  }
  return { lastTask, busy };
}
