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
 * No I/O here: every effect is an actor provided by `src/local/`. Notifications
 * leave the machine as emitted events; the footer is derived from the state.
 */
import { assign, emit, fromCallback, fromPromise, sendTo, setup } from "xstate";

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
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: string;
  /** The last lines of the server log, for the notification. */
  logTail: string;
}

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

export type Notice =
  | { type: "notify"; level: "info" | "success" | "warning" | "error"; message: string }
  /** Lines for stderr while pi quits (the TUI is gone by then). */
  | { type: "shutdownProgress"; message: string };

export interface LocalServerContext {
  /** The model being served or brought up. */
  target: LaunchSpec | undefined;
  /** The model to start once the process we own has stopped. */
  next: LaunchSpec | undefined;
  /** pid of the process we own (spawned now or re-attached). */
  pid: number | undefined;
  /** Set when we re-attach to a process pi started before a reload. */
  attachPid: number | undefined;
  quitting: boolean;
  /** The stop needed SIGKILL after the grace period. */
  forced: boolean;
  /** Why the last attempt for a model failed; a waiting prompt fails with this. */
  failure: { modelId: string; message: string } | undefined;
  /** Ids a foreign server on our port advertises. */
  advertised: string[];
}

export const STARTUP_TIMEOUT_MS = 120_000;
export const KILL_GRACE_MS = 5_000;

const notProvided = (name: string) => () => {
  throw new Error(`local-server machine: actor "${name}" was not provided`);
};

const describeExit = (exit: ProcessExit) =>
  exit.spawnError ? `could not be started: ${exit.spawnError}` : `exited (code=${exit.code}, signal=${exit.signal})`;

const withLog = (model: LaunchSpec, logTail: string) =>
  `Log: ${model.logPath}` + (logTail.trim() ? `\nLast lines:\n${logTail.trimEnd()}` : "");

export const localServerMachine = setup({
  types: {
    context: {} as LocalServerContext,
    events: {} as LocalServerEvent,
    emitted: {} as Notice,
  },
  actors: {
    probePort: fromPromise<PortProbe, { model: LaunchSpec }>(notProvided("probePort")),
    identifyServer: fromPromise<ServerIdentity, { model: LaunchSpec }>(notProvided("identifyServer")),
    serverProcess: fromCallback<ProcessCommand, { model: LaunchSpec; attachPid: number | undefined }>(
      notProvided("serverProcess"),
    ),
    waitForReady: fromPromise<ServerIdentity, { model: LaunchSpec }>(notProvided("waitForReady")),
    watchAdoptedServer: fromCallback<ProcessCommand, { model: LaunchSpec }>(notProvided("watchAdoptedServer")),
    askAboutForeignServer: fromPromise<boolean, { model: LaunchSpec; advertised: string[] }>(
      notProvided("askAboutForeignServer"),
    ),
    waitPortFree: fromPromise<void, { port: number }>(notProvided("waitPortFree")),
  },
  delays: {
    STARTUP_TIMEOUT: STARTUP_TIMEOUT_MS,
    KILL_GRACE: KILL_GRACE_MS,
  },
  guards: {
    "selects another model": ({ context, event }) =>
      event.type === "SELECT" && event.model.id !== context.target?.id,
    "probe found our ready server": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" && probe.ready && probe.servesId === context.target?.id,
    "probe found our loading server": ({ context }, probe: PortProbe) =>
      probe.kind === "ours" && !probe.ready && probe.servesId === context.target?.id,
    "probe found our server of another model": (_, probe: PortProbe) => probe.kind === "ours",
    "probe found the port free": (_, probe: PortProbe) => probe.kind === "free",
    "server advertises the selected id": ({ context }, identity: ServerIdentity) =>
      identity.ids.includes(context.target?.id ?? ""),
    "a next model is queued": ({ context }) => context.next !== undefined,
  },
  actions: {
    "target the selected model": assign(({ event }) =>
      event.type === "SELECT" ? { target: event.model, failure: undefined } : {},
    ),
    "queue the selected model": assign(({ event }) => (event.type === "SELECT" ? { next: event.model } : {})),
    "drop the queued model": assign({ next: undefined }),
    "promote the queued model": assign(({ context }) => ({
      target: context.next,
      next: undefined,
      pid: undefined,
      attachPid: undefined,
      forced: false,
    })),
    "forget the target": assign({ target: undefined, pid: undefined, attachPid: undefined, forced: false }),
    "remember to quit": assign({ quitting: true }),
    "remember the attached pid": assign((_, probe: PortProbe) =>
      probe.kind === "ours" ? { attachPid: probe.pid, pid: probe.pid } : {},
    ),
    "remember the pid": assign(({ event }) => (event.type === "PROCESS_STARTED" ? { pid: event.pid } : {})),
    "send SIGTERM": sendTo("serverProcess", { type: "TERM" } satisfies ProcessCommand),
    "send SIGKILL": sendTo("serverProcess", { type: "KILL" } satisfies ProcessCommand),
    "let the process run on": sendTo("serverProcess", { type: "RELEASE" } satisfies ProcessCommand),
    "note the forced stop": assign({ forced: true }),
    "refuse the foreign port": assign(({ context }) => {
      const model = context.target!;
      return {
        failure: {
          modelId: model.id,
          message: `Port ${model.port} is in use by a different server (advertises ${context.advertised.join(", ") || "no model id"}); pi did not start it and will not stop it. Free the port (kill $(lsof -t -i:${model.port})) or give ${model.name} another "port" in ~/.pi/agent/models.json, then select ${model.name} again.`,
        },
      };
    }),
    "fail": assign(({ context }, params: { message: string }) => ({
      failure: { modelId: context.target?.id ?? "", message: params.message },
    })),
    "announce": emit((_, params: { level: "info" | "success" | "warning" | "error"; message: string }) => ({
      type: "notify" as const,
      ...params,
    })),
    "announce ready": emit(({ context }) => ({
      type: "notify" as const,
      level: "success" as const,
      message: `${context.target?.name} is ready`,
    })),
    "announce the failure": emit(({ context }) => ({
      type: "notify" as const,
      level: "error" as const,
      message: context.failure?.message ?? "",
    })),
    "report that the server stops": emit(({ context }) => ({
      type: "shutdownProgress" as const,
      message: `Stopping llamafile "${context.target?.name}" (pid ${context.pid ?? "?"})...`,
    })),
    "report shutdown progress": emit((_, params: { message: string }) => ({
      type: "shutdownProgress" as const,
      message: params.message,
    })),
  },
}).createMachine({
  id: "localServer",
  initial: "idle",
  context: {
    target: undefined,
    next: undefined,
    pid: undefined,
    attachPid: undefined,
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
      entry: "forget the target",
      on: {
        SELECT: { target: "probing", actions: "target the selected model" },
        QUIT: "stopped",
      },
    },

    probing: {
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
                type: "announce",
                params: ({ context, event }) => ({
                  level: "info",
                  message: `Re-attached to ${context.target!.name} on port ${context.target!.port} (pid ${event.output.kind === "ours" ? event.output.pid : "?"}, started by pi earlier)`,
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
              assign(({ context }) => ({ next: context.target })),
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
          actions: [
            { type: "fail", params: ({ event }) => ({ message: `Could not probe the port: ${String(event.error)}` }) },
            {
              type: "announce",
              params: ({ context, event }) => ({
                level: "error",
                message: `Could not probe port ${context.target!.port} for ${context.target!.name}: ${String(event.error)}`,
              }),
            },
          ],
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
            actions: {
              type: "announce",
              params: ({ context }) => ({
                level: "info",
                message: `Adopted existing ${context.target!.name} on port ${context.target!.port}`,
              }),
            },
          },
          {
            target: "foreignServer",
            actions: assign(({ event }) => ({ advertised: event.output.ids })),
          },
        ],
        onError: {
          target: "idle",
          actions: [
            {
              type: "fail",
              params: ({ context, event }) => ({
                message: `Port ${context.target!.port} is in use, but what answers there is not a llama.cpp server pi can use (${String(event.error)}). Free the port (see: lsof -i :${context.target!.port}) or give ${context.target!.name} another "port", then select it again.`,
              }),
            },
            "announce the failure",
          ],
        },
      },
      after: {
        STARTUP_TIMEOUT: {
          target: "idle",
          actions: [
            {
              type: "fail",
              params: ({ context }) => ({
                message: `A server pi did not start holds port ${context.target!.port} and was still loading after ${STARTUP_TIMEOUT_MS / 1000} s. Wait for it, or free the port (see: lsof -i :${context.target!.port}), then select ${context.target!.name} again.`,
              }),
            },
            "announce the failure",
          ],
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
        // v1 never kills a process it did not start, whatever the answer.
        onDone: { target: "idle", actions: ["refuse the foreign port", "announce the failure"] },
        onError: { target: "idle", actions: ["refuse the foreign port", "announce the failure"] },
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", actions: "target the selected model" },
        DESELECT: "idle",
        QUIT: "stopped",
      },
    },

    adopted: {
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
          actions: [
            {
              type: "fail",
              params: ({ context }) => ({
                message: `The adopted server for ${context.target!.name} on port ${context.target!.port} stopped answering. pi did not start it, so its log is wherever it was started. Select the model again to start it under pi.`,
              }),
            },
            "announce the failure",
          ],
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
        PROCESS_STARTED: { actions: "remember the pid" },
        SELECT: { guard: "selects another model", target: ".stopping", actions: "queue the selected model" },
        DESELECT: ".stopping",
        QUIT: {
          target: ".stopping",
          actions: [
            "remember to quit",
            "report that the server stops",
          ],
        },
        DETACH: ".detaching",
      },
      initial: "starting",
      states: {
        starting: {
          invoke: {
            id: "waitForReady",
            src: "waitForReady",
            input: ({ context }) => ({ model: context.target! }),
            onDone: [
              {
                guard: { type: "server advertises the selected id", params: ({ event }) => event.output },
                target: "ready",
                actions: "announce ready",
              },
              {
                target: "ready",
                actions: [
                  "announce ready",
                  {
                    type: "announce",
                    params: ({ context, event }) => ({
                      level: "warning",
                      message: `${context.target!.name} advertises ${event.output.ids.map((id) => `"${id}"`).join(", ") || "no model id"} on /v1/models, not "${context.target!.id}". Chat works, but a server started outside pi is adopted only when the ids match: add --alias ${context.target!.id} to its args (llama-server), or set "id" to what it advertises.`,
                    }),
                  },
                ],
              },
            ],
          },
          after: {
            STARTUP_TIMEOUT: {
              target: "stopping",
              actions: [
                {
                  type: "fail",
                  params: ({ context }) => ({
                    message: `${context.target!.name} did not answer on http://localhost:${context.target!.port}/v1/models within ${STARTUP_TIMEOUT_MS / 1000} s; pi stopped it. Check that its args make it listen on {{port}} (${context.target!.port}). ${withLog(context.target!, "")}`,
                  }),
                },
                "announce the failure",
              ],
            },
          },
          on: {
            PROCESS_EXITED: {
              target: "#localServer.exited",
              actions: [
                {
                  type: "fail",
                  params: ({ context, event }) => ({
                    message: `${context.target!.name} ${describeExit(event)} before it was ready. ${withLog(context.target!, event.logTail)}`,
                  }),
                },
                "announce the failure",
              ],
            },
          },
        },
        ready: {
          on: {
            PROCESS_EXITED: {
              target: "#localServer.exited",
              actions: [
                {
                  type: "fail",
                  params: ({ context, event }) => ({
                    message: `${context.target!.name} ${describeExit(event)} after it was ready; pi does not restart it (select the model again, or /reload). ${withLog(context.target!, event.logTail)}`,
                  }),
                },
                "announce the failure",
              ],
            },
          },
        },
        stopping: {
          entry: "send SIGTERM",
          after: {
            KILL_GRACE: { actions: ["send SIGKILL", "note the forced stop"] },
          },
          on: {
            // While stopping, a selection only changes what comes next.
            SELECT: { actions: "queue the selected model" },
            DESELECT: { actions: "drop the queued model" },
            QUIT: {
              actions: [
                "remember to quit",
                "report that the server stops",
              ],
            },
            // Being torn down mid-stop: the actor's cleanup finishes the stop.
            DETACH: "#localServer.detached",
            PROCESS_EXITED: [
              {
                guard: ({ context }) => context.quitting,
                target: "#localServer.stopped",
                actions: {
                  type: "report shutdown progress",
                  params: ({ context }) => ({
                    message: context.forced
                      ? `Stopped llamafile "${context.target!.name}" (forced after ${KILL_GRACE_MS / 1000}s).`
                      : `Stopped llamafile "${context.target!.name}".`,
                  }),
                },
              },
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
        onDone: [
          { guard: "a next model is queued", target: "probing", actions: "promote the queued model" },
          { target: "idle" },
        ],
        onError: [
          { guard: "a next model is queued", target: "probing", actions: "promote the queued model" },
          { target: "idle" },
        ],
      },
      on: {
        SELECT: { actions: "queue the selected model" },
        DESELECT: { actions: "drop the queued model" },
        QUIT: "stopped",
      },
    },

    stopped: { type: "final" },
    detached: { type: "final" },
  },
});
