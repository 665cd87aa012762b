/**
 * Model discovery, as the rest of the extension uses it: config.ts turns `DiscoveredModel`s into
 * local models (configured ones win: `withoutConfigured`), /llamafiles lists `scanned` and
 * `skipped`, `/llamafiles scan` calls `rescanModels`. docs/discovery.md explains the rules.
 */
export {
  type DiscoveredModel,
  type DiscoveryOptions,
  type DiscoveryProblem,
  type DiscoveryResult,
  defaultModelDirs,
  discoverModels,
  realPathOf,
  rescanModels,
  type SkippedFile,
  type SkipReason,
  skipCounts,
} from "./discover.ts";
export { defaultCachePath } from "./discovery-cache.ts";
export { DEFAULT_CONTEXT, MARGIN, type MemoryEstimate } from "./memory-estimate.ts";
export { type ConfiguredModel, withoutConfigured } from "./merge.ts";
export { DISCOVERY_PORTS } from "./ports.ts";
