/**
 * The facade over the local fleet (machines/local-fleet.machine.ts, which spawns one
 * local-server machine per model): the backend contract's verbs (src/backend/contract.ts), so
 * pi's hooks never touch XState, and the status the fleet emits for every reader. One supervisor per extension instance (pi
 * re-runs the factory on /new, /resume, /fork and re-evaluates the module on /reload).
 */
import { createActor, type InspectionEvent, type Observer } from "xstate";
import {
  type FleetEvent,
  type FleetNotice,
  type FleetSettings,
  type FleetStatus,
  localFleetMachine,
  type WarmSpec,
} from "../../machines/local-fleet.machine.ts";
import { IDLE_STATUS, localServerMachine } from "../../machines/local-server.machine.ts";
import type { AnswerEnd, Supervisor } from "../backend/contract.ts";
import { type StatusSource, settle, statusChannel } from "../pi-session/status-channel.ts";
import { type LlamafilesTimeouts, llamafilesTimeouts } from "../timeouts.ts";
import { type LocalServerEffectsOptions, localFleetActors, localServerActors } from "./effects.ts";
import { failureText, noRoomText, notServingText } from "./messages.ts";

export interface LocalSupervisorOptions {
  /**
   * How many servers may run at once, within what memory, and the configured models (models.json);
   * one at a time by default.
   */
  fleet?: FleetSettings;
  /** Asked first when given: the models pi offers now (discovery adds models while pi runs). */
  model?: (id: string) => WarmSpec | undefined;
  /** Shorter intervals for tests; src/timeouts.ts otherwise. */
  timeouts?: Partial<LlamafilesTimeouts>;
  /** Statechart inspection (src/pi-session/inspection.ts), when PI_LLAMA_INSPECT is set. */
  inspect?: Observer<InspectionEvent>;
  /** The pi session now: the prompt cache restores its conversation. */
  conversation?: LocalServerEffectsOptions["conversation"];
}

/**
 * What the fleet says; a selection of a model the configuration does not have; and quitting pi
 * that stopped waiting for servers that would not stop (their keepers go on).
 */
export type LocalNotice =
  | FleetNotice
  | { kind: "unknown-model"; modelId: string }
  | { kind: "quit-without-waiting"; waitedMs: number; stillStopping: string[] };

export type LocalSupervisor = Supervisor<FleetStatus, LocalNotice>;

export const NO_FLEET: FleetStatus = {
  phase: "active",
  shown: IDLE_STATUS,
  waitingFor: undefined,
  current: undefined,
  servers: [],
  refusal: undefined,
};

export function createLocalSupervisor(options: LocalSupervisorOptions): LocalSupervisor {
  const listed = new Map((options.fleet?.models ?? []).map((model) => [model.id, model]));
  const byId = { get: (id: string) => options.model?.(id) ?? listed.get(id) };
  const facadeListeners = new Set<(notice: LocalNotice) => void>();
  // A server that cannot save its prompt cache says so at every start: told once per model in this session.
  const toldCannotSave = new Set<string>();
  const worthTelling = (notice: LocalNotice): boolean => {
    if (notice.kind !== "cache-problem" || notice.problem.kind !== "cannot-save") return true;
    if (toldCannotSave.has(notice.model.id)) return false;
    toldCannotSave.add(notice.model.id);
    return true;
  };
  const tell = (notice: LocalNotice) => {
    for (const listener of [...facadeListeners]) listener(notice);
  };
  const timeouts = { ...llamafilesTimeouts, ...options.timeouts };
  const server = localServerMachine.provide({
    actors: localServerActors({ timeouts, conversation: options.conversation }),
  });
  const machine = localFleetMachine.provide({ actors: { server, ...localFleetActors() } });
  const actor = createActor(machine, { input: options.fleet ?? { keepWarm: 1 }, inspect: options.inspect });
  const status = statusChannel<FleetStatus>(NO_FLEET);
  // One subscription for the chart's notices and the facade's own: each notice is judged once, whoever listens.
  actor.on("notice", (event) => {
    if (worthTelling(event.notice)) tell(event.notice);
  });
  // When each model was last selected or answered (the chart keeps only the order: it reads no clock).
  const usedAt = new Map<string, number>();
  const used = (modelId: string) => usedAt.set(modelId, Date.now());
  // Answers since each model's last restore: the first one after a restore is marked in the footer.
  const sinceRestore = new Map<string, { restores: number; answers: number }>();
  const restoredAnswer = (entry: FleetStatus["servers"][number]) => {
    const known = sinceRestore.get(entry.model.id);
    if (!known || known.restores !== entry.status.restores)
      sinceRestore.set(entry.model.id, { restores: entry.status.restores, answers: 0 });
    return entry.status.restores > 0 && sinceRestore.get(entry.model.id)!.answers === 1;
  };
  actor.on("status", ({ status: now }) =>
    status.publish({
      ...now,
      servers: now.servers.map((entry) => ({ ...entry, lastUsedAt: usedAt.get(entry.model.id), restoredAnswer: restoredAnswer(entry) })),
    }),
  );
  // An error no state handles ends the machine, never pi: it becomes an ended status.
  actor.subscribe({ error: () => status.publish({ ...status.current(), phase: "ended" }) });
  actor.start();

  const send = (event: FleetEvent) => {
    if (status.current().phase !== "ended") actor.send(event);
  };
  const serverOf = (now: FleetStatus, id: string) => now.servers.find((entry) => entry.model.id === id);

  const select = (modelId: string) => {
    const model = byId.get(modelId);
    if (!model) {
      tell({ kind: "unknown-model", modelId });
      return;
    }
    used(modelId);
    send({ type: "SELECT", model });
  };

  return {
    /**
     * session_start, every time (idempotent: the first one takes over what this pi held before a
     * /reload, /new, … and sweeps servers left behind); `restored` is the local model the session
     * starts with, selected next.
     */
    sessionStarted(restored) {
      send({ type: "SESSION_STARTED", selected: restored === undefined ? undefined : byId.get(restored) });
      if (restored !== undefined) select(restored);
    },
    select,
    deselect(): void {
      send({ type: "DESELECT" });
    },
    /** An answer of `modelId` streams: its server is not stopped to make room until it ends. */
    answering(modelId) {
      used(modelId);
      send({ type: "ANSWER_STARTED", modelId });
      return (end: AnswerEnd) => {
        used(modelId);
        const known = sinceRestore.get(modelId);
        if (known && end === "done") known.answers++;
        send({ type: "ANSWER_ENDED", modelId });
      };
    },
    /**
     * quit: stop what pi alone uses, let go of what others use, and resolve when done; detach
     * (/reload, /new, /resume, /fork): leave the servers running for the next instance.
     */
    async end(how) {
      if (how === "detach") return void send({ type: "DETACH" });
      send({ type: "QUIT" });
      const deadline = AbortSignal.timeout(timeouts.quitWaitMs);
      try {
        await settle(status, (now) => (now.phase === "ended" ? "done" : "wait"), deadline);
      } catch {
        // (While pi quits the fleet publishes no status but its end: what was running is what did not stop.)
        const stillStopping = status.current().servers.filter((entry) => entry.status.phase !== "idle" && entry.status.phase !== "ended");
        tell({
          kind: "quit-without-waiting",
          waitedMs: timeouts.quitWaitMs,
          stillStopping: stillStopping.map((entry) => entry.model.name),
        });
      }
    },
    status: status as StatusSource<FleetStatus>,
    onNotice(listener) {
      facadeListeners.add(listener);
      return () => {
        facadeListeners.delete(listener);
      };
    },
    /**
     * Resolves when `model` is ready to answer; a prompt sent during start-up waits here
     * (docs/architecture.md, "Why the provider waits"). Brings the model up when its server does
     * not run, also after a failure: the failure's message says the next prompt tries again.
     */
    ensureReady(modelId, signal) {
      const model = byId.get(modelId);
      if (!model) return Promise.reject(new Error(notServingText({ id: modelId, name: modelId }, { kind: "not-configured", modelId })));
      const now = status.current();
      const phase = serverOf(now, model.id)?.status.phase;
      if (now.waitingFor?.id !== model.id && (phase === undefined || phase === "idle")) send({ type: "SELECT", model });
      return settle(
        status,
        (current) => {
          const entry = serverOf(current, model.id);
          if (entry?.status.phase === "ready") return "done";
          if (current.waitingFor?.id === model.id || entry?.status.phase === "starting") return "wait";
          // Selected again while it stops: its machine starts it once stopped.
          if (entry?.status.phase === "stopping" && (entry.status.next?.id === model.id || current.current?.id === model.id)) return "wait";
          if (current.refusal?.model.id === model.id) return new Error(noRoomText(current.refusal.model, current.refusal.problem));
          const failure = entry?.status.failure;
          if (failure?.model.id === model.id) return new Error(failureText(failure.model, failure.failure));
          if (current.phase === "ended") return new Error(notServingText(model, { kind: "shutting-down" }));
          return new Error(
            notServingText(
              model,
              current.current ? { kind: "another-model-selected", selected: current.current } : { kind: "not-running" },
            ),
          );
        },
        signal,
      );
    },
  };
}
