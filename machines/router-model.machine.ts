/**
 * One model on the remote llama.cpp router (`--models-mode router`, `--models-max 1`),
 * in the local machine's vocabulary:
 *
 *   idle → probing → starting (load requested, polled) → ready → stopping (unload) → idle
 *                  ↘ ready (already loaded)   starting ↘ exited (the worker failed) → idle
 *          probing ↘ unreachable       ready → rechecking (after a failed answer) → ready | idle
 *   any → restarting (the router restarts over ssh, then answers /health) → idle, everything forgotten
 *
 * The router, not pi, owns the worker process: quitting pi never unloads (another client
 * may use it), and status always comes from the router's GET /models. No I/O and no prose
 * here: effects are actors provided by src/ai-server/effects.ts; status and notices leave as
 * typed emitted events (src/ai-server/messages.ts words them). docs/architecture.md draws it.
 */
import { and, assertEvent, assign, emit, enqueueActions, fromPromise, setup } from "xstate";
import type { ServerPhase } from "./lifecycle.ts";
import type { ServerProps } from "./server-props.ts";

/** What GET /models says about one model. */
export interface RouterModelState {
  /** "missing": the router does not list the id. */
  value: "unloaded" | "loading" | "loaded" | "sleeping" | "missing";
  failed: boolean;
  exitCode: number | undefined;
  /** What the model's worker says it serves (GET /props?model=…), read once it is loaded. */
  props?: ServerProps;
  /** The router lets clients save and restore this model's slots (`--slot-save-path` in its `status.args`). */
  saves?: boolean;
}

/** How saving this session's slot on the router went, before an unload or a switch. */
export type RouterSaveOutcome =
  | { kind: "saved"; tokens: number; bytes: number }
  /** Nothing was sent since the last save or restore, or the slot was empty: nothing to keep. */
  | { kind: "unchanged" }
  | { kind: "failed"; reason: "disk-full" | "refused" | "bad-answer"; detail: string };

/** How restoring this session's slot after a load went. */
export type RouterRestoreOutcome =
  | { kind: "restored"; tokens: number }
  /** No saved conversation of this session for this model, or one saved from other arguments (another model file, layout). */
  | { kind: "none" }
  | { kind: "failed"; detail: string };

/**
 * What an effect rejects with: an error carrying a failure value whose `code` the guards
 * test (src/ai-server/router-failures.ts has the codes); anything else is unexpected.
 */
export interface EffectError {
  failure: { code: string };
}

export type RouterModelFailure =
  | { kind: "unknown-model" }
  | { kind: "load-timeout"; timeoutMs: number }
  | { kind: "worker-exited"; exitCode: number | undefined }
  /** A router request failed; `error` is what the effect rejected with. */
  | { kind: "request-failed"; error: unknown };

export type RouterNotice =
  | { kind: "loaded"; modelId: string; already: boolean }
  | { kind: "unloaded"; modelId: string }
  | { kind: "still-unloading"; modelId: string; timeoutMs: number }
  | { kind: "failed"; modelId: string; failure: RouterModelFailure }
  /** The router restarted and answers again: every model it ran is gone. */
  | { kind: "restarted" }
  | { kind: "restart-failed"; failure: RouterRestartFailure }
  /** The save before an unload or a switch did not keep this session's conversation. */
  | { kind: "slot-not-saved"; modelId: string; outcome: Extract<RouterSaveOutcome, { kind: "failed" }> }
  /** The save took longer than SAVE_TIME_LIMIT: pi went on without it. */
  | { kind: "slot-save-too-slow"; modelId: string; limitMs: number }
  /** The saved conversation could not be restored after the load (or not in RESTORE_TIME_LIMIT). */
  | { kind: "slot-not-restored"; modelId: string; detail: string };

export type RouterRestartFailure =
  | { kind: "not-healthy"; timeoutMs: number }
  /** The restart over ssh failed; `error` is what the effect rejected with. */
  | { kind: "request-failed"; error: unknown };

/** What the footer, the commands, the working indicator and waiting prompts read, in the phases both backends speak. */
export interface RouterModelStatus {
  phase: ServerPhase;
  modelId: string | undefined;
  /** The model to select once the unload in progress is done. */
  next: string | undefined;
  failure: { modelId: string; failure: RouterModelFailure } | undefined;
  /** What the loaded model's worker says it serves ({} when it says nothing); undefined until ready. */
  props: ServerProps | undefined;
  /** Conversations restored after this pi's loads so far (the footer marks the first answer after one). */
  restores: number;
  /** The last answer is the first since a conversation was restored (counted by the facade, which sees the answers). */
  restoredAnswer?: boolean;
}

export type RouterModelEmitted = { type: "status"; status: RouterModelStatus } | { type: "notice"; notice: RouterNotice };

export type RouterModelEvent =
  | { type: "SELECT"; modelId: string }
  | { type: "UNLOAD"; modelId: string }
  | { type: "DESELECT" }
  | { type: "SHUTDOWN" }
  /** An answer from the model failed: look at what the router really reports (never loads). */
  | { type: "RECHECK"; modelId: string }
  /** Restart the router's service on `host` (over ssh); every model it runs is unloaded. */
  | { type: "RESTART_ROUTER"; host: string };

export interface RouterModelContext {
  phase: ServerPhase;
  target: string | undefined;
  next: string | undefined;
  failure: { modelId: string; failure: RouterModelFailure } | undefined;
  props: ServerProps | undefined;
  /** The host whose router service a restart under way restarts. */
  restartHost: string | undefined;
  /** The router lets clients save the target's slots. */
  saves: boolean;
  /** The model being left by a switch: its slot is saved before the next model loads (and evicts it). */
  leaving: string | undefined;
  /** The unload asked for saves this session's slot first (the model was ready, and the router lets it). */
  unloadSaves: boolean;
  restores: number;
}

export const LOAD_TIMEOUT_MS = 300_000;
/** The most a save may add to an unload or a switch (over the network, to the router's disk). */
export const SAVE_TIME_LIMIT_MS = 10_000;
/** The most a restore may add to a load. */
export const RESTORE_TIME_LIMIT_MS = 60_000;
export const UNLOAD_TIMEOUT_MS = 30_000;
/** How long a restarted router may take to answer /health. */
export const RESTART_HEALTH_TIMEOUT_MS = 120_000;

const codeOf = (error: unknown) => (error as Partial<EffectError> | undefined)?.failure?.code;

const notProvided = (name: string) => () => {
  throw new Error(`router-model machine: actor "${name}" was not provided`);
};

export const routerModelMachine = setup({
  types: {
    context: {} as RouterModelContext,
    events: {} as RouterModelEvent,
    emitted: {} as RouterModelEmitted,
  },
  actors: {
    readModelState: fromPromise<RouterModelState, { modelId: string }>(notProvided("readModelState")),
    requestLoad: fromPromise<void, { modelId: string }>(notProvided("requestLoad")),
    waitUntilLoaded: fromPromise<RouterModelState, { modelId: string }>(notProvided("waitUntilLoaded")),
    requestUnload: fromPromise<void, { modelId: string }>(notProvided("requestUnload")),
    waitUntilUnloaded: fromPromise<RouterModelState, { modelId: string }>(notProvided("waitUntilUnloaded")),
    restartRouterService: fromPromise<void, { host: string }>(notProvided("restartRouterService")),
    waitUntilHealthy: fromPromise<void>(notProvided("waitUntilHealthy")),
    /** Saves this session's slot of a loaded model on the router (autoload off: never loads it). */
    saveRouterSlot: fromPromise<RouterSaveOutcome, { modelId: string }>(notProvided("saveRouterSlot")),
    /** Restores this session's saved slot into a model this pi just loaded. */
    restoreRouterSlot: fromPromise<RouterRestoreOutcome, { modelId: string }>(notProvided("restoreRouterSlot")),
  },
  delays: {
    LOAD_TIMEOUT: LOAD_TIMEOUT_MS,
    UNLOAD_TIMEOUT: UNLOAD_TIMEOUT_MS,
    RESTART_HEALTH_TIMEOUT: RESTART_HEALTH_TIMEOUT_MS,
    SAVE_TIME_LIMIT: SAVE_TIME_LIMIT_MS,
    RESTORE_TIME_LIMIT: RESTORE_TIME_LIMIT_MS,
  },
  guards: {
    "selects another model": ({ context, event }) => event.type === "SELECT" && event.modelId !== context.target,
    "rechecks the target": ({ context, event }) => event.type === "RECHECK" && event.modelId === context.target,
    "is loaded": (_, state: RouterModelState) => state.value === "loaded" || state.value === "sleeping",
    "is loading": (_, state: RouterModelState) => state.value === "loading",
    "is unknown to the router": (_, state: RouterModelState) => state.value === "missing",
    "was already loaded": (_, error: unknown) => codeOf(error) === "already-loaded",
    "was not loaded": (_, error: unknown) => codeOf(error) === "not-loaded",
    "a next model is queued": ({ context }) => context.next !== undefined,
    "the router keeps the loaded model's slots": (_, state: RouterModelState) =>
      (state.value === "loaded" || state.value === "sleeping") && state.saves === true,
    "the router keeps the target's slots": ({ context }) => context.saves,
    "the unload saves the slot first": ({ context }) => context.unloadSaves,
  },
  actions: {
    "enter phase": assign((_, phase: ServerPhase) => ({ phase })),
    "publish status": emit(({ context }) => ({
      type: "status" as const,
      status: {
        phase: context.phase,
        modelId: context.phase === "idle" || context.phase === "ended" ? undefined : context.target,
        next: context.next,
        failure: context.failure,
        props: context.phase === "ready" ? context.props : undefined,
        restores: context.restores,
      },
    })),
    "target the model": assign(({ event }) =>
      event.type === "SELECT" || event.type === "UNLOAD" ? { target: event.modelId, failure: undefined, next: undefined } : {},
    ),
    "queue the selected model": assign(({ event }) => (event.type === "SELECT" ? { next: event.modelId } : {})),
    "drop the queued model": assign({ next: undefined }),
    "remember the host to restart": assign(({ event }) => {
      assertEvent(event, "RESTART_ROUTER");
      return { restartHost: event.host };
    }),
    "promote the queued model": assign(({ context }) => ({ target: context.next, next: undefined })),
    "forget the target": assign({ target: undefined, next: undefined, props: undefined }),
    "remember what the worker serves": assign((_, state: RouterModelState) => ({ props: state.props ?? {}, saves: state.saves === true })),
    "remember the model left": assign(({ context }) => ({ leaving: context.target })),
    "forget the model left": assign({ leaving: undefined }),
    /** Before the target changes: an unload of the ready model the router keeps slots of saves them first. */
    "remember whether the unload saves first": assign(({ context, event }) => ({
      unloadSaves: event.type === "UNLOAD" && context.phase === "ready" && context.target === event.modelId && context.saves,
    })),
    "count the restore": assign(({ context }, outcome: RouterRestoreOutcome) => ({
      restores: context.restores + (outcome.kind === "restored" ? 1 : 0),
    })),
    "tell how the save went": enqueueActions(({ enqueue }, said: { modelId: string; outcome: RouterSaveOutcome }) => {
      if (said.outcome.kind === "failed")
        enqueue.emit({ type: "notice", notice: { kind: "slot-not-saved", modelId: said.modelId, outcome: said.outcome } });
    }),
    "tell how the restore went": enqueueActions(({ enqueue }, said: { modelId: string; outcome: RouterRestoreOutcome }) => {
      if (said.outcome.kind === "failed")
        enqueue.emit({ type: "notice", notice: { kind: "slot-not-restored", modelId: said.modelId, detail: said.outcome.detail } });
    }),
    /** Records why the target failed and tells the user. */
    fail: enqueueActions(({ context, enqueue }, failure: RouterModelFailure) => {
      const failed = { modelId: context.target ?? "", failure };
      enqueue.assign({ failure: failed });
      enqueue.emit({ type: "notice", notice: { kind: "failed", ...failed } });
    }),
    tell: emit((_, notice: RouterNotice) => ({ type: "notice" as const, notice })),
    "tell the restart failed": emit((_, failure: RouterRestartFailure) => ({
      type: "notice" as const,
      notice: { kind: "restart-failed" as const, failure },
    })),
  },
}).createMachine({
  id: "routerModel",
  initial: "idle",
  context: {
    phase: "idle",
    target: undefined,
    next: undefined,
    failure: undefined,
    props: undefined,
    restartHost: undefined,
    saves: false,
    leaving: undefined,
    unloadSaves: false,
    restores: 0,
  },
  on: {
    SHUTDOWN: ".done",
    UNLOAD: { target: ".stopping", reenter: true, actions: ["remember whether the unload saves first", "target the model"] },
    RESTART_ROUTER: { target: ".restarting", reenter: true, actions: "remember the host to restart" },
  },
  states: {
    idle: {
      entry: ["forget the target", { type: "enter phase", params: "idle" }, "publish status"],
      on: {
        SELECT: { target: "probing", actions: "target the model" },
      },
    },

    probing: {
      entry: [{ type: "enter phase", params: "probing" }, "publish status"],
      invoke: {
        id: "readModelState",
        src: "readModelState",
        input: ({ context }) => ({ modelId: context.target! }),
        onDone: [
          {
            guard: { type: "is loaded", params: ({ event }) => event.output },
            target: "ready",
            actions: [
              { type: "remember what the worker serves", params: ({ event }) => event.output },
              { type: "tell", params: ({ context }) => ({ kind: "loaded", modelId: context.target!, already: true }) },
            ],
          },
          { guard: { type: "is loading", params: ({ event }) => event.output }, target: "starting.waiting" },
          {
            guard: { type: "is unknown to the router", params: ({ event }) => event.output },
            target: "idle",
            actions: { type: "fail", params: { kind: "unknown-model" } },
          },
          { target: "starting" },
        ],
        onError: {
          target: "unreachable",
          actions: { type: "fail", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
        },
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", reenter: true, actions: "target the model" },
        DESELECT: "idle",
      },
    },

    /** After a failed answer: what the router reports now, read only (a model another client evicted is not loaded again). */
    rechecking: {
      entry: [{ type: "enter phase", params: "probing" }, "publish status"],
      invoke: {
        id: "readModelState",
        src: "readModelState",
        input: ({ context }) => ({ modelId: context.target! }),
        onDone: [
          {
            guard: { type: "is loaded", params: ({ event }) => event.output },
            target: "ready",
            actions: { type: "remember what the worker serves", params: ({ event }) => event.output },
          },
          { target: "idle" },
        ],
        onError: {
          target: "unreachable",
          actions: { type: "fail", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
        },
      },
      on: {
        SELECT: { target: "probing", actions: "target the model" },
        DESELECT: "idle",
      },
    },

    /** The router (or the proxy in front of it) did not answer: the next selection or prompt looks again. */
    unreachable: {
      entry: [{ type: "enter phase", params: "unreachable" }, "publish status"],
      on: {
        SELECT: { target: "probing", actions: "target the model" },
        DESELECT: "idle",
      },
    },

    starting: {
      initial: "requesting",
      entry: [{ type: "enter phase", params: "starting" }, "publish status"],
      after: {
        LOAD_TIMEOUT: {
          // A load can hang for ever (a preset without a model path): give up and free the router.
          target: "stopping",
          actions: { type: "fail", params: { kind: "load-timeout", timeoutMs: LOAD_TIMEOUT_MS } },
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
              {
                guard: { type: "was already loaded", params: ({ event }: { event: { error: unknown } }) => event.error },
                target: "waiting",
              },
              {
                target: "#routerModel.idle",
                actions: { type: "fail", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
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
                // This pi loaded it: this session's saved conversation goes back into its slot first.
                guard: { type: "the router keeps the loaded model's slots", params: ({ event }) => event.output },
                target: "#routerModel.restoring",
                actions: [
                  { type: "remember what the worker serves", params: ({ event }) => event.output },
                  { type: "tell", params: ({ context }) => ({ kind: "loaded", modelId: context.target!, already: false }) },
                ],
              },
              {
                guard: { type: "is loaded", params: ({ event }) => event.output },
                target: "#routerModel.ready",
                actions: [
                  { type: "remember what the worker serves", params: ({ event }) => event.output },
                  { type: "tell", params: ({ context }) => ({ kind: "loaded", modelId: context.target!, already: false }) },
                ],
              },
              {
                target: "#routerModel.exited",
                actions: { type: "fail", params: ({ event }) => ({ kind: "worker-exited", exitCode: event.output.exitCode }) },
              },
            ],
            onError: {
              target: "#routerModel.idle",
              actions: { type: "fail", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
            },
          },
        },
      },
    },

    /** Loaded by this pi, not yet said ready: this session's saved conversation goes back into its slot (prompts wait). */
    restoring: {
      invoke: {
        id: "restoreRouterSlot",
        src: "restoreRouterSlot",
        input: ({ context }) => ({ modelId: context.target! }),
        onDone: {
          target: "ready",
          actions: [
            { type: "count the restore", params: ({ event }) => event.output },
            { type: "tell how the restore went", params: ({ context, event }) => ({ modelId: context.target!, outcome: event.output }) },
          ],
        },
        onError: {
          target: "ready",
          actions: {
            type: "tell how the restore went",
            params: ({ context, event }) => ({ modelId: context.target!, outcome: { kind: "failed", detail: String(event.error) } }),
          },
        },
      },
      after: {
        RESTORE_TIME_LIMIT: {
          target: "ready",
          actions: {
            type: "tell",
            params: ({ context }) => ({
              kind: "slot-not-restored",
              modelId: context.target!,
              detail: `it took longer than ${RESTORE_TIME_LIMIT_MS / 1000} s`,
            }),
          },
        },
      },
      on: {
        SELECT: { guard: "selects another model", target: "probing", actions: "target the model" },
        DESELECT: "idle",
      },
    },

    ready: {
      entry: [{ type: "enter phase", params: "ready" }, "publish status"],
      on: {
        SELECT: [
          // The next model's load evicts this one (--models-max 1): its slot is saved first.
          {
            guard: and(["selects another model", "the router keeps the target's slots"]),
            target: "leaving",
            actions: ["remember the model left", "target the model"],
          },
          { guard: "selects another model", target: "probing", actions: "target the model" },
        ],
        DESELECT: "idle",
        RECHECK: { guard: "rechecks the target", target: "rechecking" },
      },
    },

    /** A switch away from a model whose slots the router keeps: this session's slot is saved, then the next model is checked. */
    leaving: {
      entry: [{ type: "enter phase", params: "probing" }, "publish status"],
      invoke: {
        id: "saveRouterSlot",
        src: "saveRouterSlot",
        input: ({ context }) => ({ modelId: context.leaving! }),
        onDone: {
          target: "probing",
          actions: [
            { type: "tell how the save went", params: ({ context, event }) => ({ modelId: context.leaving!, outcome: event.output }) },
            "forget the model left",
          ],
        },
        onError: {
          target: "probing",
          actions: [
            {
              type: "tell how the save went",
              params: ({ context, event }) => ({
                modelId: context.leaving!,
                outcome: { kind: "failed", reason: "bad-answer", detail: String(event.error) },
              }),
            },
            "forget the model left",
          ],
        },
      },
      after: {
        SAVE_TIME_LIMIT: {
          target: "probing",
          actions: [
            {
              type: "tell",
              params: ({ context }) => ({ kind: "slot-save-too-slow", modelId: context.leaving!, limitMs: SAVE_TIME_LIMIT_MS }),
            },
            "forget the model left",
          ],
        },
      },
      on: {
        // Only what comes next changes: the save of the model left goes on.
        SELECT: { actions: ["target the model", "publish status"] },
        DESELECT: { target: "idle", actions: "forget the model left" },
      },
    },

    stopping: {
      initial: "deciding",
      entry: [{ type: "enter phase", params: "stopping" }, "publish status"],
      after: {
        UNLOAD_TIMEOUT: {
          target: "idle",
          actions: {
            type: "tell",
            params: ({ context }) => ({ kind: "still-unloading", modelId: context.target!, timeoutMs: UNLOAD_TIMEOUT_MS }),
          },
        },
      },
      on: {
        // A selection during an unload runs once the unload is done.
        SELECT: { actions: ["queue the selected model", "publish status"] },
        DESELECT: { actions: ["drop the queued model", "publish status"] },
      },
      states: {
        deciding: {
          always: [{ guard: "the unload saves the slot first", target: "saving" }, { target: "requesting" }],
        },
        /** The unload of a ready model whose slots the router keeps: this session's slot is saved first. */
        saving: {
          invoke: {
            id: "saveRouterSlot",
            src: "saveRouterSlot",
            input: ({ context }) => ({ modelId: context.target! }),
            onDone: {
              target: "requesting",
              actions: {
                type: "tell how the save went",
                params: ({ context, event }) => ({ modelId: context.target!, outcome: event.output }),
              },
            },
            onError: {
              target: "requesting",
              actions: {
                type: "tell how the save went",
                params: ({ context, event }) => ({
                  modelId: context.target!,
                  outcome: { kind: "failed", reason: "bad-answer", detail: String(event.error) },
                }),
              },
            },
          },
          after: {
            SAVE_TIME_LIMIT: {
              target: "requesting",
              actions: {
                type: "tell",
                params: ({ context }) => ({ kind: "slot-save-too-slow", modelId: context.target!, limitMs: SAVE_TIME_LIMIT_MS }),
              },
            },
          },
        },
        requesting: {
          invoke: {
            id: "requestUnload",
            src: "requestUnload",
            input: ({ context }) => ({ modelId: context.target! }),
            onDone: "waiting",
            onError: [
              {
                guard: { type: "was not loaded", params: ({ event }: { event: { error: unknown } }) => event.error },
                target: "#routerModel.unloaded",
              },
              {
                target: "#routerModel.idle",
                actions: { type: "fail", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
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
              actions: { type: "fail", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
            },
          },
        },
      },
    },

    /** The unload is done: tell, then go on with a queued selection if any. */
    unloaded: {
      entry: { type: "tell", params: ({ context }) => ({ kind: "unloaded", modelId: context.target! }) },
      always: [{ guard: "a next model is queued", target: "probing", actions: "promote the queued model" }, { target: "idle" }],
    },

    /**
     * The router's service restarts: every model it ran is gone, so once it answers again (or
     * not in time) pi forgets what it knew. The footer says the model pi had is unloading.
     */
    restarting: {
      initial: "requesting",
      entry: [{ type: "enter phase", params: "stopping" }, "publish status"],
      on: {
        // A selection during a restart runs once the router answers again.
        SELECT: { actions: ["queue the selected model", "publish status"] },
        DESELECT: { actions: ["drop the queued model", "publish status"] },
        // The restart unloads every model, this one too; like any unload, it drops a queued selection.
        UNLOAD: { actions: ["drop the queued model", "publish status"] },
      },
      states: {
        requesting: {
          invoke: {
            id: "restartRouterService",
            src: "restartRouterService",
            input: ({ context }) => ({ host: context.restartHost! }),
            onDone: "waiting",
            onError: {
              target: "#routerModel.afterRestart",
              actions: { type: "tell the restart failed", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
            },
          },
        },
        waiting: {
          after: {
            RESTART_HEALTH_TIMEOUT: {
              target: "#routerModel.afterRestart",
              actions: { type: "tell the restart failed", params: { kind: "not-healthy", timeoutMs: RESTART_HEALTH_TIMEOUT_MS } },
            },
          },
          invoke: {
            id: "waitUntilHealthy",
            src: "waitUntilHealthy",
            onDone: { target: "#routerModel.afterRestart", actions: { type: "tell", params: { kind: "restarted" } } },
            onError: {
              target: "#routerModel.afterRestart",
              actions: { type: "tell the restart failed", params: ({ event }) => ({ kind: "request-failed", error: event.error }) },
            },
          },
        },
      },
    },

    /** A restart is over, whatever its outcome: nothing is known loaded; go on with a queued selection if any. */
    afterRestart: {
      always: [{ guard: "a next model is queued", target: "probing", actions: "promote the queued model" }, { target: "idle" }],
    },

    /** The router's worker exited while loading (status unloaded + failed). */
    exited: {
      always: "idle",
    },

    done: { type: "final", entry: [{ type: "enter phase", params: "ended" }, "publish status"] },
  },
});
