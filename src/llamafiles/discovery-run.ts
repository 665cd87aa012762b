/**
 * One discovery for the extension (loaded on first use, never on pi's start path unless pi needs
 * the models then): the core's `discoverModels` with the user's settings, the declared models
 * winning over what it found (`withoutConfigured`), the result kept for the next start
 * (discovery/last-found.ts).
 */
import { FETCH_BAD_PORTS, type LlamafileModel, type LlamafilesConfig } from "./config.ts";
import { type DiscoveryEnv, discoveryKey, toLocalModel } from "./discovered-models.ts";
import {
  type DiscoveredModel,
  type DiscoveryProblem,
  discoverModels,
  realPathOf,
  rescanModels,
  type SkippedFile,
} from "./discovery/discover.ts";
import { realFileSystem } from "./discovery/file-system.ts";
import { ANY_KEY, type FoundModel, lastFoundText, readLastFound, writeLastFound } from "./discovery/last-found.ts";
import { withoutConfigured } from "./discovery/merge.ts";

export interface DiscoveryOutcome {
  /** The discovered models pi offers (declared models' ids and files left out). */
  models: LlamafileModel[];
  /** The folders walked. */
  scanned: string[];
  /** Every file that is no model pi offers, with its reason (a declared model's file too: "configured"). */
  skipped: SkippedFile[];
  problems: DiscoveryProblem[];
}

export interface DiscoveryRun {
  env: DiscoveryEnv;
  logPathFor: (id: string) => string;
  /** Every header read again (`/llamafiles scan`), instead of what the header cache knows. */
  rescan?: boolean;
  /** The last result (discovery/last-found.ts); the header cache is the core's default (~/.pi/llamafile_cache/discovery.json). */
  lastFoundPath: string;
}

export function runDiscovery(config: LlamafilesConfig, run: DiscoveryRun): DiscoveryOutcome {
  const settings = config.discovery;
  if (!settings) return { models: [], scanned: [], skipped: [], problems: [] };
  const key = discoveryKey(config, run.env);
  const before = readLastFound(run.lastFoundPath, key, realFileSystem);
  const result = (run.rescan ? rescanModels : discoverModels)({
    modelDirs: settings.modelDirs,
    llamaServer: settings.llamaServer,
    serverArgs: settings.serverArgs,
    modelServerArgs: settings.modelServerArgs,
    modelPorts: settings.modelPorts,
    memoryBudgetBytes: config.memoryBudgetBytes,
    reservedPorts: config.models.map((model) => model.port),
    blockedPorts: FETCH_BAD_PORTS,
    // A model keeps its port when another is found or a setting changed: its server may be running, for this pi or another.
    previousPorts: new Map((before ?? readLastFound(run.lastFoundPath, ANY_KEY, realFileSystem))?.map((found) => [found.id, found.port])),
    env: run.env,
  });
  const merged = withoutConfigured(result.models, config.models, realPathOf());
  remember(run, key, before, merged.models);
  return {
    models: merged.models.map((found) => toLocalModel(found, run.logPathFor, config)),
    scanned: result.scanned,
    skipped: [...result.skipped, ...merged.skipped],
    problems: result.problems,
  };
}

/** Keeps the result for the next start; written only when it changed. A failure to write only costs the next start its head start. */
function remember(run: DiscoveryRun, key: string, before: FoundModel[] | undefined, models: DiscoveredModel[]): void {
  const text = lastFoundText(key, models);
  if (before && lastFoundText(key, before) === text) return;
  writeLastFound(run.lastFoundPath, text, realFileSystem);
}
