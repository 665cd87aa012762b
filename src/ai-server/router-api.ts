/**
 * The router's own HTTP endpoints (control plane), over mTLS with got: GET /models,
 * POST /models/load and /models/unload (body key "model"), GET /health. A failure rejects
 * with a `RouterFailureError` whose value has a code (src/ai-server/router-failures.ts).
 */
import type { Got, Response } from "got";
import type { ServerProps } from "../../machines/server-props.ts";
import { serverPropsFromText } from "../llama-cpp/props.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import type { AiServerSettings } from "./config.ts";
import { classifyHttpFailure, classifyTransportError, type RequestContext, RouterFailureError } from "./router-failures.ts";
import type { TlsMaterial } from "./tls.ts";

/** A model's `status` in GET /models (not the chart's status: machines/router-model.machine.ts). */
export interface ListedModelStatus {
  value: "unloaded" | "loading" | "loaded" | "sleeping" | string;
  args?: string[];
  preset?: string;
  failed?: boolean;
  exit_code?: number;
}

export interface RouterModel {
  id: string;
  aliases?: string[];
  status?: ListedModelStatus;
  meta?: { n_ctx?: number; n_ctx_train?: number };
}

export interface RouterApi {
  list(options?: { reload?: boolean; timeoutMs?: number; signal?: AbortSignal }): Promise<RouterModel[]>;
  load(id: string, signal?: AbortSignal): Promise<void>;
  unload(id: string, signal?: AbortSignal): Promise<void>;
  /** true when GET /health answers 200. */
  healthy(signal?: AbortSignal): Promise<boolean>;
  /** GET /props?model=<id>&autoload=false: what a loaded model's worker serves; {} when it does not say. */
  props(id: string, signal?: AbortSignal): Promise<ServerProps>;
  /**
   * POST /slots/<slot>?action=save|restore&autoload=false with the model in the body (the
   * router proxies it to the model's worker; autoload off: never loads it, D09): the answer's
   * status and JSON, whatever the status.
   */
  slotAction(
    id: string,
    slot: number,
    action: "save" | "restore",
    filename: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; json: unknown }>;
}

export function createRouterApi(settings: AiServerSettings, tls: TlsMaterial): RouterApi {
  let client: Promise<Got> | undefined;
  // got costs ~100 ms to import: only when the router is actually used.
  const http = () =>
    (client ??= import("got").then(({ default: got }) =>
      got.extend({
        prefixUrl: settings.url,
        https: { certificateAuthority: tls.ca, certificate: tls.cert, key: tls.key },
        retry: { limit: 0 },
        throwHttpErrors: false,
        timeout: { request: aiServerTimeouts.controlRequestMs },
      }),
    ));

  async function call(
    method: "GET" | "POST",
    path: string,
    context: RequestContext,
    options: { json?: unknown; timeoutMs?: number; signal?: AbortSignal; searchParams?: Record<string, string> } = {},
  ): Promise<string> {
    const got = await http();
    let response: Response<string>;
    try {
      response = await got(path, {
        method,
        json: options.json,
        searchParams: options.searchParams,
        signal: options.signal,
        ...(options.timeoutMs ? { timeout: { request: options.timeoutMs } } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new RouterFailureError({ ...context, ...classifyTransportError(error) });
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new RouterFailureError(classifyHttpFailure(response.statusCode, response.body, context));
    }
    return response.body;
  }

  return {
    async list(options = {}) {
      const body = await call(
        "GET",
        "models",
        { action: "list models" },
        {
          ...options,
          searchParams: options.reload ? { reload: "1" } : undefined,
        },
      );
      try {
        return ((JSON.parse(body) as { data?: RouterModel[] }).data ?? []).filter((model) => typeof model?.id === "string");
      } catch {
        throw new RouterFailureError({ code: "not-json", action: "list models" });
      }
    },
    async load(id, signal) {
      await call("POST", "models/load", { action: "load", modelId: id }, { json: { model: id }, signal });
    },
    async unload(id, signal) {
      await call("POST", "models/unload", { action: "unload", modelId: id }, { json: { model: id }, signal });
    },
    async props(id, signal) {
      try {
        const body = await call(
          "GET",
          "props",
          { action: "read the props of", modelId: id },
          // autoload=false: asking must never load a model (and evict another).
          { signal, searchParams: { model: id, autoload: "false" }, timeoutMs: aiServerTimeouts.healthMs },
        );
        return serverPropsFromText(body);
      } catch (error) {
        if (signal?.aborted) throw error;
        return {};
      }
    },
    async slotAction(id, slot, action, filename, signal) {
      const got = await http();
      try {
        const response = await got(`slots/${slot}`, {
          method: "POST",
          json: { filename, model: id },
          searchParams: { action, autoload: "false" },
          signal,
          // A save or restore is bounded by the router chart (SAVE_TIME_LIMIT, RESTORE_TIME_LIMIT), not here.
          timeout: { request: 24 * 3_600_000 },
        });
        let json: unknown;
        try {
          json = JSON.parse(response.body);
        } catch {
          json = undefined;
        }
        return { status: response.statusCode, json };
      } catch (error) {
        if (signal?.aborted) throw error;
        throw new RouterFailureError({ action: `${action} a slot of`, modelId: id, ...classifyTransportError(error) });
      }
    },
    async healthy(signal) {
      try {
        await call("GET", "health", { action: "health" }, { signal, timeoutMs: aiServerTimeouts.healthMs });
        return true;
      } catch (error) {
        if (signal?.aborted) throw error;
        return false;
      }
    },
  };
}
