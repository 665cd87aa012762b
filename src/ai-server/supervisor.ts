/**
 * The facade over the router-model statechart: a few verbs for the pi glue and the commands
 * (select, unload, ensureReady, status), so they never touch XState, and the status the
 * chart emits for every reader.
 */
import { createActor, type InspectionEvent, type Observer } from "xstate";
import {
  type RouterModelEvent,
  type RouterModelStatus,
  type RouterNotice,
  routerModelMachine,
} from "../../machines/router-model.machine.ts";
import { type StatusSource, settle, statusChannel } from "../pi-session/status-channel.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import { routerActors } from "./effects.ts";
import { modelFailureText, noticeMessage, notTheLoadingModelText, type SettingsForWords } from "./messages.ts";
import type { RouterApi } from "./router-api.ts";

const IDLE: RouterModelStatus = { phase: "idle", modelId: undefined, next: undefined, failure: undefined, props: undefined };

export function createRouterSupervisor(options: {
  api: RouterApi;
  settings: SettingsForWords;
  pollMs?: number;
  inspect?: Observer<InspectionEvent>;
}) {
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
    select(modelId: string): void {
      send({ type: "SELECT", modelId });
    },
    deselect(): void {
      send({ type: "DESELECT" });
    },
    shutdown(): void {
      send({ type: "SHUTDOWN" });
    },
    /** An answer from `modelId` failed: the footer and status follow what the router reports now. */
    recheck(modelId: string): void {
      send({ type: "RECHECK", modelId });
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
          if (current.failure?.modelId === modelId) return new Error(modelFailureText(modelId, current.failure.failure, options.settings));
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
            finish(new Error(noticeMessage(notice, options.settings).text));
        });
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        send({ type: "UNLOAD", modelId });
      });
    },
  };
}

export type RouterSupervisor = ReturnType<typeof createRouterSupervisor>;
