/**
 * The facade over the local-server statechart: a few verbs for the pi glue, so hooks never
 * touch XState, and the status the chart emits for every reader. One supervisor per
 * extension instance (pi re-runs the factory on /new, /resume, /fork and re-evaluates the
 * module on /reload).
 */
import { createActor, type InspectionEvent, type Observer } from "xstate";
import {
  IDLE_STATUS,
  type LaunchSpec,
  type LocalNotice,
  type LocalServerEvent,
  type LocalServerStatus,
  localServerMachine,
} from "../../machines/local-server.machine.ts";
import { type StatusSource, settle, statusChannel } from "../pi-session/status-channel.ts";
import { llamafilesTimeouts } from "../timeouts.ts";
import { type EffectReport, type LocalServerEffectsOptions, localServerActors } from "./effects.ts";
import { failureText, notServingText } from "./messages.ts";

export interface LocalSupervisorOptions {
  askAboutForeignServer: LocalServerEffectsOptions["askAboutForeignServer"];
  /** Shorter intervals for tests; src/timeouts.ts otherwise. */
  timeouts?: Partial<LocalServerEffectsOptions["timeouts"]>;
  /** Statechart inspection (src/pi-session/inspection.ts), when PI_LLAMA_INSPECT is set. */
  inspect?: Observer<InspectionEvent>;
}

export function createLocalSupervisor(options: LocalSupervisorOptions) {
  const reportListeners = new Set<(report: EffectReport) => void>();
  const machine = localServerMachine.provide({
    actors: localServerActors({
      askAboutForeignServer: options.askAboutForeignServer,
      timeouts: { ...llamafilesTimeouts, ...options.timeouts },
      report: (report) => {
        for (const listener of reportListeners) listener(report);
      },
    }),
  });
  const actor = createActor(machine, { inspect: options.inspect });
  const status = statusChannel<LocalServerStatus>(IDLE_STATUS);
  actor.on("status", (event) => status.publish(event.status));
  // An error no state handles ends the machine, never pi: it becomes a failed, ended status.
  actor.subscribe({ error: () => status.publish({ ...status.current(), phase: "ended" }) });
  actor.start();

  const send = (event: LocalServerEvent) => {
    if (status.current().phase !== "ended") actor.send(event);
  };

  return {
    select(model: LaunchSpec): void {
      send({ type: "SELECT", model });
    },
    deselect(): void {
      send({ type: "DESELECT" });
    },
    /** pi quits: stop what pi alone uses, let go of what others use, and resolve when done. */
    quit(): Promise<void> {
      send({ type: "QUIT" });
      return settle(status, (now) => (now.phase === "ended" ? "done" : "wait"));
    },
    /** /reload, /new, /resume, /fork: leave the server running for the next instance. */
    detach(): void {
      send({ type: "DETACH" });
    },
    status: status as StatusSource<LocalServerStatus>,
    onNotice(listener: (notice: LocalNotice) => void): () => void {
      const subscription = actor.on("notice", (event) => listener(event.notice));
      return () => subscription.unsubscribe();
    },
    /** What the effects met outside the chart's notices (records not trusted, servers left behind). */
    onReport(listener: (report: EffectReport) => void): () => void {
      reportListeners.add(listener);
      return () => reportListeners.delete(listener);
    },
    /**
     * Resolves when `model` is ready to answer; a prompt sent during start-up waits here
     * (docs/architecture.md, "Why the provider waits"). Starts the model when nothing runs,
     * also after a failure: the failure's message says the next prompt tries again.
     */
    ensureReady(model: LaunchSpec, signal?: AbortSignal): Promise<void> {
      if (status.current().phase === "idle") send({ type: "SELECT", model });
      return settle(
        status,
        (current) => {
          if (current.phase === "ready" && current.model?.id === model.id) return "done";
          if (current.phase === "starting" && current.model?.id === model.id) return "wait";
          if (current.phase === "stopping" && current.next?.id === model.id) return "wait";
          if (current.failure?.model.id === model.id) return new Error(failureText(current.failure.model, current.failure.failure));
          if (current.phase === "ended") return new Error(notServingText(model, { kind: "shutting-down" }));
          return new Error(
            notServingText(model, current.model ? { kind: "another-model-selected", selected: current.model } : { kind: "not-running" }),
          );
        },
        signal,
      );
    },
  };
}

export type LocalSupervisor = ReturnType<typeof createLocalSupervisor>;
