/**
 * Discovery: the models in the model folders, each ready to become a local model (command,
 * arguments, port, context, memory estimate), and every file that is not one with its reason.
 * Synchronous (pi loads its configuration synchronously) and bounded; nothing throws out of
 * `discoverModels`: a failure is a value in `problems` or a file's reason in `skipped`.
 *
 *   scan.ts        the folders → files (stat only)
 *   gguf-file.ts   a file's header, unless discovery-cache.ts has it
 *   model-files.ts files → models (splits, projectors, llamafiles) and skipped files
 *   model-identity.ts, ports.ts, memory-estimate.ts, launch-args.ts   each model's id, port, context, estimate, command line
 */
import { type CacheEntry, type CacheProblem, cachedHeader, defaultCachePath, readCache, writeCache } from "./discovery-cache.ts";
import { type FileSystem, realFileSystem } from "./file-system.ts";
import { type GgufFacts, ggufFacts } from "./gguf-facts.ts";
import { readHeaderOfFile, readHeaderOfLlamafile } from "./gguf-file.ts";
import { checkServerArgs, llamafileArgs, llamaServerArgs, type ServerArgsProblem, userChoices } from "./launch-args.ts";
import { chooseContext, DEFAULT_CONTEXT, estimateMemory, kvBytesPerToken, type MemoryEstimate } from "./memory-estimate.ts";
import { defaultModelDirs } from "./model-dirs.ts";
import { classifyFiles, type FileSkip, type FoundFile, type ModelCandidate, needsHeader } from "./model-files.ts";
import { assignIds, displayName } from "./model-identity.ts";
import { assignPorts, DISCOVERY_PORTS, type PortRange } from "./ports.ts";
import { type SCAN_LIMITS, type ScannedFile, type ScanSkip, scanFolders } from "./scan.ts";
import { findLlamaServer, type ServerCommandProblem } from "./server-command.ts";

export interface DiscoveryOptions {
  /** The folders to scan (`~` already expanded); undefined: the default folders that exist (`defaultModelDirs`). */
  modelDirs?: string[];
  /** `llamaServer`: a path or a name on PATH; undefined: `llama-server` on PATH. */
  llamaServer?: string;
  /** `serverArgs` for every model, as the user wrote them (checked here). */
  serverArgs?: unknown;
  /** `serverArgs` per discovered model id, as the user wrote them. */
  modelServerArgs?: Record<string, unknown>;
  /** A port the user chose for a discovered model id, instead of one from DISCOVERY_PORTS. */
  modelPorts?: Record<string, number>;
  /** The context a model gets unless it was trained for less (DEFAULT_CONTEXT). */
  defaultContext?: number;
  /** `memoryBudget`: a model's context is cut so its estimate fits. */
  memoryBudgetBytes?: number;
  /** Ports of the models configured explicitly: never given to a discovered one. */
  reservedPorts: Iterable<number>;
  /** Ports no model may have (config.ts's FETCH_BAD_PORTS). */
  blockedPorts: ReadonlySet<number>;
  /** The port each id had in the last discovery (last-found.ts): kept while it is free to take. */
  previousPorts?: ReadonlyMap<string, number>;
  env: { HOME: string; PATH?: string; LLAMA_CACHE?: string };
  /** The cache file; undefined: `~/.pi/llamafile_cache/discovery.json`; null: no cache. */
  cachePath?: string | null;
  /** Read every header again (the cache is still written): `rescanModels`. */
  ignoreCache?: boolean;
  fs?: FileSystem;
  limits?: typeof SCAN_LIMITS;
}

/** A model found on disk, with everything a local model entry needs. */
export interface DiscoveredModel {
  /** Stable, readable, unique: the file name's slug (model-identity.ts). */
  id: string;
  /** "Qwen2.5 Coder 7B Instruct · Q4_K_M · 4.4 GiB" */
  name: string;
  kind: "gguf" | "llamafile";
  command: string;
  args: string[];
  port: number;
  /** The context the server is started with (`-c`), what pi should assume until the server says. */
  contextWindow: number;
  /** What the model was trained for, when the file says. */
  trainedContext: number | undefined;
  input: ("text" | "image")[];
  /** The estimate's total: what counts against `memoryBudget`. */
  memoryBytes: number;
  estimate: MemoryEstimate;
  /** The model's files, the one given to the server first. */
  files: string[];
  projector: string | undefined;
  /** The model's files together (not the projector). */
  bytes: number;
  /** What its header says (a llamafile's: the model inside); undefined when it could not be read. */
  facts: GgufFacts | undefined;
}

export type SkipReason =
  | FileSkip
  | ScanSkip
  | { code: "no-llama-server" }
  /** Every port of the range (DISCOVERY_PORTS, given for the words) is taken. */
  | { code: "no-port"; range: PortRange }
  /** A model configured in models.json has this id or this file: it wins. */
  | { code: "configured"; by: string; why: "same-id" | "same-file" };

export interface SkippedFile {
  path: string;
  reason: SkipReason;
}

/** What went wrong that is not about one file. */
export type DiscoveryProblem =
  | ServerCommandProblem
  /** `serverArgs` (of every model, or of `model`) that checkServerArgs refuses: left out, as a bad setting falls back to its default. */
  | { code: "bad-server-args"; model: string | undefined; problem: ServerArgsProblem }
  /** A port chosen for `model` that a declared model has, fetch refuses, or another chosen port is: it gets one of the range. */
  | { code: "port-refused"; model: string; port: number; why: "declared" | "blocked" | "twice"; range: PortRange }
  | CacheProblem
  | { code: "discovery-failed"; detail: string };

export interface DiscoveryResult {
  models: DiscoveredModel[];
  /** The folders walked. */
  scanned: string[];
  skipped: SkippedFile[];
  problems: DiscoveryProblem[];
}

/** Headers a cache does not keep: they may read differently next time (a permission, a file being written). */
const TRANSIENT = new Set(["unreadable", "changed-while-reading", "read-failed"]);

export function discoverModels(options: DiscoveryOptions): DiscoveryResult {
  try {
    return discover(options);
  } catch (error) {
    // A bug must not stop pi from starting: say it, offer nothing.
    return {
      models: [],
      scanned: [],
      skipped: [],
      problems: [{ code: "discovery-failed", detail: String((error as Error)?.stack ?? error) }],
    };
  }
}

/** Discovery again, every header read anew (for `/llamafiles scan`). */
export function rescanModels(options: DiscoveryOptions): DiscoveryResult {
  return discoverModels({ ...options, ignoreCache: true });
}

function discover(options: DiscoveryOptions): DiscoveryResult {
  const fs = options.fs ?? realFileSystem;
  const problems: DiscoveryProblem[] = [];
  const dirs = options.modelDirs ?? defaultModelDirs(options.env, fs);
  const scan = scanFolders(dirs, fs, options.limits);
  const skipped: SkippedFile[] = [...scan.skipped];

  const cachePath = options.cachePath === undefined ? defaultCachePath(options.env.HOME) : options.cachePath;
  const cache = cachePath === null ? { entries: new Map<string, CacheEntry>() } : readCache(cachePath, fs);
  if (cache.problem) problems.push(cache.problem);
  const nextCache = new Map<string, CacheEntry>();

  const found: FoundFile[] = scan.files.map((file) => {
    if (!needsHeader(file)) return file;
    const header = (!options.ignoreCache && cachedHeader(cache.entries, file)) || readHeader(file, fs);
    if (header.ok || !TRANSIENT.has(header.problem.code))
      nextCache.set(file.path, { bytes: file.bytes, mtimeMs: file.mtimeMs, dev: file.dev, ino: file.ino, header });
    return { ...file, header };
  });
  if (cachePath !== null && !sameEntries(cache.entries, nextCache)) {
    const problem = writeCache(cachePath, nextCache, fs);
    if (problem) problems.push(problem);
  }

  const classified = classifyFiles(found);
  skipped.push(...classified.skipped);

  const globalArgs = userArgs(options.serverArgs, undefined, problems);
  const server = classified.candidates.some((c) => c.kind === "gguf")
    ? findLlamaServer({ configured: options.llamaServer, pathVariable: options.env.PATH, fs })
    : undefined;
  if (server && !server.ok) problems.push(server.problem);

  const ids = assignIds(classified.candidates.map((c) => ({ stem: c.stem, path: c.files[0]! })));
  const ports = portsFor(ids, options, problems);
  const models: DiscoveredModel[] = [];
  for (const [index, candidate] of classified.candidates.entries()) {
    const id = ids[index]!;
    const port = ports.get(id);
    const path = candidate.files[0]!;
    if (candidate.kind === "gguf" && !server?.ok) skipped.push({ path, reason: { code: "no-llama-server" } });
    else if (port === undefined) skipped.push({ path, reason: { code: "no-port", range: DISCOVERY_PORTS } });
    else {
      const command = candidate.kind === "gguf" && server?.ok ? server.command : path;
      const ownArgs = userArgs(options.modelServerArgs?.[id], id, problems);
      models.push(describe(candidate, { id, port, command, userArgs: [...globalArgs, ...ownArgs] }, options));
    }
  }
  return { models, scanned: scan.scanned, skipped, problems };
}

/**
 * The user's arguments (of every model, or of `model`) when checkServerArgs accepts them; else
 * none, and the problem: as every bad setting, they fall back to their default (README), and
 * the model is still offered.
 */
function userArgs(value: unknown, model: string | undefined, problems: DiscoveryProblem[]): string[] {
  if (value === undefined) return [];
  const checked = checkServerArgs(value);
  if (checked.ok) return checked.args;
  problems.push({ code: "bad-server-args", model, problem: checked.problem });
  return [];
}

/** Each id's port: the one the user chose for it when it is free to take, else one of the range (ports.ts). */
function portsFor(ids: string[], options: DiscoveryOptions, problems: DiscoveryProblem[]): Map<string, number | undefined> {
  const reserved = new Set(options.reservedPorts);
  const chosen = new Map<string, number>();
  const taken = new Set<number>();
  for (const id of ids) {
    const port = options.modelPorts?.[id];
    if (port === undefined) continue;
    const why = reserved.has(port) ? "declared" : options.blockedPorts.has(port) ? "blocked" : taken.has(port) ? "twice" : undefined;
    if (why) problems.push({ code: "port-refused", model: id, port, why, range: DISCOVERY_PORTS });
    else {
      chosen.set(id, port);
      taken.add(port);
    }
  }
  const ports = assignPorts(
    ids.filter((id) => !chosen.has(id)),
    [...reserved, ...taken],
    options.blockedPorts,
    options.previousPorts,
  );
  for (const [id, port] of chosen) ports.set(id, port);
  return ports;
}

/** A model ready to run: its context, estimate and command line from its facts and the user's arguments. */
function describe(
  candidate: ModelCandidate,
  launch: { id: string; port: number; command: string; userArgs: string[] },
  options: Pick<DiscoveryOptions, "defaultContext" | "memoryBudgetBytes">,
): DiscoveredModel {
  const { id, port, userArgs } = launch;
  const choices = userChoices(userArgs);
  const facts = candidate.facts;
  const defaultContext = options.defaultContext ?? DEFAULT_CONTEXT;
  const weightBytes = candidate.bytes + (candidate.projector?.bytes ?? 0);
  const perToken = facts ? kvBytesPerToken(facts, choices.cache) : undefined;
  const trained = facts?.trainedContext;
  const context =
    choices.context !== undefined
      ? // The user's -c wins; -c 0 is llama.cpp's "the trained context".
        choices.context || (trained ?? defaultContext)
      : chooseContext({
          defaultContext,
          trainedContext: trained,
          budgetBytes: options.memoryBudgetBytes,
          weightBytes,
          kvBytesPerToken: perToken,
        });
  const estimate = estimateMemory(weightBytes, perToken === undefined ? undefined : Math.ceil(perToken * context));
  const path = candidate.files[0]!;
  const args =
    candidate.kind === "gguf"
      ? llamaServerArgs({
          id,
          port,
          context,
          userArgs,
          modelFile: path,
          projector: candidate.projector?.path,
          chatTemplate: facts?.hasChatTemplate ?? false,
        })
      : llamafileArgs({ id, port, context, userArgs });
  return {
    id,
    name: displayName({ name: facts?.name, stem: candidate.stem, quantization: facts?.quantization, bytes: candidate.bytes }),
    kind: candidate.kind,
    command: launch.command,
    args,
    port,
    contextWindow: context,
    trainedContext: trained,
    input: candidate.projector ? ["text", "image"] : ["text"],
    memoryBytes: estimate.totalBytes,
    estimate,
    files: candidate.files,
    projector: candidate.projector?.path,
    bytes: candidate.bytes,
    facts,
  };
}

function readHeader(file: ScannedFile, fs: FileSystem) {
  const result = (file.kind === "llamafile" ? readHeaderOfLlamafile : readHeaderOfFile)(file.path, file, fs);
  return result.ok ? { ok: true as const, facts: ggufFacts(result.header) } : result;
}

function sameEntries(before: ReadonlyMap<string, CacheEntry>, after: ReadonlyMap<string, CacheEntry>): boolean {
  if (before.size !== after.size) return false;
  for (const [path, entry] of after) {
    const old = before.get(path);
    if (!old || old.bytes !== entry.bytes || old.mtimeMs !== entry.mtimeMs || old.dev !== entry.dev || old.ino !== entry.ino) return false;
  }
  return true;
}

/** A path's real path for `withoutConfigured` (merge.ts); the path itself when it cannot be resolved. */
export function realPathOf(fs: FileSystem = realFileSystem): (path: string) => string {
  return (path) => {
    try {
      return fs.realpathSync(path);
    } catch {
      return path;
    }
  };
}
