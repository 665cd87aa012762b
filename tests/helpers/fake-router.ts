/**
 * A loopback stand-in for "Caddy with require_and_verify in front of a llama.cpp router
 * (--models-mode router --models-max 1)", shaped after tests/fixtures/llama-server/B*, C*:
 * HTTPS that requires and verifies a client certificate; 421 without SNI; async load with
 * loading → loaded; LRU eviction; a preset section without a model path that never loads;
 * the router's error bodies; streaming with usage, cached_tokens and timings; per-model
 * GET /props?model=…&autoload=false (B03, B05: n_ctx is ctx-size divided by the preset's
 * parallel slots; vision when the preset has an mmproj; `fake-no-tools = true` makes the
 * chat template unable to render tool calls, a switch only this stand-in has); a mid-stream
 * `proxy error:` cut; a 502 mode (router down behind the proxy); slot save and restore proxied
 * to the worker when the preset gives it `slot-save-path` (D09: `model` in the body,
 * `&autoload=false`; 501 without it; the saved files kept in memory as the router host's disk),
 * and `id_slot` honoured per model. The preset file is read at
 * start and on restart only, like the b8942 router (`?reload=1` re-reads it only when
 * `reloadSupported`, like newer builds).
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import type { TestPki } from "./certificates.ts";

interface ModelEntry {
  id: string;
  aliases: string[];
  keys: Record<string, string>;
  value: "unloaded" | "loading" | "loaded";
  failed: boolean;
  exitCode: number | undefined;
  childPort: number;
  lastUsed: number;
  timer?: NodeJS.Timeout;
  lastPrompt: string;
  /** What each pinned slot of the loaded worker holds (emptied by a load). */
  slots: Map<number, string>;
}

export interface FakeRouterOptions {
  pki: TestPki;
  presetPath: string;
  /** How long a load stays in "loading" (ms). */
  loadDelayMs?: number;
  /** GET /models?reload=1 re-reads the preset (newer llama.cpp); the b8942 router ignores it. */
  reloadSupported?: boolean;
  /** Plain HTTP, no proxy in front (only bench/ai-server-stream.ts uses it, as the baseline). */
  plainHttp?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  clientCn: string | undefined;
  body: string;
}

/** Parses a router preset (INI): sections are model ids; keys outside a section make the phantom "default". */
export function parsePreset(text: string): Array<{ id: string; keys: Record<string, string> }> {
  const sections: Array<{ id: string; keys: Record<string, string> }> = [];
  let current: { id: string; keys: Record<string, string> } | undefined;
  let global: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith(";") || line.startsWith("#")) continue;
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) {
      current = { id: header[1]!, keys: {} };
      if (current.id === "*") global = current.keys;
      else sections.push(current);
      continue;
    }
    const pair = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!pair) continue;
    if (!current) {
      current = { id: "default", keys: {} };
      sections.push(current);
    }
    current.keys[pair[1]!] = pair[2]!;
  }
  return sections.map((section) => ({ id: section.id, keys: { ...global, ...section.keys } }));
}

export async function startFakeRouter(options: FakeRouterOptions) {
  const loadDelayMs = options.loadDelayMs ?? 40;
  let models: ModelEntry[] = [];
  const requests: RecordedRequest[] = [];
  const mode = {
    /** Caddy answers 502 with an empty body: the router behind it is down. */
    down: false,
    /** The next chat stream ends like B07 / B08 / an error event / a body without [DONE]. */
    cutNextStream: undefined as undefined | "proxy-error" | "data-error" | "no-done" | "connection-dropped" | "evicted",
    /** Chats answer 500 `proxy error: Could not establish connection` until an unload: a dead worker still marked loaded (B11 #4). */
    deadWorker: false,
    /** The next load fails: the worker exits with code 1. */
    failNextLoad: false,
    reloadSupported: options.reloadSupported ?? false,
    tokens: 8,
    /** Pause between streamed tokens (ms): a slow model. */
    tokenDelayMs: 0,
    /** Loads stay "loading" past their delay until this is false again (a test says when). */
    holdLoads: false,
    /** Slot saves write nothing and answer n_written 0 (the router host's disk is full). */
    saveDiskFull: false,
  };
  /** The router host's slot-save-path folders: path → what a saved slot held. */
  const savedSlots = new Map<string, { prompt: string; tokens: number; slots: number }>();
  let restarts = 0;

  const readPreset = () => {
    const previous = new Map(models.map((m) => [m.id, m]));
    for (const model of models) clearTimeout(model.timer);
    models = parsePreset(readFileSync(options.presetPath, "utf8")).map(({ id, keys }) => ({
      id,
      aliases: keys.alias ? [keys.alias] : [],
      keys,
      value: "unloaded",
      failed: false,
      exitCode: undefined,
      childPort: previous.get(id)?.childPort ?? 0,
      lastUsed: 0,
      lastPrompt: "",
      slots: new Map(),
    }));
  };
  readPreset();

  const find = (id: unknown) => models.find((m) => m.id === id || m.aliases.includes(String(id)));
  const args = (m: ModelEntry) => {
    const out = ["/srv/llama/bin/llama-server", "--host", "127.0.0.1", "--port", String(m.childPort), "--alias", m.id];
    for (const [key, value] of Object.entries(m.keys)) {
      if (key === "alias" || key === "load-on-startup" || key === "stop-timeout") continue;
      out.push(`--${key}`, value);
    }
    return out;
  };
  const presetText = (m: ModelEntry) =>
    `[${m.id}]\n${Object.entries(m.keys)
      .map(([k, v]) => `${k} = ${v}`)
      .join("\n")}\n\n`;
  const listing = () => ({
    data: models.map((m) => ({
      id: m.id,
      aliases: m.aliases,
      tags: [],
      object: "model",
      owned_by: "llamacpp",
      created: Math.floor(Date.now() / 1000),
      status: {
        value: m.value,
        args: args(m),
        preset: presetText(m),
        ...(m.failed ? { exit_code: m.exitCode, failed: true } : {}),
      },
    })),
    object: "list",
  });

  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(text),
      Server: "llama.cpp",
    });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, message: string, type = "invalid_request_error") =>
    json(res, status, { error: { code: status, message, type } });
  /** A request's JSON body, or undefined once llama.cpp's answer to a body that is not JSON was sent. */
  const parsedBody = <T>(res: ServerResponse, raw: string): T | undefined => {
    try {
      return (JSON.parse(raw) ?? {}) as T;
    } catch (e) {
      error(res, 500, `[json.exception.parse_error.101] ${(e as Error).message}`, "server_error");
      return undefined;
    }
  };
  /** The model a chat or slot request names in its body (D09), or undefined once the router's refusal was sent. */
  const namedModel = (res: ServerResponse, model: string | undefined): ModelEntry | undefined => {
    if (!model) return void error(res, 400, "model name is missing from the request");
    const found = find(model);
    if (!found) return void error(res, 400, `model '${model}' not found`);
    return found;
  };
  const notFound = (res: ServerResponse) => json(res, 404, { error: { message: "File Not Found", type: "not_found_error", code: 404 } });

  const startLoad = (model: ModelEntry) => {
    // --models-max 1: evict the least recently used running model first.
    for (const other of models) {
      if (other !== model && other.value !== "unloaded") {
        clearTimeout(other.timer);
        other.value = "unloaded";
      }
    }
    model.value = "loading";
    model.failed = false;
    model.slots = new Map();
    model.lastPrompt = "";
    model.childPort = 40000 + Math.floor(Math.random() * 20000);
    const placeholder = !model.keys.model;
    if (placeholder) return; // spawns a nested router that never becomes ready (B01)
    const fail = mode.failNextLoad;
    mode.failNextLoad = false;
    const settle = () => {
      if (mode.holdLoads) model.timer = setTimeout(settle, 10);
      else if (fail) {
        model.value = "unloaded";
        model.failed = true;
        model.exitCode = 1;
      } else model.value = "loaded";
    };
    model.timer = setTimeout(settle, loadDelayMs);
  };

  const waitLoaded = async (model: ModelEntry) => {
    while (model.value !== "loaded") {
      if (model.value === "unloaded" && model.failed) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  };

  async function chat(req: IncomingMessage, res: ServerResponse, raw: string) {
    const body = parsedBody<{
      model?: string;
      messages?: unknown[];
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
      id_slot?: unknown;
    }>(res, raw);
    if (!body) return;
    const model = namedModel(res, body.model);
    if (!model) return;
    if (model.value === "unloaded") startLoad(model); // autoload
    if (!(await waitLoaded(model))) return error(res, 500, `model name=${model.id} failed to load`, "server_error");
    if (mode.deadWorker) {
      res.writeHead(500, { "Content-Type": "application/json; charset=utf-8" });
      return res.end("proxy error: Could not establish connection");
    }
    model.lastUsed = Date.now();
    const prompt = JSON.stringify(body.messages);
    const pinned = typeof body.id_slot === "number" && Number.isInteger(body.id_slot) ? body.id_slot % slotsOf(model) : undefined;
    const before = pinned === undefined ? model.lastPrompt : (model.slots.get(pinned) ?? "");
    let common = 0;
    while (common < prompt.length && prompt[common] === before[common]) common++;
    if (pinned === undefined) model.lastPrompt = prompt;
    else model.slots.set(pinned, prompt);
    const promptTokens = Math.ceil(prompt.length / 4);
    const cached = common === 0 ? 0 : Math.min(promptTokens - 1, Math.floor(common / 4));
    // x-fake-tokens lets a benchmark choose the answer's length.
    const tokens = Number(req.headers["x-fake-tokens"]) || mode.tokens;
    const usage = {
      completion_tokens: tokens,
      prompt_tokens: promptTokens,
      total_tokens: promptTokens + tokens,
      prompt_tokens_details: { cached_tokens: cached },
    };
    const promptN = promptTokens - cached;
    // Fixed per-token costs: 40 tok/s generating, 1000 tok/s on the prompt.
    const timings = {
      cache_n: cached,
      prompt_n: promptN,
      prompt_ms: promptN,
      prompt_per_token_ms: 1,
      prompt_per_second: 1000,
      predicted_n: tokens,
      predicted_ms: tokens * 25,
      predicted_per_token_ms: 25,
      predicted_per_second: 40,
    };
    const base = {
      created: Math.floor(Date.now() / 1000),
      id: `chatcmpl-${Date.now()}`,
      model: model.id,
      system_fingerprint: "b8942-fake",
    };
    res.writeHead(200, { "Content-Type": "text/event-stream", "Transfer-Encoding": "chunked", Server: "llama.cpp", Connection: "close" });
    const event = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    const chunk = (choices: unknown[], extra: object = {}) => event({ choices, ...base, object: "chat.completion.chunk", ...extra });
    chunk([{ finish_reason: null, index: 0, delta: { role: "assistant", content: null } }]);
    const cut = mode.cutNextStream;
    mode.cutNextStream = undefined;
    for (let i = 0; i < tokens; i++) {
      if (mode.tokenDelayMs) await new Promise((r) => setTimeout(r, mode.tokenDelayMs));
      if (res.destroyed) return;
      chunk([{ finish_reason: null, index: 0, delta: { content: `tok${i} ` } }]);
      if (cut && i === 2) {
        if (cut === "proxy-error") return res.end("proxy error: Failed to read connection");
        // The proxy killed mid-answer: the TCP connection goes away after some bytes went out.
        if (cut === "connection-dropped") return void setTimeout(() => res.socket?.destroy(), 50);
        // Another client loaded another model (--models-max 1): this one is evicted mid-answer (B07b).
        if (cut === "evicted") {
          const other = models.find((m) => m !== model && m.keys.model)!;
          model.value = "unloaded";
          other.value = "loaded";
          return res.end("proxy error: Failed to read connection");
        }
        if (cut === "data-error") {
          event({ error: { code: 500, message: "the worker crashed while generating", type: "server_error" } });
          return res.end();
        }
        return res.end();
      }
    }
    chunk([{ finish_reason: "stop", index: 0, delta: {} }]);
    if (body.stream_options?.include_usage) chunk([], { usage, timings });
    res.end("data: [DONE]\n\n");
  }

  const slotsOf = (model: ModelEntry) => Number(model.keys.parallel ?? 1);

  /** POST /slots/<id>?action=save|restore (D09): the model in the body; never autoloaded here (pi always says autoload=false). */
  const slotAction = (res: ServerResponse, url: URL, raw: string) => {
    const body = parsedBody<{ model?: string; filename?: unknown }>(res, raw);
    if (!body) return;
    const model = namedModel(res, body.model);
    if (!model) return;
    if (model.value !== "loaded") return error(res, 400, "model is not loaded");
    const dir = model.keys["slot-save-path"];
    if (!dir) return error(res, 501, "This server does not support slots action. Start it with `--slot-save-path`", "not_supported_error");
    const filename = body.filename;
    if (typeof filename !== "string" || filename === "" || filename.includes("..") || filename.includes("/"))
      return error(res, 400, "Invalid filename");
    const id = Number(url.pathname.split("/")[2]);
    const slot = id % slotsOf(model);
    const path = `${dir}/${filename}`;
    if (url.searchParams.get("action") === "save") {
      const prompt = model.slots.get(slot) ?? "";
      const tokens = prompt ? Math.ceil(prompt.length / 4) : 0;
      if (mode.saveDiskFull) return json(res, 200, { id_slot: id, filename, n_saved: tokens, n_written: 0, timings: { save_ms: 0.4 } });
      savedSlots.set(path, { prompt, tokens, slots: slotsOf(model) });
      return json(res, 200, { id_slot: id, filename, n_saved: tokens, n_written: tokens * 528 + 12, timings: { save_ms: 1.1 } });
    }
    const saved = savedSlots.get(path);
    if (!saved || saved.slots !== slotsOf(model)) {
      model.slots.delete(slot);
      return error(res, 400, "Unable to restore slot, no available space in KV cache or invalid slot save file");
    }
    model.slots.set(slot, saved.prompt);
    json(res, 200, { id_slot: id, filename, n_restored: saved.tokens, n_read: saved.tokens * 528 + 12, timings: { restore_ms: 1.6 } });
  };

  /** GET /props?model=<id>: the worker's props (B05), or B03's 400 while the model is not loaded. */
  const props = (res: ServerResponse, id: string | null) => {
    const model = find(id);
    if (!model) return error(res, 400, `model '${id}' not found`);
    if (model.value !== "loaded") return error(res, 400, "model is not loaded");
    const slots = Number(model.keys.parallel ?? 1);
    json(res, 200, {
      default_generation_settings: { params: { n_predict: -1 }, n_ctx: Math.floor(Number(model.keys["ctx-size"] ?? 4096) / slots) },
      total_slots: slots,
      model_alias: model.id,
      model_path: model.keys.model,
      modalities: { vision: model.keys.mmproj !== undefined, audio: false },
      chat_template_caps: { supports_tool_calls: model.keys["fake-no-tools"] !== "true", supports_system_role: true },
      build_info: "b8942-fake",
    });
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (part) => (raw += part));
    req.on("end", () => {
      const socket = req.socket as TLSSocket;
      const url = new URL(req.url ?? "/", "https://router");
      requests.push({
        method: req.method ?? "",
        path: url.pathname + url.search,
        authorization: req.headers.authorization,
        clientCn: (socket.getPeerCertificate?.().subject as { CN?: string } | undefined)?.CN,
        body: raw,
      });
      // Caddy enforces SNI = Host when client auth is on: by IP there is no SNI (C01: 421).
      if (!options.plainHttp && !(socket as TLSSocket & { servername?: string | false }).servername) {
        res.writeHead(421, { "Content-Length": 0, Server: "Caddy" });
        return res.end();
      }
      if (mode.down) {
        res.writeHead(502, { "Content-Length": 0, Server: "Caddy" });
        return res.end();
      }
      const path = url.pathname;
      if (req.method === "GET" && path === "/health") return json(res, 200, { status: "ok" });
      if (req.method === "GET" && (path === "/models" || path === "/v1/models")) {
        if (url.searchParams.get("reload") === "1" && mode.reloadSupported) readPreset();
        return json(res, 200, listing());
      }
      if (req.method === "POST" && (path === "/models/load" || path === "/models/unload")) {
        const body = parsedBody<{ model?: string }>(res, raw);
        if (!body) return;
        const model = find(body.model);
        if (path === "/models/load") {
          if (!model) return notFound(res);
          if (model.value !== "unloaded") return error(res, 400, "model is already running");
          model.lastUsed = Date.now();
          startLoad(model);
          return json(res, 200, { success: true });
        }
        if (!model) return error(res, 400, "model is not found");
        if (model.value === "unloaded") return error(res, 400, "model is not running");
        mode.deadWorker = false;
        clearTimeout(model.timer);
        setTimeout(() => (model.value = "unloaded"), 10);
        return json(res, 200, { success: true });
      }
      if (req.method === "POST" && path === "/v1/chat/completions") return void chat(req, res, raw);
      if (req.method === "GET" && path === "/props") return props(res, url.searchParams.get("model"));
      if (req.method === "POST" && /^\/slots\/\d+$/.test(path)) return slotAction(res, url, raw);
      notFound(res);
    });
  };

  const server: Server = options.plainHttp
    ? (createHttpServer(handler) as unknown as Server)
    : createServer(
        { key: options.pki.serverKey, cert: options.pki.serverCert, ca: options.pki.caPem, requestCert: true, rejectUnauthorized: true },
        handler,
      );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const restart = () => {
    restarts++;
    readPreset();
  };
  // Plain loopback control port for the test stand-ins (the fake `systemctl`).
  const control = createHttpServer((req, res) => {
    if (req.method === "POST" && req.url === "/restart") restart();
    res.end("ok");
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

  return {
    url: `${options.plainHttp ? "http" : "https"}://localhost:${port}`,
    ipUrl: `https://127.0.0.1:${port}`,
    port,
    mode,
    requests,
    models: () => models,
    restarts: () => restarts,
    /** The slot files on the router host (path → the saved conversation). */
    savedSlots,
    controlPort: (control.address() as { port: number }).port,
    /** What `systemctl --user restart llama-server.service` does: re-read the preset, nothing loaded. */
    restart,
    async close() {
      for (const model of models) clearTimeout(model.timer);
      server.closeAllConnections();
      control.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => control.close(() => resolve())),
      ]);
    },
  };
}

export type FakeRouter = Awaited<ReturnType<typeof startFakeRouter>>;
