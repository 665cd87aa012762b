/**
 * The router's own HTTP endpoints (control plane), over mTLS with got: GET /models,
 * POST /models/load and /models/unload (body key "model"), GET /health.
 */
import type { Got } from "got";
import type { AiServerSettings } from "./config.ts";
import type { TlsMaterial } from "./tls.ts";
import { explainHttpFailure, explainTransportError, type FailureContext } from "./messages.ts";

export interface RouterModelStatus {
  value: "unloaded" | "loading" | "loaded" | "sleeping" | string;
  args?: string[];
  preset?: string;
  failed?: boolean;
  exit_code?: number;
}

export interface RouterModel {
  id: string;
  aliases?: string[];
  status?: RouterModelStatus;
  meta?: { n_ctx?: number; n_ctx_train?: number };
}

/** An error whose message is already written for people. */
export class RouterError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = "RouterError";
    this.status = status;
  }
}

export interface RouterApi {
  list(options?: { reload?: boolean; timeoutMs?: number; signal?: AbortSignal }): Promise<RouterModel[]>;
  load(id: string, signal?: AbortSignal): Promise<void>;
  unload(id: string, signal?: AbortSignal): Promise<void>;
  /** true when GET /health answers 200. */
  healthy(signal?: AbortSignal): Promise<boolean>;
}

const CONTROL_TIMEOUT_MS = 15_000;

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
        timeout: { request: CONTROL_TIMEOUT_MS },
      }),
    ));

  async function call(
    method: "GET" | "POST",
    path: string,
    context: FailureContext,
    options: { json?: unknown; timeoutMs?: number; signal?: AbortSignal; searchParams?: Record<string, string> } = {},
  ): Promise<string> {
    const got = await http();
    let response;
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
      throw new RouterError(explainTransportError(error, settings));
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new RouterError(explainHttpFailure(response.statusCode, response.body, context, settings), response.statusCode);
    }
    return response.body;
  }

  return {
    async list(options = {}) {
      const body = await call("GET", "models", { action: "list models" }, {
        ...options,
        searchParams: options.reload ? { reload: "1" } : undefined,
      });
      try {
        return ((JSON.parse(body) as { data?: RouterModel[] }).data ?? []).filter((model) => typeof model?.id === "string");
      } catch {
        throw new RouterError(`ai-server: GET ${settings.url}/models did not return JSON: is AI_SERVER_URL the llama.cpp router?`);
      }
    },
    async load(id, signal) {
      await call("POST", "models/load", { action: "load", modelId: id }, { json: { model: id }, signal });
    },
    async unload(id, signal) {
      await call("POST", "models/unload", { action: "unload", modelId: id }, { json: { model: id }, signal });
    },
    async healthy(signal) {
      try {
        await call("GET", "health", { action: "health" }, { signal, timeoutMs: 3_000 });
        return true;
      } catch (error) {
        if (signal?.aborted) throw error;
        return false;
      }
    },
  };
}
