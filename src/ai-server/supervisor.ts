/**
 * The facade over the router-model statechart, with the router effects it needs: a few
 * verbs for the pi glue (select, unload, ensureReady, status), so hooks and commands never
 * touch XState.
 */
import { createActor, fromPromise, type InspectionEvent, type Observer, type SnapshotFrom } from "xstate";
import { routerModelMachine, type RouterModelState, type RouterNotice } from "../../machines/router-model.machine.ts";
import { settleOnSnapshot, type Verdict } from "../pi-session/settle-on-snapshot.ts";
import type { RouterApi, RouterModel } from "./router-api.ts";

export type RouterSnapshot = SnapshotFrom<typeof routerModelMachine>;

export interface RouterStatus {
  phase: "idle" | "starting" | "ready" | "stopping";
  modelId: string | undefined;
}

export function describeRouterStatus(snapshot: RouterSnapshot): RouterStatus {
  const { target } = snapshot.context;
  if (snapshot.matches("ready")) return { phase: "ready", modelId: target };
  if (snapshot.matches("probing") || snapshot.matches("starting")) return { phase: "starting", modelId: target };
  if (snapshot.matches("stopping")) return { phase: "stopping", modelId: target };
  return { phase: "idle", modelId: undefined };
}

function stateOf(models: RouterModel[], id: string): RouterModelState {
  const model = models.find((candidate) => candidate.id === id || candidate.aliases?.includes(id));
  if (!model) return { value: "missing", failed: false, exitCode: undefined };
  const value = (model.status?.value ?? "unloaded") as RouterModelState["value"];
  return { value, failed: model.status?.failed === true, exitCode: model.status?.exit_code };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

export function routerActors(api: RouterApi, pollMs: number) {
  return {
    readModelState: fromPromise<RouterModelState, { modelId: string }>(async ({ input, signal }) =>
      stateOf(await api.list({ signal }), input.modelId),
    ),
    requestLoad: fromPromise<void, { modelId: string }>(({ input, signal }) => api.load(input.modelId, signal)),
    waitUntilLoaded: fromPromise<RouterModelState, { modelId: string }>(async ({ input, signal }) => {
      // failed/exit_code survive from an earlier attempt until the next spawn: only trust
      // them once this load was seen in "loading", or after a few polls.
      let sawLoading = false;
      for (let poll = 0; ; poll++) {
        const state = stateOf(await api.list({ signal }), input.modelId);
        if (state.value === "loaded" || state.value === "sleeping") return state;
        if (state.value === "loading") sawLoading = true;
        else if (state.value === "unloaded" && state.failed && (sawLoading || poll >= 4)) return state;
        else if (state.value === "missing") return { ...state, failed: true };
        await sleep(pollMs, signal);
      }
    }),
    requestUnload: fromPromise<void, { modelId: string }>(({ input, signal }) => api.unload(input.modelId, signal)),
    waitUntilUnloaded: fromPromise<RouterModelState, { modelId: string }>(async ({ input, signal }) => {
      for (;;) {
        const state = stateOf(await api.list({ signal }), input.modelId);
        if (state.value === "unloaded" || state.value === "missing") return state;
        await sleep(pollMs, signal);
      }
    }),
  };
}

export function createRouterSupervisor(options: { api: RouterApi; pollMs?: number; inspect?: Observer<InspectionEvent> }) {
  const actor = createActor(routerModelMachine.provide({ actors: routerActors(options.api, options.pollMs ?? 500) }), { inspect: options.inspect });
  actor.start();
  const active = () => actor.getSnapshot().status === "active";
  const send = (event: Parameters<typeof actor.send>[0]) => {
    if (active()) actor.send(event);
  };

  /** Resolves when `done(snapshot)` says so; rejects with the recorded failure of `modelId`. */
  function waitUntil(modelId: string, done: (s: RouterSnapshot) => boolean, busy: (s: RouterSnapshot) => boolean, signal?: AbortSignal) {
    return settleOnSnapshot(
      actor,
      (snapshot): Verdict => {
        if (done(snapshot)) return "done";
        if (busy(snapshot)) return "wait";
        const failure = snapshot.context.failure;
        if (failure?.modelId === modelId) return new Error(failure.message);
        return new Error(`ai-server: ${modelId} is no longer the model pi is loading (now: ${snapshot.context.target ?? "none"}).`);
      },
      signal,
    );
  }

  const targets = (id: string) => (s: RouterSnapshot) => s.context.target === id || s.context.next === id;
  return {
    select(modelId: string): void {
      send({ type: "SELECT", modelId });
    },
    unload(modelId: string): void {
      send({ type: "UNLOAD", modelId });
    },
    deselect(): void {
      send({ type: "DESELECT" });
    },
    shutdown(): void {
      send({ type: "SHUTDOWN" });
    },
    status(): RouterStatus {
      return describeRouterStatus(actor.getSnapshot());
    },
    onNotice(listener: (notice: RouterNotice) => void): () => void {
      const sub = actor.on("notify", listener);
      return () => sub.unsubscribe();
    },
    onChange(listener: (snapshot: RouterSnapshot) => void): () => void {
      const sub = actor.subscribe(listener);
      return () => sub.unsubscribe();
    },
    /** Loads `modelId` unless it is (being) loaded, and resolves once it is (a prompt waits here). */
    ensureReady(modelId: string, signal?: AbortSignal): Promise<void> {
      if (actor.getSnapshot().context.target !== modelId || describeRouterStatus(actor.getSnapshot()).phase === "idle") {
        send({ type: "SELECT", modelId });
      }
      const isTarget = targets(modelId);
      return waitUntil(
        modelId,
        (s) => s.matches("ready") && s.context.target === modelId,
        (s) => isTarget(s) && !s.matches("idle") && !s.matches("ready"),
        signal,
      );
    },
    /** Unloads `modelId` and resolves once the router reports it unloaded. */
    unloadAndWait(modelId: string, signal?: AbortSignal): Promise<void> {
      send({ type: "UNLOAD", modelId });
      let sawStopping = false;
      return waitUntil(
        modelId,
        (s) => {
          if (s.matches("stopping")) sawStopping = true;
          return sawStopping && !s.matches("stopping") && s.context.failure?.modelId !== modelId;
        },
        (s) => s.matches("stopping") && s.context.target === modelId,
        signal,
      );
    },
  };
}

export type RouterSupervisor = ReturnType<typeof createRouterSupervisor>;
