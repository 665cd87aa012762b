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
               [--slots <n>]              # GET /props total_slots (default: LLAMA_ARG_N_PARALLEL, else 1)
               [--vision]                 # GET /props modalities.vision
               [--no-tool-template]       # GET /props chat_template_caps.supports_tool_calls false
               [--no-props]               # GET /props is a 404 (an old llamafile)
               [--no-timings]             # answers carry no timings
               [--token-delay-ms <n>]     # pause between streamed tokens
               [--tag <s>]                # ignored; lets a test run find its own processes
               [--model-path <path>], [-m <path>]  # GET /props model_path
               [--slot-save-path <dir>]   # enables slot save and restore (below)
               [--no-slot-actions]        # POST /slots/… is a 404 (a llamafile)
               [--no-slots]               # GET /slots is a 404 too (an older llamafile)
               [--save-disk-full]         # a save writes a truncated file and answers n_written 0
               [--save-disk-full-when <path>] # ...only while this file exists (a test says when)
               [--save-delay-ms <n>]      # a save takes this long
               [--bytes-per-token <n>]    # a saved file's size per token (default 528, as tiny-a)
               [--prompt-ms-per-token <n>] # the first token waits this long per prompt token not cached
 *
 *   fake-server [its own flags] --as-llama-server <llama-server's arguments>
 *     A stand-in for llama-server (tests/helpers/fake-llama-server.ts puts one on PATH): -m, --alias,
 *     --host (127.0.0.1 only), --port, -c, -np, --jinja (without it the chat template cannot call
 *     tools, as in llama-server), --mmproj (vision) become the flags above; the rest is accepted and
 *     ignored. Every start appends its llama-server arguments to `$HOME/.fake-server-requests/<id>.argv`.
 *
 * Slots, like tests/fixtures/llama-server/D01-D13: `--slots` of them, each holding the prompt it
 * last ran (cache_n is the part of a new prompt it shares); `id_slot` pins a request (wrapped
 * modulo the slots, a string ignored), else the slot sharing the most, else the least recently
 * used; GET /slots with `id_task` (one counter for every task and every GET /slots) and
 * `is_processing`; POST /slots/<id>?action=save|restore writing and reading
 * `<--slot-save-path>/<filename>` (a header: magic, version 2, n_tokens; then the state), 501
 * without --slot-save-path, 400 for a bad file name or a file it cannot restore.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { basename, join } from "node:path";
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
    slots: { type: "string" },
    vision: { type: "boolean", default: false },
    "no-tool-template": { type: "boolean", default: false },
    "no-props": { type: "boolean", default: false },
    "no-timings": { type: "boolean", default: false },
    "token-delay-ms": { type: "string", default: "0" },
    "slot-save-path": { type: "string" },
    // The model file (-m): only GET /props model_path says it.
    model: { type: "string", short: "m" },
    "no-slot-actions": { type: "boolean", default: false },
    "no-slots": { type: "boolean", default: false },
    "save-disk-full": { type: "boolean", default: false },
    "save-disk-full-when": { type: "string" },
    "save-delay-ms": { type: "string", default: "0" },
    "bytes-per-token": { type: "string", default: "528" },
    "prompt-ms-per-token": { type: "string", default: "0" },
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
const slotCount = Number(values.slots ?? process.env.LLAMA_ARG_N_PARALLEL ?? "1") || 1;
/** What each slot holds: the prompt it last ran, its tokens (prompt + answer − 1), its last task. */
interface Slot {
  prompt: string;
  tokens: number;
  task: number | undefined;
  usedAt: number;
  busy: boolean;
}
const slots: Slot[] = Array.from({ length: slotCount }, () => ({ prompt: "", tokens: 0, task: undefined, usedAt: 0, busy: false }));
/** One counter for every task, as llama-server's (GET /slots uses one up too). */
let nextTask = 0;
let clock = 0;
const shared = (a: string, b: string) => {
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return common;
};
/** Where a request runs: its id_slot (an integer, wrapped), else the slot sharing the most of its prompt, else the least recently used. */
function slotFor(idSlot: unknown, prompt: string): Slot {
  if (typeof idSlot === "number" && Number.isInteger(idSlot) && idSlot !== -1)
    return slots[((idSlot % slotCount) + slotCount) % slotCount]!;
  const similar = slots
    .map((slot) => ({ slot, share: slot.prompt ? shared(slot.prompt, prompt) / prompt.length : 0 }))
    .filter(({ share }) => share >= 0.1)
    .sort((a, b) => b.share - a.share)[0];
  return similar?.slot ?? [...slots].sort((a, b) => a.usedAt - b.usedAt)[0]!;
}

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
  total_slots: slotCount,
  model_alias: id,
  model_path: values["model-path"] ?? values.model ?? `/srv/llama/models/${id}.gguf`,
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
    id_slot?: unknown;
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
  const slot = slotFor(body.id_slot, prompt);
  const common = shared(prompt, slot.prompt);
  const promptTokens = tokens(prompt);
  const cached = common === 0 ? 0 : Math.min(promptTokens - 1, tokens(prompt.slice(0, common)));
  const pieces = values.reply!.match(/.{1,4}/gs) ?? [];
  slot.prompt = prompt;
  slot.tokens = promptTokens + pieces.length - 1;
  slot.task = nextTask++;
  slot.usedAt = ++clock;
  slot.busy = true;
  res.on("close", () => {
    slot.busy = false;
  });
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
  const pinned = body.id_slot === undefined ? "" : ` id_slot=${JSON.stringify(body.id_slot)}`;
  const request = `POST /v1/chat/completions model=${body.model} stream=${Boolean(body.stream)} max_tokens=${body.max_tokens} auth=${req.headers.authorization}${pinned}`;
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
  const delay = Number(values["token-delay-ms"]);
  const prefill = (promptTokens - cached) * Number(values["prompt-ms-per-token"]);
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
  const begin = () => {
    chunk([{ finish_reason: null, index: 0, delta: { role: "assistant", content: null } }]);
    write();
  };
  if (prefill > 0) setTimeout(begin, prefill);
  else begin();
}

const SLOT_MAGIC = 0x67677371;
const slotError = (res: ServerResponse, status: number, message: string, type = "invalid_request_error") =>
  send(res, status, { error: { code: status, message, type } });
const validName = (name: unknown): name is string =>
  typeof name === "string" &&
  name !== "" &&
  !name.includes("..") &&
  ![...'/\\:*?"<>|\u0000\t'].some((character) => name.includes(character)) &&
  !/^\s|\s$|\.$/.test(name);
const wipe = (slot: Slot) => Object.assign(slot, { prompt: "", tokens: 0 });

/** POST /slots/<id>?action=save|restore (D01, D03-D05): the file holds a header, then the slot's prompt as its "state". */
function slotAction(res: ServerResponse, id: string, action: string | null, raw: string) {
  if (values["no-slot-actions"]) return send(res, 404, { error: { message: "File Not Found", type: "not_found_error", code: 404 } });
  const dir = values["slot-save-path"];
  if (!dir)
    return slotError(res, 501, "This server does not support slots action. Start it with `--slot-save-path`", "not_supported_error");
  if (!/^-?\d+$/.test(id)) return slotError(res, 400, "Invalid slot ID");
  const slot = slots[((Number(id) % slotCount) + slotCount) % slotCount]!;
  if (action !== "save" && action !== "restore") return slotError(res, 400, "Invalid action");
  let filename: unknown;
  try {
    filename = (JSON.parse(raw) as { filename?: unknown }).filename;
  } catch (error) {
    return slotError(res, 500, `[json.exception.parse_error.101] ${(error as Error).message}`, "server_error");
  }
  if (!validName(filename)) return slotError(res, 400, "Invalid filename");
  const path = join(dir, filename);
  if (action === "save") {
    const n = slot.prompt ? slot.tokens : 0;
    const state = Buffer.from(JSON.stringify({ model: id, slots: slotCount, prompt: slot.prompt }));
    const header = Buffer.alloc(12 + 4 * n);
    header.writeUInt32LE(SLOT_MAGIC, 0);
    header.writeUInt32LE(2, 4);
    header.writeUInt32LE(n, 8);
    const lengthField = Buffer.alloc(4);
    lengthField.writeUInt32LE(state.length, 0);
    const padding = Buffer.alloc(n > 0 ? Math.max(0, n * Number(values["bytes-per-token"]) - header.length - state.length - 4) : 0);
    const file = n > 0 ? Buffer.concat([header, lengthField, state, padding]) : Buffer.concat([header, Buffer.alloc(8)]);
    const answer = () => {
      const full = values["save-disk-full"] || (values["save-disk-full-when"] !== undefined && existsSync(values["save-disk-full-when"]));
      if (full) {
        writeFileSync(path, file.subarray(0, Math.min(file.length, 10)));
        return send(res, 200, { id_slot: Number(id), filename, n_saved: n, n_written: 0, timings: { save_ms: 0.4 } });
      }
      writeFileSync(path, file);
      send(res, 200, { id_slot: Number(id), filename, n_saved: n, n_written: file.length, timings: { save_ms: 1.1 } });
    };
    const wait = Number(values["save-delay-ms"]);
    return wait > 0 ? void setTimeout(answer, wait) : answer();
  }
  const unable = () => {
    // A failed restore wipes what the slot held (D06).
    wipe(slot);
    slotError(res, 400, "Unable to restore slot, no available space in KV cache or invalid slot save file");
  };
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return unable();
  }
  if (bytes.length < 12 || bytes.readUInt32LE(0) !== SLOT_MAGIC) return unable();
  const n = bytes.readUInt32LE(8);
  if (n === 0) {
    wipe(slot);
    return send(res, 200, { id_slot: Number(id), filename, n_restored: 0, n_read: bytes.length, timings: { restore_ms: 0.1 } });
  }
  try {
    const at = 12 + 4 * n;
    const state = JSON.parse(bytes.subarray(at + 4, at + 4 + bytes.readUInt32LE(at)).toString("utf8")) as { slots: number; prompt: string };
    // Another layout (D06) or more tokens than a slot holds: refused. Another model's file is taken silently (D05).
    if (state.slots !== slotCount || n > Number(values.ctx)) return unable();
    Object.assign(slot, { prompt: state.prompt, tokens: n });
  } catch {
    return unable();
  }
  send(res, 200, { id_slot: Number(id), filename, n_restored: n, n_read: bytes.length, timings: { restore_ms: 1.6 } });
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
    const slotPath = /^\/slots\/([^/]*)$/.exec(path ?? "");
    if (req.method === "POST" && slotPath)
      return slotAction(res, slotPath[1]!, new URLSearchParams((req.url ?? "").split("?")[1] ?? "").get("action"), raw);
    if (req.method === "GET" && path === "/slots") {
      if (values["no-slots"]) return send(res, 404, { error: { message: "File Not Found", type: "not_found_error", code: 404 } });
      nextTask++;
      return send(
        res,
        200,
        slots.map((slot, index) => ({
          id: index,
          n_ctx: Number(values.ctx),
          speculative: false,
          is_processing: slot.busy,
          ...(slot.task === undefined ? {} : { id_task: slot.task }),
        })),
      );
    }
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
