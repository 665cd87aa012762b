/**
 * The facade over the router-model statechart: the backend contract's verbs
 * (src/backend/contract.ts) and the commands' (unloadAndWait, restartRouter, listModels,
 * reloadPresets), so neither touches XState nor the router's API, and the status the chart
 * emits for every reader.
 */
import { createActor, type InspectionEvent, type Observer } from "xstate";
import {
  type RouterModelEvent,
  type RouterModelStatus,
  type RouterNotice,
  routerModelMachine,
} from "../../machines/router-model.machine.ts";
import type { AnswerEnd, Supervisor } from "../backend/contract.ts";
import { type StatusSource, settle, statusChannel } from "../pi-session/status-channel.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import { routerActors } from "./effects.ts";
import {
  modelFailureText,
  noticeMessage,
  notTheLoadingModelText,
  type OtherRouter,
  restartFailureText,
  type SettingsForWords,
  supervisorEndedText,
} from "./messages.ts";
import type { RouterApi, RouterModel } from "./router-api.ts";
import type { RouterSlotCache } from "./slot-cache.ts";

const IDLE: RouterModelStatus = { phase: "idle", modelId: undefined, next: undefined, failure: undefined, props: undefined, restores: 0 };

export interface RouterSupervisor extends Supervisor<RouterModelStatus, RouterNotice> {
  /** Unloads `modelId` and resolves once the chart says the router reports it unloaded. */
  unloadAndWait(modelId: string, signal?: AbortSignal): Promise<void>;
  /** Restarts the router's service on `host` over ssh and resolves once it answers /health again. */
  restartRouter(host: string, signal?: AbortSignal): Promise<void>;
  /** The router's model list as it is now. */
  listModels(signal?: AbortSignal): Promise<RouterModel[]>;
  /** Asks the router to read its presets again. */
  reloadPresets(signal?: AbortSignal): Promise<void>;
}

export function createRouterSupervisor(options: {
  api: RouterApi;
  settings: SettingsForWords;
  pollMs?: number;
  inspect?: Observer<InspectionEvent>;
  /** The actor's id, which the inspector shows: one per router (`routerModel:<provider>`). */
  id?: string;
  /** The other routers that offer a model, named when this router cannot be used. */
  alsoOn?: (modelId: string) => OtherRouter[];
  /** This session's slots on the router, when its models let clients save them (src/ai-server/slot-cache.ts). */
  slots?: RouterSlotCache;
}): RouterSupervisor {
  const polls = { loadPollMs: options.pollMs ?? aiServerTimeouts.loadPollMs, healthPollMs: aiServerTimeouts.healthPollMs };
  const machine = routerModelMachine.provide({ actors: routerActors(options.api, polls, options.slots) });
  const actor = createActor(machine, { id: options.id, inspect: options.inspect });
  const alsoOn = options.alsoOn ?? (() => []);
  const status = statusChannel<RouterModelStatus>(IDLE);
  // Answers since the last restore: the first one after a restore is marked in the footer (the chart sees no answers).
  let sinceRestore = { restores: 0, answers: 0 };
  const decorate = (now: RouterModelStatus): RouterModelStatus => {
    if (now.restores !== sinceRestore.restores) sinceRestore = { restores: now.restores, answers: 0 };
    return { ...now, restoredAnswer: now.restores > 0 && sinceRestore.answers === 1 };
  };
  actor.on("status", (event) => status.publish(decorate(event.status)));
  // An error no state handles ends the machine, never pi: it becomes an ended status.
  actor.subscribe({ error: () => status.publish({ ...status.current(), phase: "ended" }) });
  actor.start();
  const send = (event: RouterModelEvent) => {
    if (status.current().phase !== "ended") actor.send(event);
  };
  const onNotice = (listener: (notice: RouterNotice) => void) => {
    const subscription = actor.on("notice", (event) => listener(event.notice));
    return () => subscription.unsubscribe();
  };
  /**
   * Sends `event`, then settles on the first notice `verdict` decides on (undefined: not this
   * one). The signal (Esc) cancels the wait, never the machine.
   */
  const untilNotice = (event: RouterModelEvent, verdict: (notice: RouterNotice) => "done" | Error | undefined, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        off();
        offEnded();
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      const off = onNotice((notice) => {
        const result = verdict(notice);
        if (result === "done") finish();
        else if (result) finish(result);
      });
      // A chart that ended (pi quits, or an error ended it) answers nothing more.
      const offEnded = status.subscribe((now) => {
        if (now.phase === "ended") finish(new Error(supervisorEndedText()));
      });
      if (signal?.aborted) return onAbort();
      if (status.current().phase === "ended") return finish(new Error(supervisorEndedText()));
      signal?.addEventListener("abort", onAbort, { once: true });
      send(event);
    });
  const restartFailed = (notice: RouterNotice) =>
    notice.kind === "restart-failed" ? new Error(restartFailureText(notice.failure, options.settings)) : undefined;

  return {
    // A model restored at start-up loads with its first prompt, never at start: the router is shared.
    sessionStarted(): void {},
    select(modelId: string): void {
      send({ type: "SELECT", modelId });
    },
    deselect(): void {
      send({ type: "DESELECT" });
    },
    /** The router owns its workers: neither quitting pi nor a replaced session unloads anything (another client may use the model). */
    async end(): Promise<void> {
      send({ type: "SHUTDOWN" });
    },
    /** An answer that failed (not one cancelled): the footer and status follow what the router reports now. */
    answering(modelId: string) {
      return (end: AnswerEnd) => {
        if (end === "error") send({ type: "RECHECK", modelId });
        else if (end === "done") {
          sinceRestore.answers++;
          status.publish(decorate(status.current()));
        }
      };
    },
    status: status as StatusSource<RouterModelStatus>,
    onNotice,
    /** Loads `modelId` unless it is (being) loaded, and resolves once it is (a prompt waits here). */
    ensureReady(modelId: string, signal?: AbortSignal): Promise<void> {
      const now = status.current();
      // A selection of the model being checked or loaded changes nothing; anywhere else it brings the model up.
      if (now.modelId !== modelId || (now.phase !== "ready" && now.phase !== "starting")) send({ type: "SELECT", modelId });
      return settle(
        status,
        (current) => {
          if (current.phase === "ready" && current.modelId === modelId) return "done";
          const busy = current.phase === "probing" || current.phase === "starting" || current.phase === "stopping";
          if (busy && (current.modelId === modelId || current.next === modelId)) return "wait";
          if (current.failure?.modelId === modelId)
            return new Error(modelFailureText(modelId, current.failure.failure, options.settings, alsoOn(modelId)));
          return new Error(notTheLoadingModelText(modelId, current.modelId, options.settings));
        },
        signal,
      );
    },
    /** Unloads `modelId` and resolves once the chart says the router reports it unloaded. */
    unloadAndWait(modelId: string, signal?: AbortSignal): Promise<void> {
      return untilNotice(
        { type: "UNLOAD", modelId },
        (notice) => {
          // A restart under way when the unload was asked unloads every model.
          if (notice.kind === "restarted") return "done";
          if (notice.kind === "restart-failed") return restartFailed(notice);
          if (notice.modelId !== modelId) return undefined;
          if (notice.kind === "unloaded") return "done";
          if (notice.kind === "failed" || notice.kind === "still-unloading") return new Error(noticeMessage(notice, options.settings).text);
          return undefined;
        },
        signal,
      );
    },
    /**
     * Restarts the router's service on `host` over ssh and resolves once it answers /health
     * again; the chart then knows no model loaded. Rejects with the words of what went wrong.
     */
    restartRouter(host: string, signal?: AbortSignal): Promise<void> {
      return untilNotice(
        { type: "RESTART_ROUTER", host },
        (notice) => (notice.kind === "restarted" ? "done" : restartFailed(notice)),
        signal,
      );
    },
    /** The router's model list as it is now (GET /models): a reading, no decision of the chart. */
    listModels(signal?: AbortSignal): Promise<RouterModel[]> {
      return options.api.list({ signal });
    },
    /** Asks the router to read its presets again (GET /models?reload=1: newer builds do; the b8942 router reads them only at start). */
    async reloadPresets(signal?: AbortSignal): Promise<void> {
      await options.api.list({ reload: true, signal });
    },
  };
}
