/**
 * Model-based tests of the router-model statechart: shortest paths to every (state, incoming
 * transition) pair, generated with xstate/graph from the chart, replayed against a live actor
 * whose router effects the test settles; fails naming any state or transition not exercised.
 */
import { describe, expect, test } from "vitest";
import { type ActorLogic, type AnyEventObject, createActor, fromPromise, SimulatedClock, type SnapshotFrom } from "xstate";
import { TestModel } from "xstate/graph";
import {
  LOAD_TIMEOUT_MS,
  RESTART_HEALTH_TIMEOUT_MS,
  RESTORE_TIME_LIMIT_MS,
  type RouterModelEvent,
  type RouterModelState,
  type RouterModelStatus,
  type RouterNotice,
  routerModelMachine,
  SAVE_TIME_LIMIT_MS,
  UNLOAD_TIMEOUT_MS,
} from "../../machines/router-model.machine.ts";
import { activityPhrase, footerText, modelFailureText, restartFailureText } from "../../src/ai-server/messages.ts";
import { type RouterFailureCode, RouterFailureError } from "../../src/ai-server/router-failures.ts";
import { SshFailureError } from "../../src/ai-server/ssh-admin.ts";
import { coverageRecorder, enabled, eventTypesOf, pathCoverage, serializeEvent } from "../helpers/model-testing.ts";

type RouterSnapshot = SnapshotFrom<typeof routerModelMachine>;
const EVENT_TYPES = eventTypesOf(routerModelMachine);
const settings = {
  url: "https://router.test",
  ca: { value: "/c/ca.pem", source: "AI_SERVER_CA" },
  clientCert: { value: "/c/client.pem", source: "AI_SERVER_CLIENT_CERT" },
  clientKey: { value: "/c/key.pem", source: "AI_SERVER_CLIENT_KEY" },
};

const DELAYS: Record<string, number> = {
  LOAD_TIMEOUT: LOAD_TIMEOUT_MS,
  UNLOAD_TIMEOUT: UNLOAD_TIMEOUT_MS,
  RESTART_HEALTH_TIMEOUT: RESTART_HEALTH_TIMEOUT_MS,
  SAVE_TIME_LIMIT: SAVE_TIME_LIMIT_MS,
  RESTORE_TIME_LIMIT: RESTORE_TIME_LIMIT_MS,
};
const HOST = "ai-server@router.test";
const state = (value: RouterModelState["value"], failed = false): RouterModelState => ({ value, failed, exitCode: failed ? 1 : undefined });

function outcomes(actorId: string): unknown[] {
  switch (actorId) {
    case "readModelState":
      // (A model whose preset has slot-save-path: the router lets clients save its slots.)
      return [
        state("loaded"),
        { ...state("loaded"), saves: true },
        state("sleeping"),
        state("loading"),
        state("unloaded"),
        state("missing"),
      ];
    case "waitUntilLoaded":
      // A loaded model comes with what its worker says it serves (GET /props?model=…).
      return [
        { ...state("loaded"), props: { contextSize: 1024, slots: 2 } },
        { ...state("loaded"), props: { slots: 4 }, saves: true },
        state("unloaded", true),
      ];
    case "saveRouterSlot":
      return [
        { kind: "saved", tokens: 1100, bytes: 580_000 },
        { kind: "failed", reason: "disk-full", detail: "1100 tokens, 0 bytes written" },
      ];
    case "restoreRouterSlot":
      return [
        { kind: "restored", tokens: 1100 },
        { kind: "failed", detail: "HTTP 400" },
      ];
    case "waitUntilUnloaded":
      return [state("unloaded")];
    default:
      return [undefined];
  }
}

// The effects reject with RouterFailureError; its `failure` value serializes, so xstate/graph
// keeps one path per code.
const failure = (code: RouterFailureCode, action: string) =>
  new RouterFailureError({ code, action, modelId: "tiny-a", status: 400, detail: code });
const errors: Record<string, Error[]> = {
  requestLoad: [failure("already-loaded", "load"), failure("not-found", "load")],
  requestUnload: [failure("not-loaded", "unload"), failure("router-down", "unload")],
  restartRouterService: [
    new SshFailureError({
      code: "remote-failed",
      host: HOST,
      what: "systemctl --user restart llama-server.service",
      detail: "denied",
      exitCode: 1,
    }),
  ],
};

function eventsFor(snapshot: RouterSnapshot): AnyEventObject[] {
  if (snapshot.status !== "active") return [];
  const events: AnyEventObject[] = [];
  for (const type of EVENT_TYPES) {
    if (type === "SELECT" || type === "UNLOAD" || type === "RECHECK") events.push({ type, modelId: "tiny-a" }, { type, modelId: "tiny-b" });
    else if (type === "DESELECT" || type === "SHUTDOWN") events.push({ type });
    else if (type === "RESTART_ROUTER") events.push({ type, host: HOST });
    else if (type.startsWith("xstate.done.actor.")) for (const output of outcomes(type.slice(18))) events.push({ type, output });
    else if (type.startsWith("xstate.error.actor."))
      for (const error of errors[type.slice(19)] ?? [failure("unreachable", "list models")]) events.push({ type, error });
    else if (type.startsWith("xstate.after.")) events.push({ type });
  }
  return enabled(snapshot, events);
}

const essentials = (s: RouterSnapshot) => ({
  value: s.value,
  status: s.status,
  target: s.context.target,
  next: s.context.next,
  failure: s.context.failure?.modelId,
  saves: s.context.saves,
});

const testModel = new TestModel(routerModelMachine as unknown as ActorLogic<RouterSnapshot, AnyEventObject, unknown>, {
  events: eventsFor,
  serializeEvent,
  serializeState: (s: RouterSnapshot, event: AnyEventObject | undefined, prev?: RouterSnapshot) =>
    JSON.stringify([essentials(s), event ? serializeEvent(event) : null, prev ? essentials(prev).value : null]),
});
const paths = testModel.getShortestPaths();
const coverage = coverageRecorder(routerModelMachine);

async function replay(steps: Array<{ event: AnyEventObject; state: RouterSnapshot }>) {
  const pending = new Map<string, { resolve(v: unknown): void; reject(e: unknown): void }>();
  const park = (name: string) => () =>
    new Promise<never>((resolve, reject) => pending.set(name, { resolve: resolve as (v: unknown) => void, reject }));
  const actors = Object.fromEntries(
    [
      "readModelState",
      "requestLoad",
      "waitUntilLoaded",
      "requestUnload",
      "waitUntilUnloaded",
      "restartRouterService",
      "waitUntilHealthy",
      "saveRouterSlot",
      "restoreRouterSlot",
    ].map((name) => [name, fromPromise(park(name))]),
  );
  const clock = new SimulatedClock();
  const actor = createActor(routerModelMachine.provide({ actors: actors as never }), { clock });
  let status: RouterModelStatus | undefined;
  actor.on("status", (event) => (status = event.status));
  const notices: RouterNotice[] = [];
  actor.on("notice", (event) => notices.push(event.notice));
  actor.start();
  coverage.start(actor.getSnapshot());
  for (const { event, state: expected } of steps) {
    const before = actor.getSnapshot();
    if (event.type.startsWith("xstate.done.actor.")) pending.get(event.type.slice(18))!.resolve((event as { output?: unknown }).output);
    else if (event.type.startsWith("xstate.error.actor."))
      pending.get(event.type.slice(19))!.reject((event as unknown as { error: unknown }).error);
    else if (event.type.startsWith("xstate.after.")) clock.increment(DELAYS[event.type.split(".")[2]!]!);
    else actor.send(event as RouterModelEvent);
    await new Promise((resolve) => setImmediate(resolve));
    const now = actor.getSnapshot();
    expect(essentials(now), `after ${event.type} from ${JSON.stringify(before.value)}`).toEqual(essentials(expected));
    coverage.step(before, event, now);
    // The status the chart emitted matches its state, and the footer follows the status alone.
    const footer = footerText(status!, 0, 0);
    if (now.matches("ready")) expect(footer).toBe(`${now.context.target} loaded`);
    if (now.matches("starting") || now.matches("restoring")) expect(footer).toBe(`Loading ${now.context.target}… 0s`);
    // Leaving a model (its slot saved): the next one is being checked.
    if (now.matches("leaving")) expect(footer).toBe(`Checking ${now.context.target}…`);
    if (now.matches("probing") || now.matches("rechecking")) expect(footer).toBe(`Checking ${now.context.target}…`);
    if (now.matches("unreachable")) expect(footer).toBe(`${now.context.target}: router unreachable`);
    if (now.matches("stopping")) expect(footer).toBe(`Unloading ${now.context.target}…`);
    // A restart unloads the model pi had, if any.
    if (now.matches("restarting")) expect(footer).toBe(now.context.target ? `Unloading ${now.context.target}…` : undefined);
    // The working indicator names a model whenever it names one.
    expect(activityPhrase(status, undefined) ?? "").not.toContain("undefined");
    if (now.matches("idle")) expect(footer).toBeUndefined();
    // What the worker said it serves is in the status exactly while the model is ready.
    if (now.matches("ready")) expect(status!.props).toEqual((now.context.props ?? "missing") as object);
    else expect(status?.props).toBeUndefined();
    if (now.matches("ready") && !before.matches("ready") && !before.matches("restoring") && event.type.startsWith("xstate.done.actor."))
      expect(status!.props).toEqual((event as { output?: { props?: object } }).output?.props ?? {});
    // A failure recorded for the target always reads as words about that model.
    if (now.context.failure && now.matches("idle"))
      expect(modelFailureText(now.context.failure.modelId, now.context.failure.failure, settings)).toMatch(/^ai-server: /);
    if (event.type === "xstate.error.actor.requestLoad" && (event as { error?: RouterFailureError }).error?.failure.code === "not-found") {
      expect(modelFailureText("tiny-a", now.context.failure!.failure, settings)).toBe(
        'ai-server: load tiny-a: the router does not know this model, or it is not in router mode (HTTP 404 "not-found").',
      );
    }
    // A restart that is over, whatever its outcome, says so, and leaves nothing known loaded
    // (a selection made meanwhile is looked at afresh).
    if (before.matches("restarting") && !now.matches("restarting")) {
      const told = notices.at(-1)!;
      expect(now.matches("idle") || now.matches("probing") || now.matches("done")).toBe(true);
      if (event.type === "xstate.done.actor.waitUntilHealthy") expect(told).toEqual({ kind: "restarted" });
      if (event.type.startsWith("xstate.after."))
        expect(told.kind === "restart-failed" && restartFailureText(told.failure, settings)).toBe(
          "ai-server: the router did not answer /health within 120 s after the restart.",
        );
      if (event.type === "xstate.error.actor.restartRouterService")
        expect(told.kind === "restart-failed" && restartFailureText(told.failure, settings)).toBe(
          "ai-server: systemctl --user restart llama-server.service over ssh on ai-server@router.test failed: denied",
        );
    }
  }
  actor.stop();
}

describe("router-model statechart, paths generated from its graph", () => {
  test("the generated paths pass through every state and send every event type the chart takes", () => {
    expect(pathCoverage(routerModelMachine, paths as never)).toEqual({ statesOnNoPath: [], eventTypesOnNoPath: [] });
  });
  for (const path of paths) {
    const label = path.steps.map((s) => s.event.type.replace("xstate.", "").replace(".actor", "")).join(" → ");
    test(`${JSON.stringify(path.state.value)} via ${label || "(start)"}`, () => replay(path.steps as never));
  }
  test("every state and every transition of the chart was exercised", () => {
    const { missingStates, missingTransitions, transitionCount } = coverage.missing();
    expect({ missingStates, missingTransitions }).toEqual({ missingStates: [], missingTransitions: [] });
    expect(transitionCount).toBeGreaterThan(25);
  });
});
