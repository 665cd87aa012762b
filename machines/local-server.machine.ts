/**
 * The lifecycle of the one local llama.cpp / llamafile server a pi session uses.
 *
 *   idle → probing → adopting | starting → ready → stopping → exited
 *
 * A server pi starts lives inside `owned`: the `serverProcess` actor invoked there
 * holds the OS process, so leaving `owned` by any path ends the process, except
 * `detaching`, which first tells the actor to let go (reload/new/resume/fork keep
 * the model warm for the next extension instance).
 *
 * No I/O and no prose here: every effect is an actor provided by `src/llamafiles/effects.ts`;
 * what happened leaves the machine as typed emitted events (`status` on entering each
 * state, `notice` for what the user should hear of), which src/llamafiles/messages.ts puts
 * into words. docs/architecture.md draws this chart.
 */
import { assign, emit, enqueueActions, fromCallback, fromPromise, sendTo, setup } from "xstate";

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
}

/** What answers on a model's port before we do anything. */
export type PortProbe =
  | { kind: "free" }
  /** A process pi started earlier (ownership record verified: pid, start time, port). */
  | { kind: "ours"; pid: number; servesId: string; ready: boolean }
  /** Something pi did not start answers HTTP on the port. */
  | { kind: "occupied" };

/** The ids a server advertises on GET /v1/models once it serves. */
export interface ServerIdentity {
  ids: string[];
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
  | { code: "cwd-missing"; cwd: string }
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
  | { kind: "exited-after-ready"; exit: ProcessExit };

/** Something the user should hear of. */
export type LocalNotice =
  | { kind: "reattached"; model: LaunchSpec; pid: number }
  | { kind: "adopted"; model: LaunchSpec }
  | { kind: "ready"; model: LaunchSpec }
  | { kind: "advertises-another-id"; model: LaunchSpec; advertised: string[] }
  | { kind: "failed"; model: LaunchSpec; failure: LocalFailure }
  /** While pi quits (the TUI is gone by then): stderr lines. */
  | { kind: "stopping-on-quit"; model: LaunchSpec; pid: number | undefined }
  | { kind: "stopped-on-quit"; model: LaunchSpec; forced: boolean; graceMs: number };

export type LocalPhase = "idle" | "starting" | "ready" | "stopping" | "ended";

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
  /** The last failure, kept until the next selection. */
  failure: { model: LaunchSpec; failure: LocalFailure } | undefined;
}

export type LocalServerEmitted = { type: "status"; status: LocalServerStatus } | { type: "notice"; notice: LocalNotice };

export type LocalServerEvent =
  | { type: "SELECT"; model: LaunchSpec }
  | { type: "DESELECT" }
  | { type: "QUIT" }
  | { type: "DETACH" }
  | { type: "PROCESS_STARTED"; pid: number }
  | ({ type: "PROCESS_EXITED" } & ProcessExit)
  | { type: "SERVER_LOST" };

/** Commands the `serverProcess` actor accepts. */
export type ProcessCommand = { type: "TERM" } | { type: "KILL" } | { type: "RELEASE" };

export interface LocalServerContext {
  phase: LocalPhase;
  /** The model being served or brought up. */
  target: LaunchSpec | undefined;
  /** The model to start once the process we own has stopped. */
  next: LaunchSpec | undefined;
  /** pid of the process we own (spawned now or re-attached). */
  pid: number | undefined;
  /** Set when we re-attach to a process pi started before a reload. */
  attachPid: number | undefined;
  adopted: boolean;
  quitting: boolean;
  /** The stop needed SIGKILL after the grace period. */
  forced: boolean;
  failure: { model: LaunchSpec; failure: LocalFailure } | undefined;
  /** Ids a foreign server on our port advertises. */
  advertised: string[];
}

export const STARTUP_TIMEOUT_MS = 120_000;
export const KILL_GRACE_MS = 5_000;

const notProvided = (name: string) => () => {
  throw new Error(`local-server machine: actor "${name}" was not provided`);
};

const statusOf = (context: LocalServerContext): LocalServerStatus => ({
  phase: context.phase,
  model: context.phase === "idle" || context.phase === "ended" ? undefined : context.target,
  next: context.next,
  pid: context.adopted ? undefined : context.pid,
  adopted: context.adopted,
  failure: context.failure,
});

export const localServerMachine = setup({
  types: {
    context: {} as LocalServerContext,
    events: {} as LocalServerEvent,
    emitted: {} as LocalServerEmitted,
  },
  actors: {
    probePort: fromPromise<PortProbe, { model: LaunchSpec }>(notProvided("probePort")),
    identifyServer: fromPromise<ServerIdentity, { model: LaunchSpec }>(notProvided("identifyServer")),
    serverProcess: fromCallback<ProcessCommand, { model: LaunchSpec; attachPid: number | undefined }>(notProvided("serverProcess")),
    waitForReady: fromPromise<ServerIdentity, { model: LaunchSpec }>(notProvided("waitForReady")),
    watchAdoptedServer: fromCallback<ProcessCommand, { model: LaunchSpec }>(notProvided("watchAdoptedServer")),
    askAboutForeignServer: fromPromise<boolean, { model: LaunchSpec; advertised: string[] }>(notProvided("askAboutForeignServer")),
    waitPortFree: fromPromise<void, { port: number }>(notProvided("waitPortFree")),
  },
  delays: {
    STARTUP_TIMEOUT: STARTUP_TIMEOUT_MS,
    KILL_GRACE: KILL_GRACE_MS,
  },
  guards: {
    "selects another model": ({ context, event }) => event.type === "SELECT" && event.model.id !== context.target?.id,
    "probe found our ready server": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" && probe.ready && probe.servesId === context.target?.id,
    "probe found our loading server": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" && !probe.ready && probe.servesId === context.target?.id,
    "probe found our server of another model": (_, probe: PortProbe) => probe.kind === "ours",
    "probe found the port free": (_, probe: PortProbe) => probe.kind === "free",
    "server advertises the selected id": ({ context }, identity: ServerIdentity) => identity.ids.includes(context.target?.id ?? ""),
    "a next model is queued": ({ context }) => context.next !== undefined,
    "pi is quitting": ({ context }) => context.quitting,
  },
  actions: {
    "enter phase": assign((_, params: { phase: LocalPhase; adopted?: boolean }) => ({
      phase: params.phase,
      adopted: params.adopted ?? false,
    })),
    "publish status": emit(({ context }) => ({ type: "status" as const, status: statusOf(context) })),
    "target the selected model": assign(({ event }) => (event.type === "SELECT" ? { target: event.model, failure: undefined } : {})),
    "queue the selected model": assign(({ event }) => (event.type === "SELECT" ? { next: event.model } : {})),
    "drop the queued model": assign({ next: undefined }),
    "queue the target to start after the stop": assign(({ context }) => ({ next: context.target })),
    "promote the queued model": assign(({ context }) => ({
      target: context.next,
      next: undefined,
      pid: undefined,
      attachPid: undefined,
      forced: false,
    })),
    "forget the target": assign({ target: undefined, pid: undefined, attachPid: undefined, forced: false }),
    "remember to quit": assign({ quitting: true }),
    "remember the attached pid": assign((_, probe: PortProbe) => (probe.kind === "ours" ? { attachPid: probe.pid, pid: probe.pid } : {})),
    "remember the pid": assign(({ event }) => (event.type === "PROCESS_STARTED" ? { pid: event.pid } : {})),
    "remember what the foreign server advertises": assign((_, identity: ServerIdentity) => ({ advertised: identity.ids })),
    "send SIGTERM": sendTo("serverProcess", { type: "TERM" } satisfies ProcessCommand),
    "send SIGKILL": sendTo("serverProcess", { type: "KILL" } satisfies ProcessCommand),
    "let the process run on": sendTo("serverProcess", { type: "RELEASE" } satisfies ProcessCommand),
    "note the forced stop": assign({ forced: true }),
    /** Records why the target failed and tells the user. */
    fail: enqueueActions(({ context, enqueue }, failure: LocalFailure) => {
      const failed = { model: context.target!, failure };
      enqueue.assign({ failure: failed });
      enqueue.emit({ type: "notice", notice: { kind: "failed", ...failed } });
    }),
    tell: emit((_, notice: LocalNotice) => ({ type: "notice" as const, notice })),
    "tell that the target is ready": emit(({ context }) => ({
      type: "notice" as const,
      notice: { kind: "ready" as const, model: context.target! },
    })),
    "tell that the server stops": emit(({ context }) => ({
      type: "notice" as const,
      notice: { kind: "stopping-on-quit" as const, model: context.target!, pid: context.pid },
    })),
    "tell that the server stopped": emit(({ context }) => ({
      type: "notice" as const,
      notice: { kind: "stopped-on-quit" as const, model: context.target!, forced: context.forced, graceMs: KILL_GRACE_MS },
    })),
  },
}).createMachine({
  id: "localServer",
  initial: "idle",
  context: {
    phase: "idle",
    target: undefined,
    next: undefined,
    pid: undefined,
    attachPid: undefined,
    adopted: false,
    quitting: false,
    forced: false,
    failure: undefined,
    advertised: [],
  },
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
            guard: { type: "probe found our ready server", params: ({ event }) => event.output },
            target: "owned.ready",
            actions: [
              { type: "remember the attached pid", params: ({ event }) => event.output },
              {
                type: "tell",
                params: ({ context, event }) => ({
                  kind: "reattached",
                  model: context.target!,
                  pid: (event.output as { pid: number }).pid,
                }),
              },
            ],
          },
          {
            guard: { type: "probe found our loading server", params: ({ event }) => event.output },
            target: "owned.starting",
            actions: { type: "remember the attached pid", params: ({ event }) => event.output },
          },
          {
            // pi started a server for another model on this port: stop it, then start ours.
            guard: { type: "probe found our server of another model", params: ({ event }) => event.output },
            target: "owned.stopping",
            actions: [
              { type: "remember the attached pid", params: ({ event }) => event.output },
              "queue the target to start after the stop",
            ],
          },
          {
            guard: { type: "probe found the port free", params: ({ event }) => event.output },
            target: "owned.starting",
          },
          { target: "adopting" },
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
            actions: { type: "tell", params: ({ context }) => ({ kind: "adopted", model: context.target! }) },
          },
          {
            target: "foreignServer",
            actions: { type: "remember what the foreign server advertises", params: ({ event }) => event.output },
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

    foreignServer: {
      invoke: {
        id: "askAboutForeignServer",
        src: "askAboutForeignServer",
        input: ({ context }) => ({
          model: context.target!,
          advertised: context.advertised,
        }),
        // pi never kills a process it did not start, whatever the answer.
        onDone: {
          target: "idle",
          actions: { type: "fail", params: ({ context }) => ({ kind: "foreign-server", advertised: context.advertised }) },
        },
        onError: {
          target: "idle",
          actions: { type: "fail", params: ({ context }) => ({ kind: "foreign-server", advertised: context.advertised }) },
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
        input: ({ context }) => ({ model: context.target!, attachPid: context.attachPid }),
      },
      on: {
        PROCESS_STARTED: { actions: ["remember the pid", "publish status"] },
        SELECT: { guard: "selects another model", target: ".stopping", actions: "queue the selected model" },
        DESELECT: ".stopping",
        QUIT: {
          target: ".stopping",
          actions: ["remember to quit", "tell that the server stops"],
        },
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
                guard: { type: "server advertises the selected id", params: ({ event }) => event.output },
                target: "ready",
                actions: "tell that the target is ready",
              },
              {
                target: "ready",
                actions: [
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
              actions: { type: "fail", params: ({ event }) => ({ kind: "exited-before-ready", exit: exitOf(event) }) },
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
        },
        stopping: {
          entry: [{ type: "enter phase", params: { phase: "stopping" } }, "publish status", "send SIGTERM"],
          after: {
            KILL_GRACE: { actions: ["send SIGKILL", "note the forced stop"] },
          },
          on: {
            // While stopping, a selection only changes what comes next.
            SELECT: { actions: ["queue the selected model", "publish status"] },
            DESELECT: { actions: ["drop the queued model", "publish status"] },
            QUIT: { actions: ["remember to quit", "tell that the server stops"] },
            // Being torn down mid-stop: the actor's cleanup finishes the stop.
            DETACH: "#localServer.detached",
            PROCESS_EXITED: [
              { guard: "pi is quitting", target: "#localServer.stopped", actions: "tell that the server stopped" },
              { target: "#localServer.releasingPort" },
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

function exitOf(event: LocalServerEvent): ProcessExit {
  const { code, signal, spawnError, logTail } = event as Extract<LocalServerEvent, { type: "PROCESS_EXITED" }>;
  return { code, signal, spawnError, logTail };
}
