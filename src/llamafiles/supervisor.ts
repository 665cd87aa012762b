/**
 * The facade over the local-server statechart: a few verbs for the pi glue, so hooks
 * never touch XState. One supervisor per extension instance (pi re-runs the factory on
 * /new, /resume, /fork and re-evaluates the module on /reload).
 */
import { createActor, type InspectionEvent, type Observer, type SnapshotFrom } from "xstate";
import { localServerMachine, type LaunchSpec, type Notice } from "../../machines/local-server.machine.ts";
import { settleOnSnapshot, type Verdict } from "../pi-session/settle-on-snapshot.ts";
import { defaultEffectsOptions, localServerActors, type LocalServerEffectsOptions } from "./effects.ts";

export type LocalServerSnapshot = SnapshotFrom<typeof localServerMachine>;

export interface LocalServerStatus {
  phase: "idle" | "starting" | "ready" | "stopping";
  model: LaunchSpec | undefined;
  /** pid of a server pi owns; undefined for an adopted one. */
  pid: number | undefined;
  adopted: boolean;
}

export function describeStatus(snapshot: LocalServerSnapshot): LocalServerStatus {
  const { target, pid } = snapshot.context;
  const phase = (): LocalServerStatus["phase"] => {
    if (snapshot.matches({ owned: "ready" }) || snapshot.matches("adopted")) return "ready";
    if (snapshot.matches({ owned: "stopping" }) || snapshot.matches("releasingPort")) return "stopping";
    if (["probing", "adopting", "foreignServer"].some((state) => snapshot.matches(state as "probing")) || snapshot.matches({ owned: "starting" })) {
      return "starting";
    }
    return "idle";
  };
  const current = phase();
  const adopted = snapshot.matches("adopted") || snapshot.matches("adopting");
  return { phase: current, model: current === "idle" ? undefined : target, pid: adopted ? undefined : pid, adopted };
}

export interface LocalSupervisorOptions extends Partial<Omit<LocalServerEffectsOptions, "askAboutForeignServer">> {
  askAboutForeignServer: LocalServerEffectsOptions["askAboutForeignServer"];
  /** Statechart inspection (src/inspect/inspection.ts), when PI_LLAMA_INSPECT is set. */
  inspect?: Observer<InspectionEvent>;
}

export function createLocalSupervisor(options: LocalSupervisorOptions) {
  const machine = localServerMachine.provide({
    actors: localServerActors({ ...defaultEffectsOptions, ...options }),
  });
  const actor = createActor(machine, { inspect: options.inspect });
  actor.start();

  const ended = () => actor.getSnapshot().status !== "active";
  const send = (event: Parameters<typeof actor.send>[0]) => {
    if (!ended()) actor.send(event);
  };

  return {
    select(model: LaunchSpec): void {
      send({ type: "SELECT", model });
    },
    deselect(): void {
      send({ type: "DESELECT" });
    },
    /** pi quits: stop what we own (spec §5.6.2) and resolve when it is gone. */
    async quit(): Promise<void> {
      send({ type: "QUIT" });
      await waitForEnd();
    },
    /** /reload, /new, /resume, /fork: leave the server running for the next instance. */
    detach(): void {
      send({ type: "DETACH" });
    },
    status(): LocalServerStatus {
      return describeStatus(actor.getSnapshot());
    },
    onNotice(listener: (notice: Notice) => void): () => void {
      const subs = [
        actor.on("notify", listener),
        actor.on("shutdownProgress", listener),
      ];
      return () => subs.forEach((sub) => sub.unsubscribe());
    },
    onChange(listener: (snapshot: LocalServerSnapshot) => void): () => void {
      const sub = actor.subscribe(listener);
      return () => sub.unsubscribe();
    },
    /**
     * Resolves when `model` is ready to answer; a prompt sent during start-up waits here
     * (DESIGN §5.1). Starts the model when nothing is targeted; fails at once with the
     * last failure when the last attempt for this model failed.
     */
    ensureReady(model: LaunchSpec, signal?: AbortSignal): Promise<void> {
      const initial = actor.getSnapshot();
      if (describeStatus(initial).phase === "idle" && !ended()) {
        const failure = initial.context.failure;
        if (failure?.modelId === model.id) return Promise.reject(new Error(failure.message));
        send({ type: "SELECT", model });
      }
      return settleOnSnapshot(
        actor,
        (snapshot): Verdict => {
          const status = describeStatus(snapshot);
          const { target, next, failure } = snapshot.context;
          if (status.phase === "ready" && target?.id === model.id) return "done";
          if (status.phase === "starting" && target?.id === model.id) return "wait";
          if (status.phase === "stopping" && next?.id === model.id) return "wait";
          if (failure?.modelId === model.id) return new Error(failure.message);
          if (snapshot.status !== "active") return new Error(`llamafiles: pi is shutting down; ${model.name} will not start.`);
          return new Error(
            target
              ? `llamafiles: ${model.name} is not the selected local model (${target.name} is). Select ${model.name} with /model.`
              : `llamafiles: ${model.name} is not running. Select it with /model.`,
          );
        },
        signal,
      );
    },
  };

  function waitForEnd(): Promise<void> {
    return settleOnSnapshot(actor, (snapshot) => (snapshot.status !== "active" ? "done" : "wait"));
  }
}

export type LocalSupervisor = ReturnType<typeof createLocalSupervisor>;
