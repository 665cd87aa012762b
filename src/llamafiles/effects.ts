/**
 * The effects behind the local statecharts: each actor the local-server and local-fleet
 * machines name, built on real processes, files and HTTP. This is the one seam between the
 * charts and the world: tests of a chart replace exactly these actors. The machines decide;
 * these only do, and what they find goes back to the chart that asked, as a value.
 */
import { type EventObject, fromCallback, fromPromise } from "xstate";
import type { HeldServer } from "../../machines/local-fleet.machine.ts";
import type {
  CacheReadiness,
  LaunchSpec,
  LocalServerEvent,
  PortProbe,
  ProcessCommand,
  RecordFinding,
  SaveOutcome,
  ServerIdentity,
  SlotCache,
  SpawnError,
} from "../../machines/local-server.machine.ts";
import type { LlamafilesTimeouts } from "../timeouts.ts";
import { sleep } from "../util/sleep.ts";
import { joinKeeper } from "./process/keeper-lease.ts";
import { withLeaderStatus } from "./process/leader-status.ts";
import { stopLeftBehindServer, stopServersLeftBehind } from "./process/left-behind.ts";
import { claimPort, judgeRecord, type RecordState, releaseClaim } from "./process/ownership-record.ts";
import { waitUntilPortFree } from "./process/port-free.ts";
import { forgetServer, rememberServer, type UsedServer, usedServer, usedServers } from "./process/process-table.ts";
import { tailLog } from "./process/server-log.ts";
import { stopLeftBehind, waitUntilGone } from "./process/signals.ts";
import { startServer } from "./process/spawn.ts";
import { answersUnderWay, type Conversation, heldSlot, requestsSent } from "./prompt-cache/session-slots.ts";
import { servingFacts, slotUse } from "./prompt-cache/slot-http.ts";
import { leaveCache, prepareCache, saveCache } from "./prompt-cache/store.ts";
import { askModels, askProps, type ModelsAnswer } from "./server-http.ts";

export interface LocalServerEffectsOptions {
  /** The intervals and bounds of the effects (src/timeouts.ts); tests shorten some. */
  timeouts: LlamafilesTimeouts;
  /** The pi session now: its conversation is what the prompt cache restores. */
  conversation?: () => Conversation | undefined;
}

/**
 * The fleet's own effects: what this pi process holds from an earlier extension instance
 * (the process table survives /reload), letting go of it, and the sweep of servers left behind.
 */
export function localFleetActors() {
  return {
    findHeldServers: fromPromise<HeldServer[]>(async () => usedServers().map(({ port, modelId }) => ({ port, modelId }))),
    /** Closes this pi's lease on every server it holds but those on `keep`: each keeper stops its server unless another pi uses it. */
    letGoOfHeldServers: fromPromise<void, { keep: number[] }>(async ({ input }) => {
      for (const server of usedServers()) if (!input.keep.includes(server.port)) server.lease.close();
    }),
    sweepLeftBehind: fromPromise<RecordFinding[]>(() => stopServersLeftBehind()),
  };
}

export function localServerActors(options: LocalServerEffectsOptions) {
  const t = options.timeouts;
  const ask = (port: number, signal?: AbortSignal) => askModels(port, { timeoutMs: t.probeMs, signal });
  /** A server that serves: its ids, and what it says it serves (read before anyone is told it is ready). */
  const serving = async (port: number, ids: string[], signal: AbortSignal): Promise<ServerIdentity> => ({
    ids,
    props: await askProps(port, { timeoutMs: t.probeMs, signal }),
  });

  /** This pi holds a lease on `entry`: what the chart needs to know about it. */
  const heldServer = async (
    entry: UsedServer,
    model: LaunchSpec,
    via: "reattached" | "joined",
    signal: AbortSignal,
  ): Promise<PortProbe> => {
    if (entry.modelId !== model.id && entry.lease.users > 1) {
      // Another pi uses a server of another model here: let go of it, never stop it.
      const users = entry.lease.users - 1;
      entry.lease.close();
      forgetServer(entry.port);
      return { kind: "taken", servesId: entry.modelId, users };
    }
    const answer = await ask(model.port, signal);
    const props = answer.kind === "serving" ? (await serving(model.port, answer.ids, signal)).props : undefined;
    // Re-attached after a /reload: the slot this pi process claimed still holds its conversation.
    const cache: SlotCache | undefined = model.promptCache && via === "reattached" ? heldSlot(model.promptCache.dir) : undefined;
    const probe: PortProbe = {
      kind: "ours",
      pid: entry.pid,
      servesId: entry.modelId,
      ready: props !== undefined,
      users: entry.lease.users,
      via,
      props,
    };
    return cache ? { ...probe, cache } : probe;
  };

  /**
   * What the record of the port proves, acting on what it finds (and noting it in `found`);
   * undefined when nothing of pi's runs there.
   */
  const fromRecord = async (model: LaunchSpec, signal: AbortSignal, found: RecordFinding[]): Promise<PortProbe | undefined> => {
    const deadline = Date.now() + t.joinMs;
    for (;;) {
      const state: RecordState = judgeRecord(model.port);
      if (state.kind === "rejected") found.push({ kind: "record-rejected", path: state.path, reason: state.reason });
      if (state.kind === "orphan") {
        const stopped = await stopLeftBehindServer(state);
        if (stopped) found.push(stopped);
        else await waitUntilGone(state.record.server, signal); // another pi is stopping it
        continue;
      }
      if (state.kind === "kept") {
        const lease = await joinKeeper(state.record.keeper.socket, t.probeMs);
        if (lease) {
          const entry: UsedServer = {
            port: model.port,
            modelId: state.record.modelId,
            pid: state.record.server.pid,
            lease,
            marker: state.record.server.marker,
          };
          rememberServer(entry);
          return heldServer(entry, model, "joined", signal);
        }
      }
      // Another pi is starting a server here, or its keeper is ending: wait, then look again.
      if (state.kind !== "claiming" && state.kind !== "kept") return undefined;
      if (Date.now() > deadline) return undefined;
      await sleep(t.readinessPollMs / 5, signal);
    }
  };

  return {
    probePort: fromPromise<PortProbe, { model: LaunchSpec }>(async ({ input, signal }) => {
      const { model } = input;
      // This pi already holds the server on this port (from before a /reload, /new, …).
      const mine = usedServer(model.port);
      if (mine) return heldServer(mine, model, "reattached", signal);
      // Records not trusted and servers left behind met on the way go back with the answer.
      const found: RecordFinding[] = [];
      const probed = (probe: PortProbe): PortProbe => (found.length > 0 ? { ...probe, found } : probe);
      for (let attempt = 0; attempt < 3; attempt++) {
        const held = await fromRecord(model, signal, found);
        if (held) return probed(held);
        const answer: ModelsAnswer = await ask(model.port, signal);
        if (answer.kind === "not-http") return probed({ kind: "not-http", detail: answer.detail });
        if (answer.kind !== "refused") return probed({ kind: "occupied" });
        const claim = claimPort(model.port, model);
        if (claim.claimed) {
          if (signal.aborted) releaseClaim(model.port);
          return probed({ kind: "free", nonce: claim.marker });
        }
        if ("unsafe" in claim)
          return probed({ kind: "unusable", error: { code: "unsafe-folder", path: claim.unsafe.path, reason: claim.unsafe.code } });
        // Another pi claimed the port a moment ago: join what it starts.
      }
      return probed({ kind: "occupied" });
    }),

    identifyServer: fromPromise<ServerIdentity, { model: LaunchSpec }>(async ({ input, signal }) => {
      for (;;) {
        const answer = await ask(input.model.port, signal);
        if (answer.kind === "serving") return serving(input.model.port, answer.ids, signal);
        if (answer.kind === "unexpected" || answer.kind === "not-http") return { ids: [] };
        if (answer.kind === "refused") throw new Error("the server on the port went away while pi waited for it");
        await sleep(t.readinessPollMs, signal);
      }
    }),

    /**
     * Polls GET /v1/models until the server serves: at once whenever the server writes output
     * (the keeper's hint; what a server prints when it becomes ready is followed by a probe
     * within milliseconds), else every `readinessPollMs`.
     */
    waitForReady: fromPromise<ServerIdentity, { model: LaunchSpec }>(async ({ input, signal }) => {
      let wake: (() => void) | undefined;
      let hinted = false;
      let unsubscribe: (() => void) | undefined;
      const listen = () => {
        const entry = unsubscribe ? undefined : usedServer(input.model.port);
        if (!entry) return;
        unsubscribe = entry.lease.on((event) => {
          if (event.event !== "output") return;
          hinted = true;
          wake?.();
        });
      };
      try {
        for (let lastProbe = 0; ; ) {
          listen();
          lastProbe = Date.now();
          hinted = false;
          const answer = await ask(input.model.port, signal);
          if (answer.kind === "serving") return serving(input.model.port, answer.ids, signal);
          // Wait for the next output or the poll, but never probe more often than hintGapMs.
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(poll);
              wake = undefined;
              signal.removeEventListener("abort", done);
              resolve();
            };
            const poll = setTimeout(done, t.readinessPollMs);
            wake = () => setTimeout(done, Math.max(0, lastProbe + t.hintGapMs - Date.now()));
            if (hinted) wake();
            signal.addEventListener("abort", done, { once: true });
          });
          if (signal.aborted) throw signal.reason;
        }
      } finally {
        unsubscribe?.();
      }
    }),

    serverProcess: fromCallback<ProcessCommand, { model: LaunchSpec; nonce: string | undefined }>(({ input, sendBack, receive }) => {
      const { model, nonce } = input;
      const send = (event: LocalServerEvent) => sendBack(event);
      let entry: UsedServer | undefined;
      let released = false;
      let ended = false;
      let gone = false;
      let unsubscribe = () => {};
      const pending: ProcessCommand[] = [];

      const exited = (
        code: number | null,
        signal: string | null,
        { spawnError, forced = false }: { spawnError?: SpawnError; forced?: boolean } = {},
      ) => {
        if (ended) return;
        ended = true;
        send({ type: "PROCESS_EXITED", code, signal, spawnError, forced, logTail: tailLog(model.logPath) });
      };
      const command = (cmd: ProcessCommand) => {
        if (!entry) return void pending.push(cmd);
        if (cmd.type === "RELEASE") released = true;
        else {
          // The keeper runs the whole stop story and says with `exited` whether it was forced (or
          // `shared`). Until then the lease keeps pi alive: pi quitting in print mode, with nothing
          // else to wait on, still hears the answer and says the stop's last line.
          entry.lease.ref();
          entry.lease.send({ cmd: "term" });
        }
      };
      const follow = (held: UsedServer) => {
        entry = held;
        if (nonce) send({ type: "PROCESS_STARTED", pid: held.pid });
        send({ type: "USERS_CHANGED", users: held.lease.users });
        unsubscribe = held.lease.on((event) => {
          if (event.event === "users") send({ type: "USERS_CHANGED", users: event.count });
          else if (event.event === "shared") {
            ended = true;
            send({ type: "SERVER_SHARED", users: event.users });
          } else if (event.event === "exited")
            withLeaderStatus(event, held.child, t.leaderStatusMs, (code, signal) => exited(code, signal, { forced: event.forced }));
          else if (event.event === "lost" && !ended && !released) {
            // The keeper is gone without a word: pi stops the server itself, proven first, with the same stop story.
            if (held.marker)
              void stopLeftBehind({ pid: held.pid, marker: held.marker }).then(({ forced }) => exited(null, null, { forced }));
            else exited(null, null);
          }
        });
        for (const cmd of pending.splice(0)) command(cmd);
      };

      if (nonce) {
        void startServer(model, nonce).then(
          (result) => {
            if ("error" in result) {
              releaseClaim(model.port);
              return exited(null, null, { spawnError: result.error });
            }
            if (gone) {
              // The chart left before the server was up: let go of it at once.
              result.server.lease.close();
              return;
            }
            follow(result.server);
          },
          (error: Error) => {
            releaseClaim(model.port);
            exited(null, null, { spawnError: { code: "other", detail: error.message } });
          },
        );
      } else {
        const held = usedServer(model.port);
        if (held) follow(held);
        else queueMicrotask(() => exited(null, null));
      }

      receive(command);

      return () => {
        gone = true;
        unsubscribe();
        // This pi leaves the server (stopped, let go of, gone): its slot is free for another pi session.
        if (!released) leaveCache(model);
        // Left `owned` without a stop (torn down from outside): let go; the keeper stops the
        // server if no other pi uses it, with the same stop story.
        if (entry && !released && !ended) {
          entry.lease.close();
          forgetServer(model.port);
        }
      };
    }),

    watchAdoptedServer: fromCallback<ProcessCommand, { model: LaunchSpec }>(({ input, sendBack }) => {
      const controller = new AbortController();
      void (async () => {
        try {
          for (;;) {
            await sleep(t.adoptedHealthPollMs, controller.signal);
            const answer = await ask(input.model.port, controller.signal);
            if (answer.kind !== "serving" || !answer.ids.includes(input.model.id)) {
              sendBack({ type: "SERVER_LOST" } satisfies LocalServerEvent);
              return;
            }
          }
        } catch {
          // aborted: the machine left `adopted`
        }
      })();
      return () => controller.abort();
    }),

    waitPortFree: fromPromise<void, { port: number }>(({ input, signal }) =>
      waitUntilPortFree(input.port, { timeoutMs: t.portReleaseMs, pollMs: t.portReleasePollMs, connectMs: t.portConnectMs, signal }),
    ),

    prepareCache: fromPromise<CacheReadiness, { model: LaunchSpec }>(({ input, signal }) =>
      prepareCache(input.model, { conversation: options.conversation ?? (() => undefined), requestMs: t.cacheRequestMs, signal }),
    ),

    saveSlot: fromPromise<SaveOutcome, { model: LaunchSpec; cache: SlotCache }>(({ input, signal }) =>
      saveCache(input.model, input.cache, { conversation: options.conversation ?? (() => undefined), requestMs: t.cacheRequestMs, signal }),
    ),

    /**
     * Says SERVER_USED whenever any pi session used the server since the last look: a slot ran a
     * new task or is busy (GET /slots, asked only while GET /props says the server is awake: a
     * look must not wake it), or this pi sent a request or is still reading an answer (a server
     * without /slots).
     */
    watchUse: fromCallback<EventObject, { model: LaunchSpec }>(({ input, sendBack }) => {
      const controller = new AbortController();
      const { port } = input.model;
      const pollMs = Math.max(10, Math.min(t.usePollMs, (input.model.idleMs ?? t.usePollMs) / 4));
      const options = { timeoutMs: t.cacheRequestMs, signal: controller.signal };
      void (async () => {
        let seen: { lastTask: number; sent: number } | undefined;
        try {
          for (;;) {
            await sleep(pollMs, controller.signal);
            const awake = !(await servingFacts(port, options).catch(() => ({ sleeping: false }))).sleeping;
            const use = awake ? await slotUse(port, options).catch(() => undefined) : undefined;
            const now = { lastTask: use?.lastTask ?? seen?.lastTask ?? -1, sent: requestsSent(port) };
            const moved = seen !== undefined && (now.lastTask !== seen.lastTask || now.sent !== seen.sent);
            seen = now;
            if (moved || use?.busy || answersUnderWay(port) > 0) sendBack({ type: "SERVER_USED" } satisfies LocalServerEvent);
          }
        } catch {
          // aborted: the server is no longer watched
        }
      })();
      return () => controller.abort();
    }),
  };
}
