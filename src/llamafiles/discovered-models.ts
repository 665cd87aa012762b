/**
 * Discovered models as local models, on pi's start path: what discovery found last time
 * (discovery/last-found.ts) becomes local models from the factory without loading discovery
 * itself, which runs right after start-up (discovery-run.ts). docs/discovery.md has the rules.
 */
import { homedir } from "node:os";
import { dirname } from "node:path";
import { type LlamafileModel, type LlamafilesConfig, modelDefaults } from "./config.ts";
import { realFileSystem } from "./discovery/file-system.ts";
import { type FoundModel, readLastFound } from "./discovery/last-found.ts";
import { promptCacheSpec } from "./prompt-cache/launch.ts";

/** What discovery reads of the environment: the home (folders, caches), PATH (llama-server), LLAMA_CACHE (llama.cpp's downloads). */
export interface DiscoveryEnv {
  HOME: string;
  PATH?: string;
  LLAMA_CACHE?: string;
}

export function discoveryEnv(env: NodeJS.ProcessEnv = process.env): DiscoveryEnv {
  return { HOME: env.HOME || homedir(), PATH: env.PATH, LLAMA_CACHE: env.LLAMA_CACHE };
}

/**
 * What a discovery's result depends on besides the files: the settings, the home and the
 * download cache, and the declared models (their ids and files win, their ports are taken).
 * PATH is left out: where llama-server is does not change which models there are, and the scan
 * after start-up corrects the command if it moved.
 */
export function discoveryKey(config: LlamafilesConfig, env: DiscoveryEnv): string {
  return JSON.stringify([
    config.discovery,
    config.memoryBudgetBytes,
    env.HOME,
    env.LLAMA_CACHE ?? null,
    config.models.map((model) => [model.id, model.port, model.command, model.args]),
  ]);
}

/**
 * A found model as the local models pi offers: its server is discovery's command line, its
 * memory the estimate, its prompt cache and idle stop the provider's settings.
 */
export function toLocalModel(
  found: FoundModel,
  logPathFor: (id: string) => string,
  config: Pick<LlamafilesConfig, "modelCacheDefaults" | "promptCacheBudgetBytes">,
): LlamafileModel {
  const { promptCache, idleMs } = config.modelCacheDefaults;
  const cache = promptCacheSpec(found, promptCache, config.promptCacheBudgetBytes);
  return {
    id: found.id,
    name: found.name,
    command: found.command,
    args: found.args,
    port: found.port,
    env: {},
    // Every path on its command line is absolute; its own folder is where a llamafile would look for anything else.
    cwd: dirname(found.files[0]!),
    logPath: logPathFor(found.id),
    reasoning: false,
    input: found.input,
    contextWindow: found.contextWindow,
    maxTokens: Math.min(modelDefaults.maxTokens, found.contextWindow),
    cost: modelDefaults.cost,
    passthrough: {},
    memoryBytes: found.memoryBytes,
    ...(cache ? { promptCache: cache } : {}),
    ...(idleMs > 0 ? { idleMs } : {}),
    // The context is what pi gave the server (-c): a server that serves less per request is told about.
    declared: { contextWindow: { value: found.contextWindow, source: "discovery" } },
    discovered: {
      kind: found.kind,
      files: found.files,
      projector: found.projector,
      bytes: found.bytes,
      trainedContext: found.trainedContext,
      estimate: found.estimate,
    },
  };
}

/** The models the last discovery found under these settings, as local models; undefined when none are known. */
export function lastFoundModels(
  config: LlamafilesConfig,
  env: DiscoveryEnv,
  paths: { lastFound: string; logPathFor: (id: string) => string },
): LlamafileModel[] | undefined {
  return readLastFound(paths.lastFound, discoveryKey(config, env), realFileSystem)?.map((found) =>
    toLocalModel(found, paths.logPathFor, config),
  );
}
