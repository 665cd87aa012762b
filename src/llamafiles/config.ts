/**
 * Reads `providers.llamafiles` from ~/.pi/agent/models.json: synchronously, validated against
 * the schema this package ships, defaults filled. Nothing here throws: a bad entry is skipped
 * (a `model-skipped` problem naming its JSON path and value), the rest load. Discovery is on
 * unless the block turns it off, so no file, no block and no `models` are not problems: the
 * discovered models need none of them (src/llamafiles/discovered-models.ts).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import type { ErrorObject } from "ajv";
import type { WarmSpec } from "../../machines/local-fleet.machine.ts";
import type { DeclaredModel } from "../llama-cpp/model-facts.ts";
import { expandHome } from "../util/home-path.ts";
import { parseJsonWithComments } from "../util/json-with-comments.ts";
// Compiled ahead of time from models-json.schema.json (see tools/generate-validators.ts).
import { validateLlamafilesProvider } from "./config-validator.generated.js";
import type { MemoryEstimate } from "./discovery/memory-estimate.ts";
import { promptCacheSpec } from "./prompt-cache/launch.ts";

export const LLAMAFILES_PROVIDER = "llamafiles";

/** What can be wrong with providers.llamafiles in models.json (src/llamafiles/messages.ts words it). */
export type ConfigProblem =
  | { code: "file-unreadable"; path: string; errno: string | undefined }
  | { code: "not-json"; path: string; detail: string }
  | { code: "block-not-object"; got: unknown }
  | { code: "models-missing" }
  | { code: "models-not-a-list"; got: unknown }
  | { code: "bad-provider-field"; violation: SchemaViolation }
  | { code: "model-skipped"; index: number; id: string | undefined; violations: SchemaViolation[] }
  /** `discovered.<id>` breaks the schema: that id's settings are left out, the others kept (no violation: the id itself is not one). */
  | { code: "discovered-skipped"; id: string; violations: SchemaViolation[] }
  | { code: "duplicate-id"; id: string; index: number }
  | { code: "bad-port"; index: number; id: string; port: number }
  | { code: "privileged-port"; index: number; id: string; port: number; lowest: number }
  | { code: "no-valid-model" }
  | { code: "fields-pi-needs"; missing: Array<"api" | "baseUrl">; piVersion: string }
  /** pi refuses a block with no "models" and no "baseUrl" (nor headers, compat, …): nothing can be registered under it. */
  | { code: "block-pi-refuses" }
  /** pi threw when the provider was registered (its words in `detail`). */
  | { code: "registration-failed"; detail: string };

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
  /** Set for a model discovery found (src/llamafiles/discovered-models.ts), not one of models.json. */
  discovered?: DiscoveredDetails;
}

/** What discovery read of a model's files, for /llamafiles. */
export interface DiscoveredDetails {
  kind: "gguf" | "llamafile";
  /** The model's files, the one the server is given first. */
  files: string[];
  projector: string | undefined;
  /** The model's files together (not the projector). */
  bytes: number;
  /** What the file says it was trained for, when it says. */
  trainedContext: number | undefined;
  /** `memoryBytes` and what it is made of. */
  estimate: MemoryEstimate;
}

/** Where and how discovery finds models (docs/discovery.md); the block's fields, `~` expanded. */
export interface DiscoverySettings {
  /** `modelDirs`; undefined: the default folders that exist. */
  modelDirs: string[] | undefined;
  /** `llamaServer`: a path or a name on PATH; undefined: `llama-server` on PATH. */
  llamaServer: string | undefined;
  /** `serverArgs`, for every discovered model. */
  serverArgs: string[] | undefined;
  /** `discovered.<id>.serverArgs`, by discovered id. */
  modelServerArgs: Record<string, string[]>;
  /** `discovered.<id>.port`, by discovered id. */
  modelPorts: Record<string, number>;
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
  /** Undefined when `"discover": false`. */
  discovery: DiscoverySettings | undefined;
  /** What the saved prompt caches of every model may take on disk together. */
  promptCacheBudgetBytes: number;
  /** The provider's `promptCache` and `idleMinutes`: what a model that does not say otherwise (a discovered one) gets. */
  modelCacheDefaults: { promptCache: boolean; idleMs: number };
  /**
   * The provider-level fields pi needs to compose a block that declares models: it reads
   * providers.llamafiles on its own, before extensions load, and requires "api" and "baseUrl"
   * for every model. When some are missing, the extension registers a native provider that
   * supplies them (src/llamafiles/provider.ts). Empty when the block is complete or declares none.
   */
  missingForPi: Array<"api" | "baseUrl">;
}

export interface LoadResult {
  /** Undefined when nothing can be registered: no valid model declared and discovery off, or a block pi refuses. */
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

/**
 * The `discovered.<id>` an error is about, or undefined when it is about another field or the
 * whole of "discovered" (not an object). An error at "/discovered" itself, when it is an object,
 * comes from its ids' rule (`propertyNames`): ajv names the id only in the envelope's params, and
 * the rule's own errors (blank, too long) are left to it (`idRule`).
 */
function discoveredIdOf(error: ErrorObject, discovered: unknown): { id: string; idRule?: true } | "rule-detail" | undefined {
  const [, field, id] = error.instancePath.split("/");
  if (field !== "discovered") return undefined;
  if (id !== undefined) return { id: id.replace(/~1/g, "/").replace(/~0/g, "~") };
  if (discovered === null || typeof discovered !== "object" || Array.isArray(discovered)) return undefined;
  const name = (error.params as { propertyName?: unknown }).propertyName;
  return error.keyword === "propertyNames" && typeof name === "string" ? { id: name, idRule: true } : "rule-detail";
}

/** What pi itself requires of a block without models (its provider composer), or it refuses the block and the registration. */
const FIELDS_PI_ACCEPTS = ["baseUrl", "headers", "compat", "modelOverrides", "apiKey", "oauth", "authHeader"];

/** Discovery with every default: what a user with no models.json (or no usable block) gets. */
const defaultDiscovery: DiscoverySettings = {
  modelDirs: undefined,
  llamaServer: undefined,
  serverArgs: undefined,
  modelServerArgs: {},
  modelPorts: {},
};

/** No usable block: no declared model, every default, discovery on. */
const defaultsOnly = (): LlamafilesConfig => ({
  missingForPi: [],
  baseUrl: providerDefaults.baseUrl,
  api: providerDefaults.api,
  apiKey: providerDefaults.apiKey,
  compat: { ...providerDefaults.compat },
  models: [],
  keepWarm: 1,
  memoryBudgetBytes: undefined,
  discovery: defaultDiscovery,
  promptCacheBudgetBytes: memoryBytes(DEFAULT_PROMPT_CACHE_BUDGET),
  modelCacheDefaults: { promptCache: true, idleMs: 0 },
});

export function loadLlamafilesConfig(options: {
  modelsPath: string;
  cwd: string;
  logPathFor: (modelId: string) => string;
  /** The lowest port this user may listen on (tests set it; read from the system otherwise). */
  lowestPort?: number;
  /** What `~` in modelDirs means; HOME otherwise. */
  home?: string;
}): LoadResult {
  const problems: ConfigProblem[] = [];
  const lowestPort = options.lowestPort ?? lowestUnprivilegedPort();
  const home = options.home ?? (process.env.HOME || homedir());
  // A file that cannot be used declares nothing; discovery still offers what it finds.
  const onlyDiscovered = (problem?: ConfigProblem): LoadResult => ({
    config: defaultsOnly(),
    problems: problem ? [...problems, problem] : problems,
  });

  let text: string;
  try {
    text = readFileSync(options.modelsPath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return onlyDiscovered(code === "ENOENT" ? undefined : { code: "file-unreadable", path: options.modelsPath, errno: code });
  }
  let root: unknown;
  try {
    root = parseJsonWithComments(text);
  } catch (error) {
    return onlyDiscovered({ code: "not-json", path: options.modelsPath, detail: (error as Error).message });
  }
  const block = (root as { providers?: Record<string, unknown> } | null)?.providers?.[LLAMAFILES_PROVIDER];
  if (block === undefined) return onlyDiscovered();
  if (block === null || typeof block !== "object" || Array.isArray(block)) {
    return onlyDiscovered({ code: "block-not-object", got: block });
  }
  const provider = block as Record<string, unknown>;
  if (provider.models !== undefined && !Array.isArray(provider.models)) {
    // What pi itself makes of such a block is anyone's guess: register nothing under it.
    return { config: undefined, problems: [...problems, { code: "models-not-a-list", got: provider.models }] };
  }
  const declaresModels = Array.isArray(provider.models) && provider.models.length > 0;
  const discoverOff = provider.discover === false;
  if (!declaresModels && discoverOff) {
    return {
      config: undefined,
      problems: [
        ...problems,
        provider.models === undefined ? { code: "models-missing" } : { code: "models-not-a-list", got: provider.models },
      ],
    };
  }
  if (!declaresModels && !FIELDS_PI_ACCEPTS.some((field) => provider[field] !== undefined)) {
    return { config: undefined, problems: [...problems, { code: "block-pi-refuses" }] };
  }

  const validate = validateLlamafilesProvider;
  validate(provider);
  const badModels = new Map<number, SchemaViolation[]>();
  const badProviderFields = new Set<string>();
  // As with models[]: one bad id's settings are left out, not every id's.
  const badDiscovered = new Map<string, SchemaViolation[]>();
  for (const error of validate.errors ?? []) {
    const index = modelIndexOf(error);
    const violation = { block: provider, error };
    const discovered = discoveredIdOf(error, provider.discovered);
    if (index !== undefined) badModels.set(index, [...(badModels.get(index) ?? []), violation]);
    else if (discovered === "rule-detail") continue;
    else if (discovered) {
      const violations = badDiscovered.get(discovered.id) ?? [];
      badDiscovered.set(discovered.id, discovered.idRule ? violations : [...violations, violation]);
    } else {
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
  const declared = Array.isArray(provider.models) ? (provider.models as unknown[]) : [];
  declared.forEach((entry, index) => {
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

  if (models.length === 0 && discoverOff) {
    return { config: undefined, problems: [...problems, { code: "no-valid-model" }] };
  }
  const entries = declared.map((entry) => (entry && typeof entry === "object" ? (entry as Record<string, unknown>) : {}));
  // pi composes the block's own models with its api and baseUrl; without models it needs neither.
  const missingForPi = (["api", "baseUrl"] as const).filter(
    (field) => declaresModels && typeof provider[field] !== "string" && !entries.every((entry) => typeof entry[field] === "string"),
  );
  const budget = providerField<string | undefined>("memoryBudget", undefined);
  const dirs = providerField<string[] | undefined>("modelDirs", undefined);
  for (const [id, violations] of badDiscovered) problems.push({ code: "discovered-skipped", id, violations });
  const perModel = Object.entries(providerField<Record<string, { serverArgs?: string[]; port?: number }>>("discovered", {})).filter(
    ([id]) => !badDiscovered.has(id),
  );
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
      discovery: discoverOff
        ? undefined
        : {
            modelDirs: dirs?.map((dir) => expandHome(dir, home)),
            llamaServer: providerField<string | undefined>("llamaServer", undefined),
            serverArgs: providerField<string[] | undefined>("serverArgs", undefined),
            modelServerArgs: Object.fromEntries(
              perModel.flatMap(([id, settings]) => (settings.serverArgs ? [[id, settings.serverArgs]] : [])),
            ),
            modelPorts: Object.fromEntries(
              perModel.flatMap(([id, settings]) => (settings.port !== undefined ? [[id, settings.port]] : [])),
            ),
          },
      promptCacheBudgetBytes: promptCacheBudget,
      modelCacheDefaults: { promptCache, idleMs: Math.round(idleMinutes * 60_000) },
    },
    problems,
  };
}
