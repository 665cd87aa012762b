// When discovery runs in pi (src/llamafiles/discovery-in-pi.ts): one scan at a time. The scan
// after start-up, /llamafiles (outcome) and /llamafiles scan (rescan) asked while one is still
// loading discovery join it or run after it; never two scans at once, never two registrations
// of one result. discovery-run.ts is replaced by a stand-in whose load the test holds back.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { type LlamafilesConfig, loadLlamafilesConfig } from "../../src/llamafiles/config.ts";
import { toLocalModel } from "../../src/llamafiles/discovered-models.ts";
import type { FoundModel } from "../../src/llamafiles/discovery/last-found.ts";
import { type DiscoveryInPiOptions, discoveryInPi } from "../../src/llamafiles/discovery-in-pi.ts";
import type { DiscoveryOutcome } from "../../src/llamafiles/discovery-run.ts";
import { localModels } from "../../src/llamafiles/local-models.ts";
import type { SessionUi } from "../../src/pi-session/session-ui.ts";
import type { StartupReport } from "../../src/pi-session/startup-report.ts";

const temp = mkdtempSync(join(tmpdir(), "discovery-in-pi-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let n = 0;

const found = (id: string): FoundModel => ({
  id,
  name: id,
  kind: "gguf",
  command: "/bin/llama-server",
  args: ["-m", `/m/${id}.gguf`],
  port: 14300,
  contextWindow: 8192,
  trainedContext: 8192,
  input: ["text"],
  memoryBytes: 1e9,
  estimate: { weightBytes: 9e8, kvCacheBytes: undefined, marginBytes: 1e8, totalBytes: 1e9 },
  files: [`/m/${id}.gguf`],
  projector: undefined,
  bytes: 9e8,
});

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * discoveryInPi with stand-ins: each scan finds `ids()`; `held` holds back the load of
 * discovery-run.ts until the test lets it go, `loading` resolves when the first load is asked for.
 */
async function start(ids: () => string[], fail: () => boolean = () => false) {
  const home = join(temp, `home-${n++}`);
  mkdirSync(join(home, "models"), { recursive: true });
  const base = loadLlamafilesConfig({ modelsPath: join(home, "none.json"), cwd: "/", logPathFor: (id) => id, home }).config!;
  const config = { ...base, discovery: { ...base.discovery!, modelDirs: [join(home, "models")] } } as LlamafilesConfig & {
    discovery: NonNullable<LlamafilesConfig["discovery"]>;
  };
  const held = deferred();
  const loading = deferred();
  const scans: boolean[] = [];
  const told: string[] = [];
  let registered = 0;
  let onSessionStart: (() => void) | undefined;
  const runDiscovery = (_config: unknown, run: { rescan?: boolean }): DiscoveryOutcome => {
    scans.push(run.rescan ?? false);
    if (fail()) throw new Error("a bug");
    return { models: ids().map((id) => toLocalModel(found(id), (x) => x, config)), scanned: ["/m"], skipped: [], problems: [] };
  };
  const options: DiscoveryInPiOptions = {
    pi: {
      on: ((event: string, handler: () => void) => {
        if (event === "session_start") onSessionStart = handler;
      }) as DiscoveryInPiOptions["pi"]["on"],
      setModel: async () => true,
    },
    session: {
      model: () => undefined,
      findModel: () => undefined,
      hasUI: () => true,
      tell: (text: string) => told.push(text),
    } as unknown as SessionUi,
    report: { add: () => undefined, loaded: () => undefined } as StartupReport,
    config,
    models: localModels([]),
    register: () => {
      registered++;
    },
    logPathFor: (id) => id,
    mode: "interactive",
    start: undefined,
    env: { HOME: home },
    load: async () => {
      loading.resolve();
      await held.promise;
      return { runDiscovery };
    },
  };
  const discovery = await discoveryInPi(options);
  return {
    discovery,
    models: options.models,
    sessionStart: () => onSessionStart!(),
    held,
    loading: loading.promise,
    scans,
    told,
    registered: () => registered,
  };
}

test("asked while the scan after start-up loads discovery: /llamafiles joins it, /llamafiles scan runs after it; one registration", async () => {
  const pi = await start(() => ["a"]);
  pi.sessionStart();
  pi.sessionStart();
  await pi.loading;
  const asked = [pi.discovery.outcome(), pi.discovery.outcome(), pi.discovery.rescan()] as const;
  pi.held.resolve();
  const [first, second, rescan] = await Promise.all(asked);
  expect(pi.scans).toEqual([false, true]);
  expect(second).toBe(first);
  expect(first.models.map((model) => model.id)).toEqual(["a"]);
  // The rescan's "before" is what the scan it waited for offered.
  expect(rescan.before).toEqual(["a"]);
  expect(pi.registered()).toBe(1);
  expect(pi.told).toEqual(["llamafiles: found 1 model in /m."]);
  // Done: asking again is the last outcome, no scan.
  expect(await pi.discovery.outcome()).toBe(rescan.outcome);
  expect(pi.scans).toEqual([false, true]);
});

test("a rescan asked before the scan after start-up began: that scan joins it, and says the start-up line from it", async () => {
  let ids = ["a"];
  const pi = await start(() => ids);
  const rescan = pi.discovery.rescan();
  pi.sessionStart();
  await pi.loading;
  ids = ["a", "b"];
  pi.held.resolve();
  expect((await rescan).before).toEqual([]);
  expect((await pi.discovery.outcome()).models.map((model) => model.id)).toEqual(["a", "b"]);
  expect(pi.scans).toEqual([true]);
  expect(pi.told).toEqual(["llamafiles: found 2 models in /m."]);
  expect(pi.models.discovered().map((model) => model.id)).toEqual(["a", "b"]);
});

test("a scan that failed is forgotten: the next ask runs one again", async () => {
  let failing = true;
  const pi = await start(
    () => ["a"],
    () => failing,
  );
  pi.held.resolve();
  await expect(pi.discovery.outcome()).rejects.toThrow("a bug");
  failing = false;
  expect((await pi.discovery.outcome()).models.map((model) => model.id)).toEqual(["a"]);
  expect(pi.scans).toEqual([false, false]);
});
