/**
 * Discovery in pi: which discovered models the factory registers, the scan right after
 * start-up, and `/llamafiles scan`. pi's start-up does not wait for a scan: the factory
 * registers what the last discovery found (discovered-models.ts, a file read), and the scan runs
 * as soon as the session has started, registering again when it found something else. It runs
 * in the factory only when pi needs the list before any session: `pi --list-models`, or a
 * llamafiles model pi starts with (`--model`, the default model in settings) that is not known
 * yet, so that pi finds it. One scan runs at a time: whoever asks while one runs joins it.
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
import type { DiscoveryOutcome, runDiscovery } from "./discovery-run.ts";
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
  /** Loads discovery-run.ts on first use (tests hold the load back, and count the scans). */
  load?: () => Promise<{ runDiscovery: typeof runDiscovery }>;
}

export async function discoveryInPi(options: DiscoveryInPiOptions): Promise<DiscoveryInPi> {
  const { config, models, session } = options;
  const env = options.env ?? discoveryEnv();
  const lastFound = defaultLastFoundPath(env.HOME);

  const known = lastFoundModels(config, env, { lastFound, logPathFor: options.logPathFor });
  if (known) models.replaceDiscovered(known);

  /** One discovery, its models offered; whether pi's registration must change. */
  const discover = async (rescan: boolean): Promise<{ outcome: DiscoveryOutcome; changed: boolean }> => {
    if (config.discovery.modelDirs === undefined && defaultModelDirs(env).length === 0) {
      // Nothing to look at (most users of the ai-server alone): discovery itself is not even loaded.
      if (known?.length) writeLastFound(lastFound, lastFoundText(discoveryKey(config, env), []), realFileSystem);
      return { outcome: { models: [], scanned: [], skipped: [], problems: [] }, changed: models.replaceDiscovered([]) };
    }
    const { runDiscovery } = await (options.load ?? (() => import("./discovery-run.ts")))();
    const outcome = runDiscovery(config, { env, logPathFor: options.logPathFor, rescan, lastFoundPath: lastFound });
    return { outcome, changed: models.replaceDiscovered(outcome.models) };
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

  /**
   * The latest scan, running or done: scans run one at a time. Whoever wants the outcome joins it
   * (`outcome()`, the scan after start-up); a rescan starts after it. A failed scan is forgotten,
   * so the next one asked for runs. In the factory pi registers what it found itself, after.
   */
  let latest: Promise<DiscoveryOutcome> | undefined;
  const scan = (rescan: boolean, registered = true, starting?: () => void): Promise<DiscoveryOutcome> => {
    const before = latest;
    const next = (async () => {
      await before?.catch(() => undefined);
      starting?.();
      const { outcome, changed } = await discover(rescan);
      if (changed && registered) await registerAgain();
      return outcome;
    })();
    latest = next;
    next.catch(() => {
      if (latest === next) latest = undefined;
    });
    return next;
  };
  const latestOrScan = () => latest ?? scan(false);

  /** The scan after start-up and its line, once: `outcome()` waits for it, so /llamafiles reports what it found. */
  let afterStart: Promise<void> | undefined;

  const startsWithUnknown = options.start?.provider === LLAMAFILES_PROVIDER && !models.get(options.start.id);
  if (options.mode === "list-models" || startsWithUnknown) {
    try {
      const said = await summary(await scan(false, false));
      if (said) options.report.add({ ...said, onlyWithUi: said.level === "info" });
    } catch {
      // discoverModels returns its failures as values; whatever else goes wrong must not stop pi's start.
    }
  } else {
    options.pi.on("session_start", () => {
      // After pi has drawn its start (a timer): a cold scan of many files takes a noticeable moment.
      afterStart ??= new Promise((resolve) => setTimeout(resolve, 0))
        .then(latestOrScan)
        .then(summary)
        .then((said) => {
          if (said && (said.level === "warning" || session.hasUI())) session.tell(said.text, said.level);
        })
        .catch(() => {
          // discoverModels returns its failures; a failed registration is said by register().
        });
    });
  }

  return {
    home: env.HOME,
    async outcome() {
      await afterStart;
      return latestOrScan();
    },
    async rescan() {
      // The models offered when it starts, after the scan it waits for.
      let before: string[] = [];
      const outcome = await scan(true, true, () => {
        before = models.discovered().map((model) => model.id);
      });
      return { before, outcome };
    },
    defaultFolders: () => defaultModelDirCandidates(env),
  };
}
