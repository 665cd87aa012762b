/**
 * One model on the remote llama.cpp router (`--models-mode router`, `--models-max 1`),
 * in the local machine's vocabulary:
 *
 *   idle → probing → starting (load requested, polled) → ready → stopping (unload) → idle
 *                  ↘ ready (already loaded)   starting ↘ exited (the worker failed) → idle
 *
 * The router, not pi, owns the worker process: quitting pi never unloads (another client
 * may use it), and status always comes from the router's GET /models. No I/O here.
 */
import { assign, emit, fromPromise, setup } from "xstate";

/** What GET /models says about one model. */
export interface RouterModelState {
  /** "missing": the router does not list the id. */
  value: "unloaded" | "loading" | "loaded" | "sleeping" | "missing";
  failed: boolean;
  exitCode: number | undefined;
}

export type RouterModelEvent =
  | { type: "SELECT"; modelId: string }
  | { type: "UNLOAD"; modelId: string }
  | { type: "DESELECT" }
  | { type: "SHUTDOWN" };

export type RouterNotice = { type: "notify"; level: "info" | "success" | "warning" | "error"; message: string };

export interface RouterModelContext {
  target: string | undefined;
  /** The model to select once the unload in progress is done. */
  next: string | undefined;
  failure: { modelId: string; message: string } | undefined;
}

export const LOAD_TIMEOUT_MS = 300_000;
export const UNLOAD_TIMEOUT_MS = 30_000;

/** The text of whatever an effect actor rejected with. */
const messageOf = (error: unknown) => String((error as { message?: unknown })?.message ?? error);

const notProvided = (name: string) => () => {
  throw new Error(`router-model machine: actor "${name}" was not provided`);
};

export const routerModelMachine = setup({
  types: {
    context: {} as RouterModelContext,
    events: {} as RouterModelEvent,
    emitted: {} as RouterNotice,
  },
  actors: {
    readModelState: fromPromise<RouterModelState, { modelId: string }>(notProvided("readModelState")),
    requestLoad: fromPromise<void, { modelId: string }>(notProvided("requestLoad")),
    waitUntilLoaded: fromPromise<RouterModelState, { modelId: string }>(notProvided("waitUntilLoaded")),
    requestUnload: fromPromise<void, { modelId: string }>(notProvided("requestUnload")),
    waitUntilUnloaded: fromPromise<RouterModelState, { modelId: string }>(notProvided("waitUntilUnloaded")),
  },
  delays: {
    LOAD_TIMEOUT: LOAD_TIMEOUT_MS,
    UNLOAD_TIMEOUT: UNLOAD_TIMEOUT_MS,
  },
  guards: {
    "selects another model": ({ context, event }) => event.type === "SELECT" && event.modelId !== context.target,
    "is loaded": (_, state: RouterModelState) => state.value === "loaded" || state.value === "sleeping",
    "is loading": (_, state: RouterModelState) => state.value === "loading",
    "is unknown to the router": (_, state: RouterModelState) => state.value === "missing",
    "worker failed": (_, state: RouterModelState) => state.failed,
    "was already running": (_, error: unknown) => /already loaded|already running/.test(messageOf(error)),
    "was not running": (_, error: unknown) => /it is not loaded|not running/.test(messageOf(error)),
    "a next model is queued": ({ context }) => context.next !== undefined,
  },
  actions: {
    "target the model": assign(({ event }) =>
      event.type === "SELECT" || event.type === "UNLOAD" ? { target: event.modelId, failure: undefined, next: undefined } : {},
    ),
    "promote the queued model": assign(({ context }) => ({ target: context.next, next: undefined })),
    "forget the target": assign({ target: undefined, next: undefined }),
    fail: assign(({ context }, params: { message: string }) => ({
      failure: { modelId: context.target ?? "", message: params.message },
    })),
    /** After an effect actor rejected: its message is the failure (router errors are written for people). */
    "record the effect's error": assign(({ context, event }) => ({
      failure: { modelId: context.target ?? "", message: messageOf((event as unknown as { error: unknown }).error) },
    })),
    "announce the failure": emit(({ context }) => ({
      type: "notify" as const,
      level: "error" as const,
      message: context.failure?.message ?? "",
    })),
    announce: emit((_, params: { level: "info" | "success" | "warning" | "error"; message: string }) => ({
      type: "notify" as const,
      ...params,
    })),
  },
}).createMachine({
  id: "routerModel",
  initial: "idle",
  context: { target: undefined, next: undefined, failure: undefined },
  on: {
    SHUTDOWN: ".done",
    UNLOAD: { target: ".stopping", reenter: true, actions: "target the model" },
  },
  states: {
    idle: {
      entry: "forget the target",
      on: {
        SELECT: { target: "probing", actions: "target the model" },
      },
    },

    probing: {
      invoke: {
        id: "readModelState",
        src: "readModelState",
        input: ({ context }) => ({ modelId: context.target! }),
        onDone: [
          {
            guard: { type: "is loaded", params: ({ event }) => event.output },
            target: "ready",
            actions: {
              type: "announce",
              params: ({ context }) => ({ level: "info", message: `ai-server: ${context.target} is loaded` }),
            },
          },
          { guard: { type: "is loading", params: ({ event }) => event.output }, target: "starting.waiting" },
          {
            guard: { type: "is unknown to the router", params: ({ event }) => event.output },
            target: "idle",
            actions: [
              {
                type: "fail",
                params: ({ context }) => ({
                  message: `ai-server: the router does not list ${context.target} (any more). Run /ai-server-refresh, then pick a model from /ai-server-status.`,
                }),
              },
              "announce the failure",
            ],
          },
          { target: "starting" },
        ],
        onError: {
          target: "idle",
          actions: ["record the effect's error", "announce the failure"],
        },
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", reenter: true, actions: "target the model" },
        DESELECT: "idle",
      },
    },

    starting: {
      initial: "requesting",
      after: {
        LOAD_TIMEOUT: {
          // A load can hang for ever (a preset without a model path): give up and free the router.
          target: "stopping",
          actions: [
            {
              type: "fail",
              params: ({ context }) => ({
                message: `ai-server: ${context.target} did not finish loading within ${LOAD_TIMEOUT_MS / 1000} s; pi asked the router to unload it. Check its preset (a section without "model =" never loads) and the router's log (journalctl --user -u llama-server).`,
              }),
            },
            "announce the failure",
          ],
        },
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", actions: "target the model" },
        DESELECT: "idle",
      },
      states: {
        requesting: {
          invoke: {
            id: "requestLoad",
            src: "requestLoad",
            input: ({ context }) => ({ modelId: context.target! }),
            onDone: "waiting",
            onError: [
              { guard: { type: "was already running", params: ({ event }: { event: { error: unknown } }) => event.error }, target: "waiting" },
              {
                target: "#routerModel.idle",
                actions: ["record the effect's error", "announce the failure"],
              },
            ],
          },
        },
        waiting: {
          invoke: {
            id: "waitUntilLoaded",
            src: "waitUntilLoaded",
            input: ({ context }) => ({ modelId: context.target! }),
            onDone: [
              {
                guard: { type: "is loaded", params: ({ event }) => event.output },
                target: "#routerModel.ready",
                actions: {
                  type: "announce",
                  params: ({ context }) => ({ level: "success", message: `ai-server: ${context.target} is loaded` }),
                },
              },
              {
                target: "#routerModel.exited",
                actions: [
                  {
                    type: "fail",
                    params: ({ context, event }) => ({
                      message: `ai-server: the router's worker for ${context.target} exited while loading (exit code ${event.output.exitCode ?? "unknown"}). Check the model path and its preset, and the router's log (journalctl --user -u llama-server).`,
                    }),
                  },
                  "announce the failure",
                ],
              },
            ],
            onError: {
              target: "#routerModel.idle",
              actions: ["record the effect's error", "announce the failure"],
            },
          },
        },
      },
    },

    ready: {
      on: {
        SELECT: { guard: "selects another model", target: "probing", actions: "target the model" },
        DESELECT: "idle",
      },
    },

    stopping: {
      initial: "requesting",
      after: {
        UNLOAD_TIMEOUT: {
          target: "idle",
          actions: {
            type: "announce",
            params: ({ context }) => ({
              level: "warning",
              message: `ai-server: ${context.target} was still not unloaded after ${UNLOAD_TIMEOUT_MS / 1000} s; see /ai-server-status.`,
            }),
          },
        },
      },
      on: {
        // A selection during an unload runs once the unload is done.
        SELECT: { actions: assign(({ event }) => ({ next: event.modelId })) },
        DESELECT: { actions: assign({ next: undefined }) },
      },
      states: {
        requesting: {
          invoke: {
            id: "requestUnload",
            src: "requestUnload",
            input: ({ context }) => ({ modelId: context.target! }),
            onDone: "waiting",
            onError: [
              {
                guard: { type: "was not running", params: ({ event }: { event: { error: unknown } }) => event.error },
                target: "#routerModel.unloaded",
              },
              {
                target: "#routerModel.idle",
                actions: ["record the effect's error", "announce the failure"],
              },
            ],
          },
        },
        waiting: {
          invoke: {
            id: "waitUntilUnloaded",
            src: "waitUntilUnloaded",
            input: ({ context }) => ({ modelId: context.target! }),
            onDone: "#routerModel.unloaded",
            onError: {
              target: "#routerModel.idle",
              actions: ["record the effect's error", "announce the failure"],
            },
          },
        },
      },
    },

    /** The unload is done: tell, then go on with a queued selection if any. */
    unloaded: {
      entry: {
        type: "announce",
        params: ({ context }) => ({ level: "info", message: `ai-server: ${context.target} is unloaded` }),
      },
      always: [
        { guard: "a next model is queued", target: "probing", actions: "promote the queued model" },
        { target: "idle" },
      ],
    },

    /** The router's worker exited while loading (status unloaded + failed). */
    exited: {
      always: "idle",
    },

    done: { type: "final" },
  },
});
