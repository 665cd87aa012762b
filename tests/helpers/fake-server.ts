#!/usr/bin/env node
/**
 * A stand-in for a single-model llama-server / llamafile, shaped after the recorded
 * transcripts in tests/fixtures/llama-server/A*: connection refused until it binds,
 * then `503 Loading model` on every endpoint, then 200; OpenAI /v1/models with `data[]`,
 * chat completions (streaming with usage, cached_tokens and `timings`), GET /props like A02,
 * clean exit on SIGTERM. Its log says when the process began and when it became ready
 * (`started at <epoch ms>`, `ready at <epoch ms>`), so a benchmark can subtract its boot.
 * Every chat request is also written, before it is answered, to its request journal
 * (`$HOME/.fake-server-requests/<id>.log`, read by `requestsSeen`): the log goes through the
 * keeper, another process, and may not hold the line yet when the answer has arrived.
 *
 *   fake-server --port <n> --id <s> [--id <alias> ...]
 *               [--startup-delay-ms <n>]   # refuse connections this long (boot)
 *               [--loading-ms <n>]         # then answer 503 "Loading model" this long (default 30)
 *               [--loaded-when-file <path>] # ...and on, until this file exists (a test says when)
 *               [--never-listen]           # never bind (readiness timeout)
 *               [--exit-on-startup <code>] # die before listening
 *               [--die-after-ms <n>]       # crash this long after becoming ready
 *               [--crash-marker <path>]    # ...only if this file is not there; crashing writes it (one crash)
 *               [--ignore-sigterm]         # only SIGKILL stops it
               [--exit-delay-ms <n>]      # on SIGTERM, clean up this long before exiting
 *               [--reply <text>]           # the assistant's answer
 *               [--chatty-bytes <n>]       # write this much output at start (a chatty server)
 *               [--ctx <n>]                # GET /props n_ctx: tokens per slot (default 65536)
               [--slots <n>]              # GET /props total_slots (default 1)
               [--vision]                 # GET /props modalities.vision
               [--no-tool-template]       # GET /props chat_template_caps.supports_tool_calls false
               [--no-props]               # GET /props is a 404 (an old llamafile)
               [--no-timings]             # answers carry no timings
               [--token-delay-ms <n>]     # pause between streamed tokens
               [--tag <s>]                # ignored; lets a test run find its own processes
               [--model-path <path>]      # GET /props model_path
 *
 *   fake-server [its own flags] --as-llama-server <llama-server's arguments>
 *     A stand-in for llama-server (tests/helpers/fake-llama-server.ts puts one on PATH): -m, --alias,
 *     --host (127.0.0.1 only), --port, -c, -np, --jinja (without it the chat template cannot call
 *     tools, as in llama-server), --mmproj (vision) become the flags above; the rest is accepted and
 *     ignored. Every start appends its llama-server arguments to `$HOME/.fake-server-requests/<id>.argv`.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { basename } from "node:path";
import { parseArgs } from "node:util";

/** llama-server's arguments as this server's flags; exits like llama-server on an address it will not bind. */
function asLlamaServer(args: string[]): string[] {
  const value = (...flags: string[]) => {
    let found: string | undefined;
    args.forEach((arg, index) => {
      if (flags.includes(arg)) found = args[index + 1];
      for (const flag of flags) if (arg.startsWith(`${flag}=`)) found = arg.slice(flag.length + 1);
    });
    return found;
  };
  const host = value("--host") ?? "127.0.0.1";
  if (host !== "127.0.0.1") {
    process.stderr.write(`fake llama-server: binds 127.0.0.1 only, not ${host}\n`);
    process.exit(2);
  }
  const model = value("-m", "--model");
  const id = value("-a", "--alias") ?? (model ? basename(model) : "model");
  const slots = Number(value("-np", "--parallel") ?? 1);
  const context = Number(value("-c", "--ctx-size") ?? 4096) || 8192;
  if (process.env.HOME) {
    mkdirSync(`${process.env.HOME}/.fake-server-requests`, { recursive: true });
    appendFileSync(`${process.env.HOME}/.fake-server-requests/${id}.argv`, `${JSON.stringify(args)}\n`);
  }
  return [
    "--id",
    id,
    "--port",
    value("--port") ?? "8080",
    "--ctx",
    String(Math.floor(context / slots)),
    "--slots",
    String(slots),
    ...(model ? ["--model-path", model] : []),
    ...(args.includes("--jinja") ? [] : ["--no-tool-template"]),
    ...(value("--mmproj", "-mm") ? ["--vision"] : []),
  ];
}

const argv = process.argv.slice(2);
const standIn = argv.indexOf("--as-llama-server");
const { values } = parseArgs({
  args: standIn < 0 ? argv : [...argv.slice(0, standIn), ...asLlamaServer(argv.slice(standIn + 1))],
  options: {
    port: { type: "string" },
    id: { type: "string", multiple: true },
    "startup-delay-ms": { type: "string", default: "0" },
    "loading-ms": { type: "string", default: "30" },
    "loaded-when-file": { type: "string" },
    "never-listen": { type: "boolean", default: false },
    "exit-on-startup": { type: "string" },
    "die-after-ms": { type: "string" },
    "crash-marker": { type: "string" },
    "ignore-sigterm": { type: "boolean", default: false },
    "exit-delay-ms": { type: "string", default: "0" },
    reply: { type: "string", default: "Hello from the fake llamafile" },
    // Writes this many bytes of output at start (a chatty server, for the log cap).
    "chatty-bytes": { type: "string" },
    ctx: { type: "string", default: "65536" },
    slots: { type: "string", default: "1" },
    vision: { type: "boolean", default: false },
    "no-tool-template": { type: "boolean", default: false },
    "no-props": { type: "boolean", default: false },
    "no-timings": { type: "boolean", default: false },
    "token-delay-ms": { type: "string", default: "0" },
    // Marks processes a test run started, so the suite can prove none survives it.
    tag: { type: "string" },
    "model-path": { type: "string" },
  },
});

const port = Number(values.port);
const ids = values.id?.length ? values.id : ["fake-model"];
// llama-server keeps aliases in a std::set: the advertised id is the alphabetically first.
const id = [...ids].sort()[0]!;
const log = (line: string) => process.stdout.write(`fake-server[${process.pid}] ${line}\n`);
/** Written synchronously before the answer, so a test that has the answer finds the line. */
const journal = (line: string) => {
  if (!process.env.HOME) return;
  const dir = `${process.env.HOME}/.fake-server-requests`;
  mkdirSync(dir, { recursive: true });
  appendFileSync(`${dir}/${id}.log`, `${line}\n`);
};
log(`started at ${Math.round(performance.timeOrigin)}`);

process.on("SIGTERM", () => {
  if (values["ignore-sigterm"]) return log("SIGTERM ignored");
  log("cleaning up before exit");
  const delay = Number(values["exit-delay-ms"]);
  if (delay > 0) setTimeout(() => process.exit(0), delay);
  else process.exit(0);
});

if (values["exit-on-startup"] !== undefined) {
  log(`exiting on startup with code ${values["exit-on-startup"]}`);
  process.exit(Number(values["exit-on-startup"]));
}

if (values["chatty-bytes"] !== undefined) {
  const line = `${"x".repeat(1023)}\n`;
  let left = Number(values["chatty-bytes"]);
  const write = () => {
    while (left > 0) {
      left -= line.length;
      if (!process.stdout.write(line)) return void process.stdout.once("drain", write);
    }
  };
  write();
}

let loading = true;
let lastPrompt = "";

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    Server: "llama.cpp",
  });
  res.end(text);
};

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** GET /props in the shape of A02 (the fields pi reads, and a few around them). */
const props = () => ({
  default_generation_settings: { params: { n_predict: -1, timings_per_token: false }, n_ctx: Number(values.ctx) },
  total_slots: Number(values.slots),
  model_alias: id,
  model_path: values["model-path"] ?? `/srv/llama/models/${id}.gguf`,
  modalities: { vision: values.vision, audio: false },
  chat_template_caps: {
    supports_system_role: true,
    supports_tool_calls: !values["no-tool-template"],
    supports_tools: !values["no-tool-template"],
  },
  build_info: "fake",
  is_sleeping: false,
});

/** The `timings` of an answer, from the prompt and answer sizes (rates from fixed per-token costs). */
const timingsOf = (promptTokens: number, cached: number, generated: number) => {
  const promptN = promptTokens - cached;
  return {
    cache_n: cached,
    prompt_n: promptN,
    prompt_ms: promptN * 0.5,
    prompt_per_token_ms: 0.5,
    prompt_per_second: promptN > 0 ? 2000 : 0,
    predicted_n: generated,
    predicted_ms: generated * 20,
    predicted_per_token_ms: 20,
    predicted_per_second: 50,
  };
};

function chat(req: IncomingMessage, res: ServerResponse, raw: string) {
  let body: {
    model?: string;
    messages?: Array<{ content?: unknown }>;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    max_tokens?: number;
  };
  try {
    body = JSON.parse(raw);
  } catch (error) {
    return send(res, 500, {
      error: { code: 500, message: `[json.exception.parse_error.101] ${(error as Error).message}`, type: "server_error" },
    });
  }
  if (!Array.isArray(body.messages)) {
    return send(res, 400, { error: { code: 400, message: "'messages' is required", type: "invalid_request_error" } });
  }
  const prompt = JSON.stringify(body.messages);
  let common = 0;
  while (common < prompt.length && prompt[common] === lastPrompt[common]) common++;
  lastPrompt = prompt;
  const promptTokens = tokens(prompt);
  const cached = common === 0 ? 0 : Math.min(promptTokens - 1, tokens(prompt.slice(0, common)));
  const pieces = values.reply!.match(/.{1,4}/gs) ?? [];
  const timings = values["no-timings"] ? {} : { timings: timingsOf(promptTokens, cached, pieces.length) };
  const usage = {
    completion_tokens: tokens(values.reply!),
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + tokens(values.reply!),
    prompt_tokens_details: { cached_tokens: cached },
  };
  const base = {
    created: Math.floor(Date.now() / 1000),
    id: `chatcmpl-${process.pid}${Date.now()}`,
    model: id,
    system_fingerprint: "fake",
  };
  const request = `POST /v1/chat/completions model=${body.model} stream=${Boolean(body.stream)} max_tokens=${body.max_tokens} auth=${req.headers.authorization}`;
  journal(request);
  log(request);
  if (!body.stream) {
    return send(res, 200, {
      ...base,
      object: "chat.completion",
      choices: [{ finish_reason: "stop", index: 0, message: { role: "assistant", content: values.reply } }],
      usage,
      ...timings,
    });
  }
  res.writeHead(200, { "Content-Type": "text/event-stream", "Transfer-Encoding": "chunked", Server: "llama.cpp" });
  const event = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  const chunk = (choices: unknown[], extra: object = {}) => event({ choices, ...base, object: "chat.completion.chunk", ...extra });
  chunk([{ finish_reason: null, index: 0, delta: { role: "assistant", content: null } }]);
  const delay = Number(values["token-delay-ms"]);
  let next = 0;
  const finish = () => {
    chunk([{ finish_reason: "stop", index: 0, delta: {} }], body.stream_options?.include_usage ? {} : timings);
    if (body.stream_options?.include_usage) chunk([], { usage, ...timings });
    res.end("data: [DONE]\n\n");
  };
  const write = () => {
    for (;;) {
      if (res.destroyed) return;
      if (next >= pieces.length) return finish();
      chunk([{ finish_reason: null, index: 0, delta: { content: pieces[next++] } }]);
      if (delay > 0) return void setTimeout(write, delay);
    }
  };
  write();
}

const server = createServer((req, res) => {
  let raw = "";
  req.on("data", (part) => (raw += part));
  req.on("end", () => {
    if (loading) return send(res, 503, { error: { message: "Loading model", type: "unavailable_error", code: 503 } });
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && (path === "/health" || path === "/v1/health")) return send(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/props" && !values["no-props"]) return send(res, 200, props());
    if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
      return send(res, 200, {
        models: [{ name: id, model: id, type: "model" }],
        object: "list",
        data: [
          {
            id,
            aliases: ids,
            tags: [],
            object: "model",
            created: Math.floor(Date.now() / 1000),
            owned_by: "llamacpp",
            meta: { n_ctx_train: 2048 },
          },
        ],
      });
    }
    if (req.method === "POST" && path === "/v1/chat/completions") return chat(req, res, raw);
    send(res, 404, { error: { message: "File Not Found", type: "not_found_error", code: 404 } });
  });
});

if (values["never-listen"]) {
  log("never listening");
  setInterval(() => {}, 1 << 30);
} else {
  setTimeout(() => {
    server.listen(port, "127.0.0.1", () => {
      log(`listening on 127.0.0.1:${port} (model ${id}); loading`);
      const loaded = () => {
        const gate = values["loaded-when-file"];
        if (gate !== undefined && !existsSync(gate)) return void setTimeout(loaded, 20);
        loading = false;
        log(`model loaded; ready at ${Date.now()}`);
        const marker = values["crash-marker"];
        if (values["die-after-ms"] !== undefined && !(marker && existsSync(marker))) {
          setTimeout(() => {
            if (marker) writeFileSync(marker, "");
            log("crashing");
            process.exit(3);
          }, Number(values["die-after-ms"]));
        }
      };
      setTimeout(loaded, Number(values["loading-ms"]));
    });
    server.on("error", (error) => {
      log(`cannot listen: ${error.message}`);
      process.exit(1);
    });
  }, Number(values["startup-delay-ms"]));
}
