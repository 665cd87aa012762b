/**
 * llama-server's slot files, as both backends meet them: the answers of
 * `POST /slots/<id>?action=save|restore` read as hostile values, the header of a saved file, the
 * file names the server accepts, and the server layout a file belongs to
 * (docs/llama-server-behaviour.md, "Slots: save and restore").
 */

/** What a save answered with 200. `written` 0 is a failed write (a full disk), despite the 200. */
export interface SaveAnswer {
  /** Tokens the slot held (0: an empty slot; the file then holds a header only). */
  saved: number;
  /** Bytes written. */
  written: number;
  /** The server's own time for the write. */
  ms: number | undefined;
}

export interface RestoreAnswer {
  restored: number;
  read: number;
  ms: number | undefined;
}

const count = (value: unknown) => (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined);
const duration = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined);
const object = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** The body of a 200 answer to a save; undefined when it is not one (nothing is believed then). */
export function saveAnswer(body: unknown): SaveAnswer | undefined {
  const root = object(body);
  const saved = count(root.n_saved);
  const written = count(root.n_written);
  if (saved === undefined || written === undefined) return undefined;
  return { saved, written, ms: duration(object(root.timings).save_ms) };
}

export function restoreAnswer(body: unknown): RestoreAnswer | undefined {
  const root = object(body);
  const restored = count(root.n_restored);
  const read = count(root.n_read);
  if (restored === undefined || read === undefined) return undefined;
  return { restored, read, ms: duration(object(root.timings).restore_ms) };
}

/**
 * How a server that is asked for a slot action answers when it cannot do it: 501 (started
 * without --slot-save-path: every slot action, before anything is checked), 404 (a llamafile
 * or an old build without the endpoint).
 */
export const cannotSaveStatus = (status: number) => status === 501 || status === 404;

/** The magic at the start of a slot file (`qsgg` as bytes), then a u32 version (2), then a u32 token count. */
export const SLOT_FILE_MAGIC = 0x67677371;
export const SLOT_FILE_VERSION = 2;
/** The header pi reads of a slot file: magic, version, token count. */
export const SLOT_FILE_HEADER_BYTES = 12;

/** The token count in a slot file's header, or undefined when the bytes are not one. */
export function slotFileTokens(header: Uint8Array): number | undefined {
  if (header.byteLength < SLOT_FILE_HEADER_BYTES) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (view.getUint32(0, true) !== SLOT_FILE_MAGIC || view.getUint32(4, true) !== SLOT_FILE_VERSION) return undefined;
  return view.getUint32(8, true);
}

/**
 * A file name the server takes and that means the same everywhere: letters, digits, `_` and
 * `-` in dot-separated parts (no `..`, no leading or trailing dot, at most 255 bytes). The
 * server refuses less (D11), pi writes and trusts only these.
 */
export function isSlotFileName(name: string): boolean {
  return name.length <= 255 && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name);
}

/**
 * The KV layout a server runs with, as far as its arguments and environment say: which saved
 * files it can take (D06: files move only between servers with the same number of KV streams;
 * pi requires the same layout). `parallel` undefined: the server picks (4 on current builds);
 * `unified` undefined: the server's default (on when it picks the slots).
 */
export interface SlotLayout {
  parallel: number | undefined;
  unified: boolean | undefined;
}

/** The value of `-np N`, `--parallel N`, `--parallel=N` in `args`. */
function parallelOf(args: readonly string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const inline = /^--parallel=(-?\d+)$/.exec(arg);
    if (inline) return Number(inline[1]);
    if ((arg === "-np" || arg === "--parallel") && /^-?\d+$/.test(args[i + 1] ?? "")) return Number(args[i + 1]);
  }
  return undefined;
}

function unifiedOf(args: readonly string[]): boolean | undefined {
  let unified: boolean | undefined;
  // The last one wins, as in llama.cpp's own parser.
  for (const arg of args) {
    if (arg === "-kvu" || arg === "--kv-unified") unified = true;
    else if (arg === "-no-kvu" || arg === "--no-kv-unified") unified = false;
  }
  return unified;
}

const truthy = (value: string | undefined) =>
  value === undefined
    ? undefined
    : /^(1|true|on|enabled)$/i.test(value)
      ? true
      : /^(0|false|off|disabled)$/i.test(value)
        ? false
        : undefined;

/** The layout a llama-server gets from its command line, then its environment (arguments win, as in llama.cpp). */
export function slotLayout(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): SlotLayout {
  const fromEnv = env.LLAMA_ARG_N_PARALLEL;
  const parallel = parallelOf(args) ?? (fromEnv !== undefined && /^-?\d+$/.test(fromEnv) ? Number(fromEnv) : undefined);
  return {
    parallel: parallel !== undefined && parallel > 0 ? parallel : undefined,
    unified: unifiedOf(args) ?? truthy(env.LLAMA_ARG_KV_UNIFIED),
  };
}

/** `np=4,kvu=on` (`auto`, `default` for what the server picks): what pi records beside a file and compares. */
export function layoutKey(layout: SlotLayout, totalSlots: number | undefined): string {
  const unified = layout.unified === undefined ? "default" : layout.unified ? "on" : "off";
  return `np=${layout.parallel ?? `auto(${totalSlots ?? "?"})`},kvu=${unified}`;
}

/** `{"id_slot":k,…}`: a request's JSON body pinned to slot `k`, the field put first without parsing the (possibly large) body. */
export function withSlot(body: string, slot: number): string | undefined {
  if (!body.startsWith("{")) return undefined;
  const rest = body.slice(1).trimStart();
  return `{"id_slot":${slot}${rest.startsWith("}") ? "" : ","}${rest}`;
}
