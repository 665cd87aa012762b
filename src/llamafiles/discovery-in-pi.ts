/**
 * Discovery in pi: which discovered models the factory registers, the scan right after
 * start-up, and `/llamafiles scan`. pi's start-up does not wait for a scan: the factory
 * registers what the last discovery found (discovered-models.ts, a file read), and the scan runs
 * as soon as the session has started, registering again when it found something else. It runs
 * in the factory only when pi needs the list before any session: `pi --list-models`, or a
 * llamafiles model pi starts with (`--model`, the default model in settings) that is not known
 * yet, so that pi finds it.
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import type { RunMode } from "../pi-session/run-mode.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { StartModel } from "../pi-session/start-model.ts";
import type { StartupReport } from "../pi-session/startup-report.ts";
import { LLAMAFILES_PROVIDER, type LlamafilesConfig } from "./config.ts";
import { type DiscoveryEnv, discoveryEnv, discoveryKey, lastFoundModels } from "./discovered-models.ts";
import { realFileSystem } from "./discovery/file-system.ts";
import { defaultLastFoundPath, lastFoundText, writeLastFound } from "./discovery/last-found.ts";
import { defaultModelDirCandidates, defaultModelDirs } from "./discovery/model-dirs.ts";
import type { DiscoveryOutcome } from "./discovery-run.ts";
import type { LocalModels } from "./local-models.ts";

export interface DiscoveryInPi {
  /** The last scan's outcome, running one first if none has run in this pi (for /llamafiles). */
  outcome(): Promise<DiscoveryOutcome>;
  /** Every header read again (`/llamafiles scan`); the ids offered before it. */
  rescan(): Promise<{ before: string[]; outcome: DiscoveryOutcome }>;
  /** The folders looked in when "modelDirs" is not set. */
  defaultFolders(): string[];
  home: string;
}

const SAID = Symbol.for("pi-llama-supervisor.discovery-said");
/** The start-up lines this pi process said, kept on `globalThis`: /reload evaluates this module anew. */
function saidInThisProcess(): Set<string> {
  const holder = globalThis as unknown as Record<symbol, Set<string> | undefined>;
  holder[SAID] ??= new Set();
  return holder[SAID];
}

export interface DiscoveryInPiOptions {
  pi: Pick<ExtensionAPI, "on" | "setModel">;
  session: SessionUi;
  report: StartupReport;
  config: LlamafilesConfig & { discovery: NonNullable<LlamafilesConfig["discovery"]> };
  models: LocalModels;
  /** Registers the provider with `models.all()`. */
  register(): void;
  logPathFor(id: string): string;
  mode: RunMode;
  start: StartModel | undefined;
  env?: DiscoveryEnv;
}

export async function discoveryInPi(options: DiscoveryInPiOptions): Promise<DiscoveryInPi> {
  const { config, models, session } = options;
  const env = options.env ?? discoveryEnv();
  const lastFound = defaultLastFoundPath(env.HOME);
  let last: DiscoveryOutcome | undefined;

  const known = lastFoundModels(config, env, { lastFound, logPathFor: options.logPathFor });
  if (known) models.replaceDiscovered(known);

  /** One discovery, its models offered; whether pi's registration must change. */
  const discover = async (rescan: boolean) => {
    if (config.discovery.modelDirs === undefined && defaultModelDirs(env).length === 0) {
      // Nothing to look at (most users of the ai-server alone): discovery itself is not even loaded.
      last = { models: [], scanned: [], skipped: [], problems: [] };
      if (known?.length) writeLastFound(lastFound, lastFoundText(discoveryKey(config, env), []), realFileSystem);
      return models.replaceDiscovered([]);
    }
    const { runDiscovery } = await import("./discovery-run.ts");
    last = runDiscovery(config, { env, logPathFor: options.logPathFor, rescan, lastFoundPath: lastFound });
    return models.replaceDiscovered(last.models);
  };
  /** The start-up line, unless this pi said the same one already (pi runs the factory again on /reload, /new, /resume). */
  const summary = async (outcome: DiscoveryOutcome) => {
    const said = (await import("./messages.ts")).discoverySummary(outcome, env.HOME);
    const key = `${env.HOME}\n${said?.text}`;
    if (!said || saidInThisProcess().has(key)) return undefined;
    saidInThisProcess().add(key);
    return said;
  };

  /** The registration changed: pi's session keeps its own copy of its model, so it gets the new one. */
  const registerAgain = async () => {
    options.register();
    const current = session.model();
    if (current?.provider !== LLAMAFILES_PROVIDER) return;
    const fresh = session.findModel(LLAMAFILES_PROVIDER, current.id);
    // Only a model that changed: selecting it again is a no-op for the fleet, but pi says it.
    if (fresh && JSON.stringify(fresh) !== JSON.stringify(current)) await options.pi.setModel(fresh).catch(() => undefined);
  };

  const startsWithUnknown = options.start?.provider === LLAMAFILES_PROVIDER && !models.get(options.start.id);
  if (options.mode === "list-models" || startsWithUnknown) {
    try {
      await discover(false);
      const said = await summary(last!);
      if (said) options.report.add({ ...said, onlyWithUi: said.level === "info" });
    } catch {
      // discoverModels returns its failures as values; whatever else goes wrong must not stop pi's start.
      last = undefined;
    }
  } else {
    let scheduled = false;
    options.pi.on("session_start", () => {
      if (scheduled) return;
      scheduled = true;
      // After pi has drawn its start: a cold scan of many files takes a noticeable moment.
      setTimeout(async () => {
        if (last) return;
        try {
          if (await discover(false)) await registerAgain();
          const said = await summary(last!);
          if (said && (said.level === "warning" || session.hasUI())) session.tell(said.text, said.level);
        } catch {
          // discoverModels returns its failures; a failed registration is said by register().
        }
      }, 0);
    });
  }

  return {
    home: env.HOME,
    async outcome() {
      if (!last && (await discover(false))) await registerAgain();
      return last!;
    },
    async rescan() {
      const before = models.discovered().map((model) => model.id);
      if (await discover(true)) await registerAgain();
      return { before, outcome: last! };
    },
    defaultFolders: () => defaultModelDirCandidates(env),
  };
}
