/**
 * Reads `providers.llamafiles` from ~/.pi/agent/models.json: synchronously, validated against
 * the schema this package ships, defaults filled. Nothing here throws: a bad entry is skipped
 * (a `model-skipped` problem naming its JSON path and value), the rest load.
 */
import { readFileSync } from "node:fs";
import type { ErrorObject } from "ajv";
import type { WarmSpec } from "../../machines/local-fleet.machine.ts";
import type { DeclaredModel } from "../llama-cpp/model-facts.ts";
import { parseJsonWithComments } from "../pi-session/json-with-comments.ts";
// Compiled ahead of time from models-json.schema.json (see tools/generate-validators.ts).
import { validateLlamafilesProvider } from "./config-validator.generated.js";
import { promptCacheSpec } from "./prompt-cache/launch.ts";

export const LLAMAFILES_PROVIDER = "llamafiles";

/** What can be wrong with providers.llamafiles in models.json (src/llamafiles/messages.ts words it). */
export type ConfigProblem =
  | { code: "file-missing"; path: string }
  | { code: "file-unreadable"; path: string; errno: string | undefined }
  | { code: "not-json"; path: string; detail: string }
  | { code: "no-block" }
  | { code: "block-not-object"; got: unknown }
  | { code: "models-missing" }
  | { code: "models-not-a-list"; got: unknown }
  | { code: "bad-provider-field"; violation: SchemaViolation }
  | { code: "model-skipped"; index: number; id: string | undefined; violations: SchemaViolation[] }
  | { code: "duplicate-id"; id: string; index: number }
  | { code: "bad-port"; index: number; id: string; port: number }
  | { code: "privileged-port"; index: number; id: string; port: number; lowest: number }
  | { code: "no-valid-model" }
  | { code: "fields-pi-needs"; missing: Array<"api" | "baseUrl">; piVersion: string };

/** One way the block breaks its schema: ajv's error and the block it was found in (for the value). */
export interface SchemaViolation {
  block: unknown;
  error: ErrorObject;
}

export const providerDefaults = {
  baseUrl: "http://localhost:8080/v1",
  api: "openai-completions",
  apiKey: "llamafiles-not-needed",
  compat: { supportsDeveloperRole: false, supportsReasoningEffort: false, maxTokensField: "max_tokens" },
} as const;

export const modelDefaults = {
  port: 8080,
  reasoning: false,
  input: ["text"] as ("text" | "image")[],
  contextWindow: 131072,
  maxTokens: 8192,
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
};

/** One configured model: how to launch it, plus what pi shows and sends. */
export interface LlamafileModel extends WarmSpec {
  reasoning: boolean;
  input: ("text" | "image")[];
  contextWindow: number;
  maxTokens: number;
  cost: { input: number; output: number; cacheRead: number; cacheWrite: number };
  /** Fields this extension does not know, passed through to pi unchanged. */
  passthrough: Record<string, unknown>;
  /** What the user wrote (not the defaults): the server's own answer replaces the rest. */
  declared: DeclaredModel;
}

export interface LlamafilesConfig {
  baseUrl: string;
  api: string;
  apiKey: string;
  compat: Record<string, unknown>;
  models: LlamafileModel[];
  /** How many local servers may run at once (1: one at a time). */
  keepWarm: number;
  /** What the running servers' memory estimates may add up to. */
  memoryBudgetBytes: number | undefined;
  /** What the saved prompt caches of every model may take on disk together. */
  promptCacheBudgetBytes: number;
  /**
   * The provider-level fields pi 0.87.1 itself needs before it accepts the block (it reads
   * providers.llamafiles on its own, before extensions load, and requires "api" and "baseUrl"
   * for every model). Empty when the block is complete. See src/providers/llamafiles-provider.ts.
   */
  missingForPi: Array<"api" | "baseUrl">;
}

export interface LoadResult {
  /** Undefined when nothing can be registered (missing file, no models, ...). */
  config: LlamafilesConfig | undefined;
  /** What was wrong, as values (src/llamafiles/messages.ts words them). */
  problems: ConfigProblem[];
}

const LAUNCH_FIELDS = new Set([
  "id",
  "name",
  "command",
  "args",
  "port",
  "env",
  "cwd",
  "reasoning",
  "input",
  "contextWindow",
  "maxTokens",
  "cost",
  "memory",
  "pinned",
  "promptCache",
  "idleMinutes",
]);

/** What the saved prompt caches of all models may take on disk when `promptCacheBudget` does not say. */
export const DEFAULT_PROMPT_CACHE_BUDGET = "16GiB";

const MEMORY_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  KiB: 2 ** 10,
  MB: 1e6,
  MiB: 2 ** 20,
  GB: 1e9,
  GiB: 2 ** 30,
  TB: 1e12,
  TiB: 2 ** 40,
};

/** "22GiB" → bytes (the schema has checked the form). */
export function memoryBytes(text: string): number {
  const [, amount, unit] = /^([0-9.]+) ?([A-Za-z]+)$/.exec(text)!;
  return Math.round(Number(amount) * MEMORY_UNITS[unit!]!);
}

/**
 * Ports the fetch standard blocks (Node's fetch, and so pi, refuses to connect to them): a
 * server there would start, and every prompt would fail with "Connection error.".
 */
export const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117,
  119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636,
  989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** The lowest port a server started by this user can listen on: 0 for root, else the system's setting (Linux), else 1024. */
function lowestUnprivilegedPort(): number {
  if (process.getuid?.() === 0) return 0;
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim()) || 1024;
  } catch {
    return 1024;
  }
}

/**
 * The id of a models[] entry when it is a valid one (the schema's rule), to name a skipped entry
 * by: with twenty models, the index alone does not say which. An id that is itself what is
 * wrong is quoted by the violation already.
 */
function idOf(entry: unknown): string | undefined {
  const id = (entry as { id?: unknown } | null)?.id;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: an id with control characters is not shown as a name
  return typeof id === "string" && id.trim() !== "" && id.length <= 200 && !/[\u0000-\u001f\u007f]/.test(id) ? id : undefined;
}

/** Which models[] index an error belongs to, or undefined for provider-level fields. */
function modelIndexOf(error: ErrorObject): number | undefined {
  const match = /^\/models\/(\d+)(\/|$)/.exec(error.instancePath);
  return match ? Number(match[1]) : undefined;
}

export function loadLlamafilesConfig(options: {
  modelsPath: string;
  cwd: string;
  logPathFor: (modelId: string) => string;
  /** The lowest port this user may listen on (tests set it; read from the system otherwise). */
  lowestPort?: number;
}): LoadResult {
  const problems: ConfigProblem[] = [];
  const lowestPort = options.lowestPort ?? lowestUnprivilegedPort();
  const nothing = (problem: ConfigProblem): LoadResult => ({ config: undefined, problems: [...problems, problem] });

  let text: string;
  try {
    text = readFileSync(options.modelsPath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return nothing(
      code === "ENOENT"
        ? { code: "file-missing", path: options.modelsPath }
        : { code: "file-unreadable", path: options.modelsPath, errno: code },
    );
  }
  let root: unknown;
  try {
    root = parseJsonWithComments(text);
  } catch (error) {
    return nothing({ code: "not-json", path: options.modelsPath, detail: (error as Error).message });
  }
  const block = (root as { providers?: Record<string, unknown> } | null)?.providers?.[LLAMAFILES_PROVIDER];
  if (block === undefined) {
    return nothing({ code: "no-block" });
  }
  if (block === null || typeof block !== "object" || Array.isArray(block)) {
    return nothing({ code: "block-not-object", got: block });
  }
  const provider = block as Record<string, unknown>;
  if (!Array.isArray(provider.models) || provider.models.length === 0) {
    return nothing(provider.models === undefined ? { code: "models-missing" } : { code: "models-not-a-list", got: provider.models });
  }

  const validate = validateLlamafilesProvider;
  validate(provider);
  const badModels = new Map<number, SchemaViolation[]>();
  const badProviderFields = new Set<string>();
  for (const error of validate.errors ?? []) {
    const index = modelIndexOf(error);
    const violation = { block: provider, error };
    if (index !== undefined) badModels.set(index, [...(badModels.get(index) ?? []), violation]);
    else {
      const field = error.instancePath.split("/")[1];
      if (field) badProviderFields.add(field);
      problems.push({ code: "bad-provider-field", violation });
    }
  }
  const providerField = <T>(field: string, fallback: T): T =>
    provider[field] === undefined || badProviderFields.has(field) ? fallback : (provider[field] as T);
  const promptCache = providerField("promptCache", true);
  const promptCacheBudget = memoryBytes(providerField("promptCacheBudget", DEFAULT_PROMPT_CACHE_BUDGET));
  const idleMinutes = providerField("idleMinutes", 0);

  const models: LlamafileModel[] = [];
  const seen = new Set<string>();
  (provider.models as unknown[]).forEach((entry, index) => {
    const invalid = badModels.get(index);
    if (invalid) {
      problems.push({ code: "model-skipped", index, id: idOf(entry), violations: invalid });
      return;
    }
    const raw = entry as Record<string, unknown>;
    const id = raw.id as string;
    const port = (raw.port as number | undefined) ?? modelDefaults.port;
    if (FETCH_BAD_PORTS.has(port)) {
      problems.push({ code: "bad-port", index, id, port });
      return;
    }
    if (port < lowestPort) {
      problems.push({ code: "privileged-port", index, id, port, lowest: lowestPort });
      return;
    }
    if (seen.has(id)) {
      problems.push({ code: "duplicate-id", id, index });
      return;
    }
    seen.add(id);
    const passthrough = Object.fromEntries(Object.entries(raw).filter(([key]) => !LAUNCH_FIELDS.has(key)));
    const args = (raw.args as string[] | undefined) ?? [];
    const cache = promptCacheSpec(
      { id, command: raw.command as string, args },
      (raw.promptCache as boolean | undefined) ?? promptCache,
      promptCacheBudget,
    );
    // A pinned server is never stopped to make room, nor for idleness.
    const idleMs = raw.pinned === true ? 0 : ((raw.idleMinutes as number | undefined) ?? idleMinutes) * 60_000;
    models.push({
      id,
      name: (raw.name as string | undefined) ?? id,
      command: raw.command as string,
      args,
      port,
      env: (raw.env as Record<string, string> | undefined) ?? {},
      cwd: (raw.cwd as string | undefined) ?? options.cwd,
      logPath: options.logPathFor(id),
      reasoning: (raw.reasoning as boolean | undefined) ?? modelDefaults.reasoning,
      input: (raw.input as ("text" | "image")[] | undefined) ?? modelDefaults.input,
      contextWindow: (raw.contextWindow as number | undefined) ?? modelDefaults.contextWindow,
      maxTokens: (raw.maxTokens as number | undefined) ?? modelDefaults.maxTokens,
      cost: (raw.cost as LlamafileModel["cost"] | undefined) ?? modelDefaults.cost,
      passthrough,
      ...(raw.memory !== undefined ? { memoryBytes: memoryBytes(raw.memory as string) } : {}),
      ...(raw.pinned === true ? { pinned: true } : {}),
      ...(cache ? { promptCache: cache } : {}),
      ...(idleMs > 0 ? { idleMs: Math.round(idleMs) } : {}),
      declared: {
        contextWindow: raw.contextWindow === undefined ? undefined : { value: raw.contextWindow as number, source: "models.json" },
        input: raw.input as ("text" | "image")[] | undefined,
        maxTokens: raw.maxTokens as number | undefined,
      },
    });
  });

  if (models.length === 0) {
    return nothing({ code: "no-valid-model" });
  }
  const entries = (provider.models as unknown[]).map((entry) =>
    entry && typeof entry === "object" ? (entry as Record<string, unknown>) : {},
  );
  const missingForPi = (["api", "baseUrl"] as const).filter(
    (field) => typeof provider[field] !== "string" && !entries.every((entry) => typeof entry[field] === "string"),
  );
  const budget = providerField<string | undefined>("memoryBudget", undefined);
  return {
    config: {
      missingForPi,
      baseUrl: providerField("baseUrl", providerDefaults.baseUrl),
      api: providerField("api", providerDefaults.api),
      apiKey: providerField("apiKey", providerDefaults.apiKey),
      compat: { ...providerDefaults.compat, ...providerField<Record<string, unknown>>("compat", {}) },
      models,
      keepWarm: providerField("keepWarm", 1),
      memoryBudgetBytes: budget === undefined ? undefined : memoryBytes(budget),
      promptCacheBudgetBytes: promptCacheBudget,
    },
    problems,
  };
}
