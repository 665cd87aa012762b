/**
 * The facade over the router-model statechart: the backend contract's verbs
 * (src/backend/contract.ts) and the commands' (unload), so neither touches XState, and the
 * status the chart emits for every reader.
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
import { modelFailureText, noticeMessage, notTheLoadingModelText, type Where } from "./messages.ts";
import type { RouterApi } from "./router-api.ts";

const IDLE: RouterModelStatus = { phase: "idle", modelId: undefined, next: undefined, failure: undefined, props: undefined };

export interface RouterSupervisor extends Supervisor<RouterModelStatus, RouterNotice> {
  /** Unloads `modelId` and resolves once the chart says the router reports it unloaded. */
  unloadAndWait(modelId: string, signal?: AbortSignal): Promise<void>;
}

export function createRouterSupervisor(options: {
  api: RouterApi;
  where: Where;
  pollMs?: number;
  inspect?: Observer<InspectionEvent>;
}): RouterSupervisor {
  const machine = routerModelMachine.provide({ actors: routerActors(options.api, options.pollMs ?? aiServerTimeouts.loadPollMs) });
  const actor = createActor(machine, { inspect: options.inspect });
  const status = statusChannel<RouterModelStatus>(IDLE);
  actor.on("status", (event) => status.publish(event.status));
  actor.start();
  const send = (event: RouterModelEvent) => {
    if (status.current().phase !== "ended") actor.send(event);
  };
  const onNotice = (listener: (notice: RouterNotice) => void) => {
    const subscription = actor.on("notice", (event) => listener(event.notice));
    return () => subscription.unsubscribe();
  };

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
      };
    },
    status: status as StatusSource<RouterModelStatus>,
    onNotice,
    /** Loads `modelId` unless it is (being) loaded, and resolves once it is (a prompt waits here). */
    ensureReady(modelId: string, signal?: AbortSignal): Promise<void> {
      const now = status.current();
      // A selection of the model being checked or loaded changes nothing; anywhere else it brings the model up.
      if (now.modelId !== modelId || (now.phase !== "ready" && now.phase !== "loading")) send({ type: "SELECT", modelId });
      return settle(
        status,
        (current) => {
          if (current.phase === "ready" && current.modelId === modelId) return "done";
          const busy = current.phase === "checking" || current.phase === "loading" || current.phase === "unloading";
          if (busy && (current.modelId === modelId || current.next === modelId)) return "wait";
          if (current.failure?.modelId === modelId) return new Error(modelFailureText(modelId, current.failure.failure, options.where));
          return new Error(notTheLoadingModelText(modelId, current.modelId));
        },
        signal,
      );
    },
    /** Unloads `modelId` and resolves once the chart says the router reports it unloaded. */
    unloadAndWait(modelId: string, signal?: AbortSignal): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const finish = (error?: Error) => {
          off();
          signal?.removeEventListener("abort", onAbort);
          if (error) reject(error);
          else resolve();
        };
        const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
        const off = onNotice((notice) => {
          if (notice.modelId !== modelId) return;
          if (notice.kind === "unloaded") finish();
          else if (notice.kind === "failed" || notice.kind === "still-unloading")
            finish(new Error(noticeMessage(notice, options.where).text));
        });
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        send({ type: "UNLOAD", modelId });
      });
    },
  };
}
