/**
 * The lifecycle of one local llama.cpp / llamafile server, a child of the local fleet
 * (machines/local-fleet.machine.ts), which spawns one per model:
 *
 *   idle → probing → adopting | starting → ready → stopping → exited
 *
 * A server pi starts (or joins: another pi on this HOME started it) lives inside `owned`: the
 * `serverProcess` actor invoked there holds this pi's lease on it, so leaving `owned` by any
 * path lets go of the server, and its keeper stops it when no pi uses it any more; `detaching`
 * first tells the actor to keep the lease (reload/new/resume/fork keep the model warm for the
 * next extension instance). While others use the server, a stop only lets go of it.
 *
 * No I/O and no prose here: every effect is an actor provided by `src/llamafiles/effects.ts`;
 * what happened leaves the machine as typed reports to its parent, the fleet (`SERVER_STATUS`
 * on entering each state, `SERVER_NOTICE` for what the user should hear of), which
 * src/llamafiles/messages.ts puts into words. docs/architecture.md draws this chart.
 */
import { and, assertEvent, assign, type EventObject, enqueueActions, fromCallback, fromPromise, sendTo, setup } from "xstate";
import type { ServerPhase } from "./lifecycle.ts";
import type { ServerProps } from "./server-props.ts";

/** What pi needs to launch and reach one configured local model. */
export interface LaunchSpec {
  id: string;
  name: string;
  port: number;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logPath: string;
  /** Set when pi keeps this server's prompt cache (save before a stop, restore after a start). */
  promptCache?: PromptCacheSpec;
  /** Stop the server after this long without a request from any pi session (its cache saved first); unset: never. */
  idleMs?: number;
}

/** Where and how a server pi starts keeps this session's prompt cache (src/llamafiles/prompt-cache/). */
export interface PromptCacheSpec {
  /** The model's cache folder, ~/.pi/llamafile_cache/<id>/. */
  dir: string;
  /** "append": pi adds --slot-save-path (llama-server); "placeholder": the args name {{promptCacheDir}}. */
  via: "append" | "placeholder";
  /** What the saved caches of every model may take on disk together (bytes); the least recently used go first. */
  budgetBytes: number;
}

/** This session's slot on a ready server, and whether the server can save it. */
export interface SlotCache {
  slot: number;
  canSave: boolean;
}

/** Why the prompt cache of a server could not be kept as it should (src/llamafiles/messages.ts words it). */
export type CacheProblem =
  /** The server cannot save slots: started without --slot-save-path (501), or no such endpoint (a llamafile: 404). */
  | { kind: "cannot-save"; status: number }
  /** Every slot is used by another pi session: this one keeps no cache on this server. */
  | { kind: "no-free-slot"; slots: number }
  /** The saved conversation could not be restored (the server refused it, or the file was bad): it is processed again. */
  | { kind: "restore-failed"; detail: string }
  /** The cache folder cannot be used (not a folder, not this user's, a symlink). */
  | { kind: "unsafe-folder"; path: string };

/** What getting a ready server's cache ready found: this session's slot, and the conversation restored into it. */
export type CacheReadiness = { cache: SlotCache | undefined; restored?: { tokens: number }; problem?: CacheProblem };

/** How a save before a stop went. */
export type SaveOutcome =
  | { kind: "saved"; tokens: number; bytes: number; ms: number }
  /** Nothing was sent since the last save or restore: the file on disk is the conversation. */
  | { kind: "unchanged" }
  /** The slot was empty (the server dropped it) or another client used it since: the older file, if any, is kept. */
  | { kind: "empty" }
  /** The server wrote nothing (200 with n_written 0: a full disk), or the file was not what it said. */
  | { kind: "failed"; reason: "disk-full" | "cannot-save" | "bad-answer" | "bad-file" | "over-budget"; detail: string };

/** What a look at the ownership records found on the way, for the user to hear of. */
export type RecordFinding =
  /** A record pi did not trust: it removed it and signalled nothing it names. */
  | { kind: "record-rejected"; path: string; reason: string }
  /** A server an earlier pi left running with nobody to stop it (its keeper gone): pi stopped it. */
  | { kind: "orphan-stopped"; name: string; pid: number; port: number; forced: boolean };

/**
 * What answers on a model's port before we do anything, and what the port's ownership record
 * showed on the way (`found`).
 */
export type PortProbe = PortState & { found?: RecordFinding[] };

type PortState =
  /** Nothing listens, and this pi claimed the port: start a server; `nonce` marks it. */
  | { kind: "free"; nonce: string }
  /**
   * A server pi started on this HOME, which this pi now holds a lease on: from before a
   * /reload of this pi ("reattached"), or started by another pi ("joined").
   */
  | {
      kind: "ours";
      pid: number;
      servesId: string;
      ready: boolean;
      users: number;
      via: "reattached" | "joined";
      /** What the server says it serves, when it is ready. */
      props?: ServerProps;
      /** This session's slot, when pi re-attached to a server whose prompt cache it keeps. */
      cache?: SlotCache;
    }
  /** Another pi uses a server of another model on this port. */
  | { kind: "taken"; servesId: string; users: number }
  /** Something pi did not start answers HTTP on the port. */
  | { kind: "occupied" }
  /** Something listens on the port, but it is not an HTTP server. */
  | { kind: "not-http"; detail: string }
  /** The port cannot be used for a reason found before anything ran (a folder that is not safe). */
  | { kind: "unusable"; error: SpawnError };

/** What a server says once it serves: the ids on GET /v1/models, and GET /props. */
export interface ServerIdentity {
  ids: string[];
  props?: ServerProps;
}

export interface ProcessExit {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (e.g. ENOENT): why, as a value. */
  spawnError?: SpawnError;
  /** The last lines of the server log, for the notification. */
  logTail: string;
}

/** Why a process could not be started. */
export type SpawnError =
  | { code: "command-not-found" | "not-executable" | "not-runnable"; command: string }
  | { code: "cwd-missing" | "cwd-not-a-folder"; cwd: string }
  | { code: "log-is-a-link"; path: string }
  | { code: "unsafe-folder"; path: string; reason: "not-a-folder" | "not-yours" | "cannot-create" }
  | { code: "keeper-failed"; detail: string }
  | { code: "other"; detail: string };

/** Why the last attempt for a model failed; a prompt waiting for that model fails with it. */
export type LocalFailure =
  | { kind: "probe-failed"; detail: string }
  | { kind: "foreign-server"; advertised: string[] }
  | { kind: "not-a-llama-server"; detail: string }
  | { kind: "foreign-server-still-loading"; timeoutMs: number }
  | { kind: "adopted-server-lost" }
  | { kind: "startup-timeout"; timeoutMs: number }
  | { kind: "exited-before-ready"; exit: ProcessExit }
  | { kind: "exited-after-ready"; exit: ProcessExit }
  | { kind: "port-taken"; servesId: string; users?: number }
  | { kind: "port-not-http"; detail: string }
  | { kind: "cannot-start"; error: SpawnError };

/** Something the user should hear of. */
export type LocalNotice =
  | { kind: "reattached"; model: LaunchSpec; pid: number }
  | { kind: "joined"; model: LaunchSpec; pid: number; users: number }
  /** This pi let go of a server other pi sessions still use (it keeps running for them). */
  | { kind: "left-running"; model: LaunchSpec; users: number; quitting: boolean }
  | { kind: "adopted"; model: LaunchSpec }
  | { kind: "ready"; model: LaunchSpec }
  | { kind: "advertises-another-id"; model: LaunchSpec; advertised: string[] }
  | { kind: "failed"; model: LaunchSpec; failure: LocalFailure }
  /** While pi quits (the TUI is gone by then): stderr lines. */
  | { kind: "stopping-on-quit"; model: LaunchSpec; pid: number | undefined }
  /** `forced`: the server's keeper needed SIGKILL after the grace (src/llamafiles/process/stop-group.mjs). */
  | { kind: "stopped-on-quit"; model: LaunchSpec; forced: boolean }
  /** An ownership record pi did not trust (found by a probe, or the fleet's sweep at a session's start). */
  | Extract<RecordFinding, { kind: "record-rejected" }>
  /** Servers an earlier pi left running with nobody to stop them, which pi stopped: said once for all. */
  | { kind: "left-behind-stopped"; servers: Array<Extract<RecordFinding, { kind: "orphan-stopped" }>> }
  /** What kept the prompt cache from working on this server: said once per start. */
  | { kind: "cache-problem"; model: LaunchSpec; problem: CacheProblem }
  /** The save before a stop did not keep the conversation (the server was stopped as it would have been). */
  | { kind: "cache-not-saved"; model: LaunchSpec; outcome: Extract<SaveOutcome, { kind: "failed" }>; quitting: boolean }
  /** The save took longer than SAVE_TIME_LIMIT: pi stopped the server without it, so the switch stays quick. */
  | { kind: "cache-save-too-slow"; model: LaunchSpec; limitMs: number; quitting: boolean }
  /** The restore took longer than RESTORE_TIME_LIMIT: the model answers without it. */
  | { kind: "cache-restore-too-slow"; model: LaunchSpec; limitMs: number };

/** What the user hears of what the records showed: each record not trusted, and one notice for every server stopped. */
export function findingNotices(found: RecordFinding[]): LocalNotice[] {
  const rejected = found.filter((finding) => finding.kind === "record-rejected");
  const stopped = found.filter((finding) => finding.kind === "orphan-stopped");
  return stopped.length > 0 ? [...rejected, { kind: "left-behind-stopped", servers: stopped }] : rejected;
}

/**
 * The phases of the one vocabulary (lifecycle.ts) a local server goes through. Its probe (a look
 * at the port, milliseconds) is reported as "starting", the phase the user waits in; a local
 * server is never "unreachable": one that does not answer is starting or has ended.
 */
export type LocalPhase = Exclude<ServerPhase, "probing" | "unreachable">;

/** What the footer, /llamafiles, the working indicator and waiting prompts read. */
export interface LocalServerStatus {
  phase: LocalPhase;
  /** The model being served, brought up or stopped; undefined when idle or ended. */
  model: LaunchSpec | undefined;
  /** The model that starts once the stop in progress is done. */
  next: LaunchSpec | undefined;
  /** pid of a server pi owns; undefined for an adopted one or before the spawn. */
  pid: number | undefined;
  /** A server pi did not start (it never stops it). */
  adopted: boolean;
  /** pi sessions using the server, this one included (0 when none is owned). */
  users: number;
  /** The last failure, kept until the next selection. */
  failure: { model: LaunchSpec; failure: LocalFailure } | undefined;
  /** What the ready server says it serves ({} when it says nothing); undefined until ready. */
  props: ServerProps | undefined;
  /** This session's slot on the ready server, and whether it can be saved; undefined while not ready or without a prompt cache. */
  cache: SlotCache | undefined;
  /** Conversations restored into this model's servers so far (the footer marks the first answer after one). */
  restores: number;
  /** The server was stopped because no pi session used it for `idleMs`; kept until the next selection. */
  rested: { model: LaunchSpec; idleMs: number } | undefined;
}

export const IDLE_STATUS: LocalServerStatus = {
  phase: "idle",
  model: undefined,
  next: undefined,
  pid: undefined,
  adopted: false,
  users: 0,
  failure: undefined,
  props: undefined,
  cache: undefined,
  restores: 0,
  rested: undefined,
};

/**
 * What a server tells its parent, the fleet that spawned it (machines/local-fleet.machine.ts),
 * and nobody else: its status on entering each state, and what the user should hear of.
 */
export type LocalServerReport =
  | { type: "SERVER_STATUS"; serverId: string; status: LocalServerStatus }
  | { type: "SERVER_NOTICE"; serverId: string; notice: LocalNotice };

/** Given by the fleet that spawns a server: the server's id among its children, named in every report. */
export interface LocalServerInput {
  serverId: string;
}

export type LocalServerEvent =
  | { type: "SELECT"; model: LaunchSpec }
  | { type: "DESELECT" }
  | { type: "QUIT" }
  | { type: "DETACH" }
  | { type: "PROCESS_STARTED"; pid: number }
  | { type: "USERS_CHANGED"; users: number }
  /** The keeper refused to stop the server: other pi sessions use it; this pi let go of it. */
  | { type: "SERVER_SHARED"; users: number }
  /** `forced`: the stop needed SIGKILL after the grace (the keeper's stop story says so). */
  | ({ type: "PROCESS_EXITED"; forced: boolean } & ProcessExit)
  | { type: "SERVER_LOST" }
  /** Some pi session used the server (its request counters moved): the idle time starts again. */
  | { type: "SERVER_USED" };

/**
 * Commands the `serverProcess` actor accepts: stop the server (its keeper runs the whole stop
 * story, escalation included), or let it run on for the next extension instance.
 */
export type ProcessCommand = { type: "STOP" } | { type: "RELEASE" };

export interface LocalServerContext {
  phase: LocalPhase;
  /** The model being served or brought up. */
  target: LaunchSpec | undefined;
  /** The model to start once the process we own has stopped. */
  next: LaunchSpec | undefined;
  /** pid of the process we own (spawned now or re-attached). */
  pid: number | undefined;
  /** Set when pi claimed the port: the marker of the server it starts. */
  nonce: string | undefined;
  users: number;
  adopted: boolean;
  quitting: boolean;
  failure: { model: LaunchSpec; failure: LocalFailure } | undefined;
  /** "Stopping llamafile …" was printed for this quit. */
  stopAnnounced: boolean;
  /** What the ready server says it serves. */
  props: ServerProps | undefined;
  /** This session's slot on the ready server. */
  cache: SlotCache | undefined;
  restores: number;
  rested: { model: LaunchSpec; idleMs: number } | undefined;
  /** Once the cache is ready, say that the server is (a server pi started; not one it joined). */
  tellReady: boolean;
  serverId: string;
}

/**
 * Why the target cannot use the port, for the probe results that end the attempt (each
 * transition's guard matched one of them; any other kind is carried as a value, never worded here).
 */
function probeFailure(probe: PortProbe): LocalFailure {
  switch (probe.kind) {
    case "taken":
      return { kind: "port-taken", servesId: probe.servesId };
    case "not-http":
      return { kind: "port-not-http", detail: probe.detail };
    case "unusable":
      return { kind: "cannot-start", error: probe.error };
    default:
      return { kind: "probe-failed", detail: probe.kind };
  }
}

export const STARTUP_TIMEOUT_MS = 120_000;
/** The most a save may add to a stop (a switch, making room, an idle stop, quitting): past it, the server stops without it. */
export const SAVE_TIME_LIMIT_MS = 5_000;
/** The most a restore may add to a start: past it, the model answers without it. */
export const RESTORE_TIME_LIMIT_MS = 60_000;

const notProvided = (name: string) => () => {
  throw new Error(`local-server machine: actor "${name}" was not provided`);
};

const statusOf = (context: LocalServerContext): LocalServerStatus => ({
  phase: context.phase,
  model: context.phase === "idle" || context.phase === "ended" ? undefined : context.target,
  next: context.next,
  pid: context.adopted ? undefined : context.pid,
  adopted: context.adopted,
  users: context.adopted || context.pid === undefined ? 0 : context.users,
  failure: context.failure,
  props: context.phase === "ready" ? context.props : undefined,
  cache: context.phase === "ready" ? context.cache : undefined,
  restores: context.restores,
  rested: context.rested,
});

/*
 * A server reports to its parent, the fleet that spawned it, and to nobody else: every action
 * that reports sends to `self._parent` when there is one. A chart walked alone (xstate/graph in
 * the model-based tests) has none, and reports nothing.
 */

/** The status, on entering each state. */
const statusFor = (context: LocalServerContext): LocalServerReport => ({
  type: "SERVER_STATUS",
  serverId: context.serverId,
  status: statusOf(context),
});

/** A notice for the fleet, which passes it on to the user. */
const noticeFor = (context: LocalServerContext, notice: LocalNotice): LocalServerReport => ({
  type: "SERVER_NOTICE",
  serverId: context.serverId,
  notice,
});

/** What the context knows of a server, when none runs (yet) for the target. */
const NOTHING_RUNS = {
  pid: undefined,
  nonce: undefined,
  users: 0,
  props: undefined,
  cache: undefined,
} satisfies Partial<LocalServerContext>;

export const localServerMachine = setup({
  types: {
    context: {} as LocalServerContext,
    input: {} as LocalServerInput,
    events: {} as LocalServerEvent,
  },
  actors: {
    probePort: fromPromise<PortProbe, { model: LaunchSpec }>(notProvided("probePort")),
    identifyServer: fromPromise<ServerIdentity, { model: LaunchSpec }>(notProvided("identifyServer")),
    /** Starts the server (`nonce` set: pi claimed the port) or holds the lease pi already has on it. */
    serverProcess: fromCallback<ProcessCommand, { model: LaunchSpec; nonce: string | undefined }>(notProvided("serverProcess")),
    waitForReady: fromPromise<ServerIdentity, { model: LaunchSpec }>(notProvided("waitForReady")),
    watchAdoptedServer: fromCallback<ProcessCommand, { model: LaunchSpec }>(notProvided("watchAdoptedServer")),
    waitPortFree: fromPromise<void, { port: number }>(notProvided("waitPortFree")),
    /** Claims this session's slot on a ready server, learns whether it can save, and restores this session's saved conversation. */
    prepareCache: fromPromise<CacheReadiness, { model: LaunchSpec }>(notProvided("prepareCache")),
    /** Saves this session's slot to a new file, then replaces the old one. */
    saveSlot: fromPromise<SaveOutcome, { model: LaunchSpec; cache: SlotCache }>(notProvided("saveSlot")),
    /** Watches the server's request counters (every pi session's requests) and says when they move. */
    watchUse: fromCallback<EventObject, { model: LaunchSpec }>(notProvided("watchUse")),
  },
  delays: {
    STARTUP_TIMEOUT: STARTUP_TIMEOUT_MS,
    SAVE_TIME_LIMIT: SAVE_TIME_LIMIT_MS,
    RESTORE_TIME_LIMIT: RESTORE_TIME_LIMIT_MS,
    /** The model's idleMinutes: no pi session used the server for this long. */
    IDLE_LIMIT: ({ context }) => context.target?.idleMs ?? STARTUP_TIMEOUT_MS,
  },
  guards: {
    "selects another model": ({ context, event }) => event.type === "SELECT" && event.model.id !== context.target?.id,
    "probe found our ready server": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" && probe.ready && probe.servesId === context.target?.id,
    "probe found our loading server": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" && !probe.ready && probe.servesId === context.target?.id,
    "probe found our server of another model": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" && probe.servesId !== context.target?.id,
    "probe found the port free": (_, probe: PortProbe) => probe.kind === "free",
    "probe found the port taken by another pi": (_, probe: PortProbe) => probe.kind === "taken",
    "probe found no HTTP server on the port": (_, probe: PortProbe) => probe.kind === "not-http",
    "probe found the port unusable": (_, probe: PortProbe) => probe.kind === "unusable",
    "server advertises the selected id": ({ context }, identity: ServerIdentity) => identity.ids.includes(context.target?.id ?? ""),
    "a next model is queued": ({ context }) => context.next !== undefined,
    "the next model needs the port let go of": ({ context }) => context.next !== undefined && context.next.port === context.target?.port,
    "pi is quitting": ({ context }) => context.quitting,
    "other pi sessions use the server": ({ context }) => context.users > 1,
    "the model keeps a prompt cache": ({ context }) => context.target?.promptCache !== undefined,
    "server advertises the selected id, and the model keeps a prompt cache": ({ context }, identity: ServerIdentity) =>
      identity.ids.includes(context.target?.id ?? "") && context.target?.promptCache !== undefined,
    "probe found our ready server, which pi joined, and the model keeps a prompt cache": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" &&
      probe.ready &&
      probe.via === "joined" &&
      probe.servesId === context.target?.id &&
      context.target?.promptCache !== undefined,
    "the conversation can be saved": ({ context }) => context.cache?.canSave === true,
    "other pi sessions use the server, and the conversation can be saved": ({ context }) =>
      context.users > 1 && context.cache?.canSave === true,
    "the server stops when idle": ({ context }) => (context.target?.idleMs ?? 0) > 0,
  },
  actions: {
    "enter phase": assign((_, params: { phase: LocalPhase; adopted?: boolean }) => ({
      phase: params.phase,
      adopted: params.adopted ?? false,
    })),
    "publish status": enqueueActions(({ context, enqueue, self }) => {
      if (self._parent) enqueue.sendParent(statusFor(context));
    }),
    "target the selected model": assign(({ event }) => {
      assertEvent(event, "SELECT");
      return { target: event.model, failure: undefined, rested: undefined };
    }),
    "queue the selected model": assign(({ event }) => {
      assertEvent(event, "SELECT");
      return { next: event.model };
    }),
    "drop the queued model": assign({ next: undefined }),
    "queue the target to start after the stop": assign(({ context }) => ({ next: context.target })),
    "promote the queued model": assign(({ context }) => ({ ...NOTHING_RUNS, target: context.next, next: undefined, rested: undefined })),
    "forget the target": assign({ ...NOTHING_RUNS, target: undefined }),
    "remember to quit": assign({ quitting: true }),
    "remember the server we hold": assign((_, probe: PortProbe) =>
      probe.kind === "ours" ? { pid: probe.pid, users: probe.users, nonce: undefined, cache: probe.cache } : {},
    ),
    "remember the cache": assign(({ context }, readiness: CacheReadiness) => ({
      cache: readiness.cache,
      restores: context.restores + (readiness.restored ? 1 : 0),
    })),
    "tell what the cache showed": enqueueActions(({ context, enqueue, self }, readiness: CacheReadiness) => {
      if (readiness.problem && self._parent)
        enqueue.sendParent(noticeFor(context, { kind: "cache-problem", model: context.target!, problem: readiness.problem }));
    }),
    "tell how the save went": enqueueActions(({ context, enqueue, self }, outcome: SaveOutcome) => {
      if (outcome.kind === "failed" && self._parent)
        enqueue.sendParent(noticeFor(context, { kind: "cache-not-saved", model: context.target!, outcome, quitting: context.quitting }));
    }),
    "tell that the target is ready once restored": enqueueActions(({ context, enqueue, self }) => {
      if (context.tellReady && self._parent) enqueue.sendParent(noticeFor(context, { kind: "ready", model: context.target! }));
      enqueue.assign({ tellReady: false });
    }),
    "say so once the cache is ready": assign({ tellReady: true }),
    "remember that it rests": assign(({ context }) => ({ rested: { model: context.target!, idleMs: context.target?.idleMs ?? 0 } })),
    "remember the claim": assign((_, probe: PortProbe) => (probe.kind === "free" ? { nonce: probe.nonce, users: 1 } : {})),
    "remember the pid": assign(({ event }) => {
      assertEvent(event, "PROCESS_STARTED");
      return { pid: event.pid };
    }),
    "remember the users": assign(({ event }) => {
      assertEvent(event, ["USERS_CHANGED", "SERVER_SHARED"]);
      return { users: event.users };
    }),
    "remember what the server serves": assign((_, said: { props?: ServerProps }) => ({ props: said.props ?? {} })),
    "ask the keeper to stop the server": sendTo("serverProcess", { type: "STOP" } satisfies ProcessCommand),
    "let the process run on": sendTo("serverProcess", { type: "RELEASE" } satisfies ProcessCommand),
    /** Records why the target failed and tells the user. */
    fail: enqueueActions(({ context, enqueue, self }, failure: LocalFailure) => {
      const failed = { model: context.target!, failure };
      enqueue.assign({ failure: failed });
      if (self._parent) enqueue.sendParent(noticeFor(context, { kind: "failed", ...failed }));
    }),
    "fail the queued model: its port stays taken": enqueueActions(({ context, enqueue, self }) => {
      const failed = { model: context.next!, failure: { kind: "port-taken" as const, servesId: context.target!.id, users: context.users } };
      enqueue.assign({ failure: failed, next: undefined });
      if (self._parent) enqueue.sendParent(noticeFor(context, { kind: "failed", ...failed }));
    }),
    tell: enqueueActions(({ context, enqueue, self }, notice: LocalNotice) => {
      if (self._parent) enqueue.sendParent(noticeFor(context, notice));
    }),
    "tell what the records showed": enqueueActions(({ context, enqueue, self }, probe: PortProbe) => {
      if (self._parent) for (const notice of findingNotices(probe.found ?? [])) enqueue.sendParent(noticeFor(context, notice));
    }),
    /** Re-attached to this pi's own server from before a reload, or joined one another pi started. */
    "tell how pi holds the server": enqueueActions(({ context, enqueue, self }, probe: PortProbe) => {
      if (probe.kind !== "ours" || !self._parent) return;
      const model = context.target!;
      const notice: LocalNotice =
        probe.via === "reattached"
          ? { kind: "reattached", model, pid: probe.pid }
          : { kind: "joined", model, pid: probe.pid, users: probe.users };
      enqueue.sendParent(noticeFor(context, notice));
    }),
    "tell that the target is ready": enqueueActions(({ context, enqueue, self }) => {
      if (self._parent) enqueue.sendParent(noticeFor(context, { kind: "ready", model: context.target! }));
    }),
    "tell that the server stops": enqueueActions(({ context, enqueue, self }) => {
      enqueue.assign({ stopAnnounced: true });
      if (self._parent) enqueue.sendParent(noticeFor(context, { kind: "stopping-on-quit", model: context.target!, pid: context.pid }));
    }),
    /** The last stderr line on quit; the first one too when the stop was not announced (the other users left meanwhile). */
    "tell that the server stopped": enqueueActions(({ context, enqueue, self }, exit: { forced: boolean }) => {
      if (!self._parent) return;
      if (!context.stopAnnounced)
        enqueue.sendParent(noticeFor(context, { kind: "stopping-on-quit", model: context.target!, pid: context.pid }));
      enqueue.sendParent(noticeFor(context, { kind: "stopped-on-quit", model: context.target!, forced: exit.forced }));
    }),
    "tell that the server runs on for others": enqueueActions(({ context, enqueue, self }) => {
      const notice: LocalNotice = { kind: "left-running", model: context.target!, users: context.users, quitting: context.quitting };
      if (self._parent) enqueue.sendParent(noticeFor(context, notice));
    }),
  },
}).createMachine({
  id: "localServer",
  initial: "idle",
  context: ({ input }) => ({
    phase: "idle",
    target: undefined,
    next: undefined,
    pid: undefined,
    nonce: undefined,
    users: 0,
    adopted: false,
    quitting: false,
    failure: undefined,
    stopAnnounced: false,
    props: undefined,
    cache: undefined,
    restores: 0,
    rested: undefined,
    tellReady: false,
    serverId: input.serverId,
  }),
  on: {
    DETACH: ".detached",
  },
  states: {
    idle: {
      entry: ["forget the target", { type: "enter phase", params: { phase: "idle" } }, "publish status"],
      on: {
        SELECT: { target: "probing", actions: "target the selected model" },
        QUIT: "stopped",
      },
    },

    probing: {
      entry: [{ type: "enter phase", params: { phase: "starting" } }, "publish status"],
      invoke: {
        id: "probePort",
        src: "probePort",
        input: ({ context }) => ({ model: context.target! }),
        onDone: [
          {
            // Another pi started it: this session's saved conversation goes into its slot before the first prompt.
            guard: {
              type: "probe found our ready server, which pi joined, and the model keeps a prompt cache",
              params: ({ event }) => event.output,
            },
            target: "owned.restoring",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "remember the server we hold", params: ({ event }) => event.output },
              { type: "remember what the server serves", params: ({ event }) => (event.output.kind === "ours" ? event.output : {}) },
              { type: "tell how pi holds the server", params: ({ event }) => event.output },
            ],
          },
          {
            guard: { type: "probe found our ready server", params: ({ event }) => event.output },
            target: "owned.ready",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "remember the server we hold", params: ({ event }) => event.output },
              { type: "remember what the server serves", params: ({ event }) => (event.output.kind === "ours" ? event.output : {}) },
              { type: "tell how pi holds the server", params: ({ event }) => event.output },
            ],
          },
          {
            guard: { type: "probe found our loading server", params: ({ event }) => event.output },
            target: "owned.starting",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "remember the server we hold", params: ({ event }) => event.output },
            ],
          },
          {
            // This pi holds a server of another model on this port: stop it, then start ours.
            guard: { type: "probe found our server of another model", params: ({ event }) => event.output },
            target: "owned.stopping",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "remember the server we hold", params: ({ event }) => event.output },
              "queue the target to start after the stop",
            ],
          },
          {
            guard: { type: "probe found the port free", params: ({ event }) => event.output },
            target: "owned.starting",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "remember the claim", params: ({ event }) => event.output },
            ],
          },
          {
            guard: { type: "probe found the port taken by another pi", params: ({ event }) => event.output },
            target: "idle",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "fail", params: ({ event }) => probeFailure(event.output) },
            ],
          },
          {
            guard: { type: "probe found no HTTP server on the port", params: ({ event }) => event.output },
            target: "idle",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "fail", params: ({ event }) => probeFailure(event.output) },
            ],
          },
          {
            guard: { type: "probe found the port unusable", params: ({ event }) => event.output },
            target: "idle",
            actions: [
              { type: "tell what the records showed", params: ({ event }) => event.output },
              { type: "fail", params: ({ event }) => probeFailure(event.output) },
            ],
          },
          { target: "adopting", actions: { type: "tell what the records showed", params: ({ event }) => event.output } },
        ],
        onError: {
          target: "idle",
          actions: { type: "fail", params: ({ event }) => ({ kind: "probe-failed", detail: String(event.error) }) },
        },
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", reenter: true, actions: "target the selected model" },
        DESELECT: "idle",
        QUIT: "stopped",
      },
    },

    adopting: {
      invoke: {
        id: "identifyServer",
        src: "identifyServer",
        input: ({ context }) => ({ model: context.target! }),
        onDone: [
          {
            guard: { type: "server advertises the selected id", params: ({ event }) => event.output },
            target: "adopted",
            actions: [
              { type: "remember what the server serves", params: ({ event }) => event.output },
              { type: "tell", params: ({ context }) => ({ kind: "adopted", model: context.target! }) },
            ],
          },
          {
            // Not ours and not the model: pi never stops it; the failure says how to free the port.
            target: "idle",
            actions: { type: "fail", params: ({ event }) => ({ kind: "foreign-server", advertised: event.output.ids }) },
          },
        ],
        onError: {
          target: "idle",
          actions: { type: "fail", params: ({ event }) => ({ kind: "not-a-llama-server", detail: String(event.error) }) },
        },
      },
      after: {
        STARTUP_TIMEOUT: {
          target: "idle",
          actions: { type: "fail", params: { kind: "foreign-server-still-loading", timeoutMs: STARTUP_TIMEOUT_MS } },
        },
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", actions: "target the selected model" },
        DESELECT: "idle",
        QUIT: "stopped",
      },
    },

    adopted: {
      entry: [{ type: "enter phase", params: { phase: "ready", adopted: true } }, "publish status"],
      invoke: {
        id: "watchAdoptedServer",
        src: "watchAdoptedServer",
        input: ({ context }) => ({ model: context.target! }),
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", actions: "target the selected model" },
        DESELECT: "idle",
        QUIT: "stopped",
        SERVER_LOST: {
          target: "idle",
          actions: { type: "fail", params: { kind: "adopted-server-lost" } },
        },
      },
    },

    owned: {
      invoke: {
        id: "serverProcess",
        src: "serverProcess",
        input: ({ context }) => ({ model: context.target!, nonce: context.nonce }),
      },
      on: {
        PROCESS_STARTED: { actions: ["remember the pid", "publish status"] },
        USERS_CHANGED: { actions: ["remember the users", "publish status"] },
        // A stop on purpose saves this session's conversation first (not a crash, not a start that timed out).
        SELECT: [
          {
            guard: and(["selects another model", "the conversation can be saved"]),
            target: ".saving",
            actions: "queue the selected model",
          },
          { guard: "selects another model", target: ".stopping", actions: "queue the selected model" },
        ],
        DESELECT: [{ guard: "the conversation can be saved", target: ".saving" }, { target: ".stopping" }],
        QUIT: [
          // Other pi sessions use it: this pi only lets go (the keeper refuses to stop it).
          { guard: "other pi sessions use the server, and the conversation can be saved", target: ".saving", actions: "remember to quit" },
          { guard: "other pi sessions use the server", target: ".stopping", actions: "remember to quit" },
          { guard: "the conversation can be saved", target: ".saving", actions: ["remember to quit", "tell that the server stops"] },
          { target: ".stopping", actions: ["remember to quit", "tell that the server stops"] },
        ],
        DETACH: ".detaching",
      },
      initial: "starting",
      states: {
        starting: {
          entry: [{ type: "enter phase", params: { phase: "starting" } }, "publish status"],
          invoke: {
            id: "waitForReady",
            src: "waitForReady",
            input: ({ context }) => ({ model: context.target! }),
            onDone: [
              {
                // This session's saved conversation goes back into its slot before the first prompt.
                guard: {
                  type: "server advertises the selected id, and the model keeps a prompt cache",
                  params: ({ event }) => event.output,
                },
                target: "restoring",
                actions: [
                  { type: "remember what the server serves", params: ({ event }) => event.output },
                  "say so once the cache is ready",
                ],
              },
              {
                guard: { type: "server advertises the selected id", params: ({ event }) => event.output },
                target: "ready",
                actions: [
                  { type: "remember what the server serves", params: ({ event }) => event.output },
                  "tell that the target is ready",
                ],
              },
              {
                guard: "the model keeps a prompt cache",
                target: "restoring",
                actions: [
                  { type: "remember what the server serves", params: ({ event }) => event.output },
                  "say so once the cache is ready",
                  {
                    type: "tell",
                    params: ({ context, event }) => ({
                      kind: "advertises-another-id",
                      model: context.target!,
                      advertised: event.output.ids,
                    }),
                  },
                ],
              },
              {
                target: "ready",
                actions: [
                  { type: "remember what the server serves", params: ({ event }) => event.output },
                  "tell that the target is ready",
                  {
                    type: "tell",
                    params: ({ context, event }) => ({
                      kind: "advertises-another-id",
                      model: context.target!,
                      advertised: event.output.ids,
                    }),
                  },
                ],
              },
            ],
          },
          after: {
            STARTUP_TIMEOUT: {
              target: "stopping",
              actions: { type: "fail", params: { kind: "startup-timeout", timeoutMs: STARTUP_TIMEOUT_MS } },
            },
          },
          on: {
            PROCESS_EXITED: {
              target: "#localServer.exited",
              actions: {
                type: "fail",
                params: ({ event }) =>
                  event.spawnError
                    ? { kind: "cannot-start", error: event.spawnError }
                    : { kind: "exited-before-ready", exit: exitOf(event) },
              },
            },
          },
        },
        /** Ready to answer, but not yet said so: this session's slot first gets its saved conversation back. */
        restoring: {
          invoke: {
            id: "prepareCache",
            src: "prepareCache",
            input: ({ context }) => ({ model: context.target! }),
            onDone: {
              target: "ready",
              actions: [
                { type: "remember the cache", params: ({ event }) => event.output },
                { type: "tell what the cache showed", params: ({ event }) => event.output },
                "tell that the target is ready once restored",
              ],
            },
            onError: {
              target: "ready",
              actions: [
                {
                  type: "tell",
                  params: ({ context, event }) => ({
                    kind: "cache-problem",
                    model: context.target!,
                    problem: { kind: "restore-failed", detail: String(event.error) },
                  }),
                },
                "tell that the target is ready once restored",
              ],
            },
          },
          after: {
            // A restore that takes this long costs more than it saves: answer without it.
            RESTORE_TIME_LIMIT: {
              target: "ready",
              actions: [
                {
                  type: "tell",
                  params: ({ context }) => ({ kind: "cache-restore-too-slow", model: context.target!, limitMs: RESTORE_TIME_LIMIT_MS }),
                },
                "tell that the target is ready once restored",
              ],
            },
          },
          on: {
            PROCESS_EXITED: {
              target: "#localServer.exited",
              actions: { type: "fail", params: ({ event }) => ({ kind: "exited-after-ready", exit: exitOf(event) }) },
            },
          },
        },
        ready: {
          entry: [{ type: "enter phase", params: { phase: "ready" } }, "publish status"],
          on: {
            PROCESS_EXITED: {
              target: "#localServer.exited",
              actions: { type: "fail", params: ({ event }) => ({ kind: "exited-after-ready", exit: exitOf(event) }) },
            },
          },
          initial: "serving",
          states: {
            serving: {
              always: { guard: "the server stops when idle", target: "watching" },
            },
            /** idleMinutes set: stopped once no pi session used it for that long. */
            watching: {
              invoke: { id: "watchUse", src: "watchUse", input: ({ context }) => ({ model: context.target! }) },
              initial: "quiet",
              on: {
                SERVER_USED: { target: ".quiet", reenter: true },
              },
              states: {
                quiet: {
                  after: {
                    IDLE_LIMIT: [
                      { guard: "the conversation can be saved", target: "#localServer.owned.saving", actions: "remember that it rests" },
                      { target: "#localServer.owned.stopping", actions: "remember that it rests" },
                    ],
                  },
                },
              },
            },
          },
        },
        /** A stop on purpose: this session's conversation is saved first, within SAVE_TIME_LIMIT. */
        saving: {
          entry: [{ type: "enter phase", params: { phase: "stopping" } }, "publish status"],
          invoke: {
            id: "saveSlot",
            src: "saveSlot",
            input: ({ context }) => ({ model: context.target!, cache: context.cache! }),
            onDone: { target: "stopping", actions: { type: "tell how the save went", params: ({ event }) => event.output } },
            onError: {
              target: "stopping",
              actions: {
                type: "tell how the save went",
                params: ({ event }) => ({ kind: "failed", reason: "bad-answer", detail: String(event.error) }) satisfies SaveOutcome,
              },
            },
          },
          after: {
            // Past the bound the save is abandoned (its new file removed, the older one kept): a switch stays quick.
            SAVE_TIME_LIMIT: {
              target: "stopping",
              actions: {
                type: "tell",
                params: ({ context }) => ({
                  kind: "cache-save-too-slow",
                  model: context.target!,
                  limitMs: SAVE_TIME_LIMIT_MS,
                  quitting: context.quitting,
                }),
              },
            },
          },
          on: {
            SELECT: { actions: ["queue the selected model", "publish status"] },
            DESELECT: { actions: ["drop the queued model", "publish status"] },
            QUIT: { actions: ["remember to quit", "tell that the server stops"] },
            DETACH: "#localServer.detached",
            PROCESS_EXITED: [
              {
                guard: "pi is quitting",
                target: "#localServer.stopped",
                actions: { type: "tell that the server stopped", params: ({ event }) => ({ forced: event.forced }) },
              },
              { target: "#localServer.releasingPort" },
            ],
          },
        },
        stopping: {
          // The keeper runs the whole stop story (SIGTERM, the grace, SIGKILL) and reports the exit.
          entry: [{ type: "enter phase", params: { phase: "stopping" } }, "publish status", "ask the keeper to stop the server"],
          on: {
            // While stopping, a selection only changes what comes next.
            SELECT: { actions: ["queue the selected model", "publish status"] },
            DESELECT: { actions: ["drop the queued model", "publish status"] },
            QUIT: { actions: ["remember to quit", "tell that the server stops"] },
            // Being torn down mid-stop: the keeper finishes the stop.
            DETACH: "#localServer.detached",
            PROCESS_EXITED: [
              {
                guard: "pi is quitting",
                target: "#localServer.stopped",
                actions: { type: "tell that the server stopped", params: ({ event }) => ({ forced: event.forced }) },
              },
              { target: "#localServer.releasingPort" },
            ],
            // Other pi sessions use the server: it runs on for them; this pi has let go of it.
            SERVER_SHARED: [
              {
                guard: "pi is quitting",
                target: "#localServer.stopped",
                actions: ["remember the users", "tell that the server runs on for others"],
              },
              {
                guard: "the next model needs the port let go of",
                target: "#localServer.idle",
                actions: ["remember the users", "tell that the server runs on for others", "fail the queued model: its port stays taken"],
              },
              {
                guard: "a next model is queued",
                target: "#localServer.probing",
                actions: ["remember the users", "tell that the server runs on for others", "promote the queued model"],
              },
              { target: "#localServer.idle", actions: ["remember the users", "tell that the server runs on for others"] },
            ],
          },
        },
        detaching: {
          entry: "let the process run on",
          always: "#localServer.detached",
        },
      },
    },

    /** The process we owned ended on its own (crash, bad command, exit before ready). */
    exited: {
      always: "idle",
    },

    /** Our process is gone; wait until its port is free before anything starts on it. */
    releasingPort: {
      invoke: {
        id: "waitPortFree",
        src: "waitPortFree",
        input: ({ context }) => ({ port: context.target!.port }),
        onDone: [{ guard: "a next model is queued", target: "probing", actions: "promote the queued model" }, { target: "idle" }],
        onError: [{ guard: "a next model is queued", target: "probing", actions: "promote the queued model" }, { target: "idle" }],
      },
      on: {
        SELECT: { actions: ["queue the selected model", "publish status"] },
        DESELECT: { actions: ["drop the queued model", "publish status"] },
        QUIT: "stopped",
      },
    },

    stopped: { entry: [{ type: "enter phase", params: { phase: "ended" } }, "publish status"], type: "final" },
    detached: { entry: [{ type: "enter phase", params: { phase: "ended" } }, "publish status"], type: "final" },
  },
});

/** The exit as a failure keeps it (the event's `type` and `forced` left out). */
function exitOf({ code, signal, spawnError, logTail }: ProcessExit): ProcessExit {
  return { code, signal, spawnError, logTail };
}
