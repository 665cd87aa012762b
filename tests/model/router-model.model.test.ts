/**
 * Model-based tests of the router-model statechart: shortest paths to every (state, incoming
 * transition) pair, generated with xstate/graph from the chart, replayed against a live actor
 * whose router effects the test settles; fails naming any state or transition not exercised.
 */
import { describe, expect, test } from "vitest";
import { createActor, fromPromise, SimulatedClock, type ActorLogic, type AnyEventObject } from "xstate";
import { TestModel } from "xstate/graph";
import { LOAD_TIMEOUT_MS, routerModelMachine, UNLOAD_TIMEOUT_MS, type RouterModelEvent, type RouterModelState } from "../../machines/router-model.machine.ts";
import { describeRouterStatus, type RouterSnapshot } from "../../src/ai-server/supervisor.ts";
import { routerFooterText } from "../../src/ai-server/status-view.ts";
import { acceptedEventTypes, coverageRecorder, serializeEvent } from "../helpers/model-testing.ts";

const DELAYS: Record<string, number> = { LOAD_TIMEOUT: LOAD_TIMEOUT_MS, UNLOAD_TIMEOUT: UNLOAD_TIMEOUT_MS };
const state = (value: RouterModelState["value"], failed = false): RouterModelState => ({ value, failed, exitCode: failed ? 1 : undefined });

function outcomes(actorId: string): unknown[] {
  switch (actorId) {
    case "readModelState":
      return [state("loaded"), state("sleeping"), state("loading"), state("unloaded"), state("missing")];
    case "waitUntilLoaded":
      return [state("loaded"), state("unloaded", true)];
    case "waitUntilUnloaded":
      return [state("unloaded")];
    default:
      return [undefined];
  }
}

// Plain objects, not Error instances: xstate/graph drops paths whose events serialize alike,
// and an Error serializes to {}.
const failure = (message: string) => ({ message });
const errors: Record<string, Array<{ message: string }>> = {
  requestLoad: [failure("ai-server: load tiny-a: already loaded."), failure("ai-server: load tiny-a failed: HTTP 404")],
  requestUnload: [failure("ai-server: unload tiny-a: it is not loaded."), failure("ai-server: the proxy … (HTTP 502)")],
};

function eventsFor(snapshot: RouterSnapshot): AnyEventObject[] {
  if (snapshot.status !== "active") return [];
  const events: AnyEventObject[] = [];
  for (const type of acceptedEventTypes(snapshot)) {
    if (type === "SELECT" || type === "UNLOAD") events.push({ type, modelId: "tiny-a" }, { type, modelId: "tiny-b" });
    else if (type === "DESELECT" || type === "SHUTDOWN") events.push({ type });
    else if (type.startsWith("xstate.done.actor.")) for (const output of outcomes(type.slice(18))) events.push({ type, output });
    else if (type.startsWith("xstate.error.actor.")) for (const error of errors[type.slice(19)] ?? [failure("ai-server: nothing answers at https://router.test")]) events.push({ type, error });
    else if (type.startsWith("xstate.after.")) events.push({ type });
  }
  return events;
}

const essentials = (s: RouterSnapshot) => ({ value: s.value, status: s.status, target: s.context.target, next: s.context.next, failure: s.context.failure?.modelId });

const testModel = new TestModel(routerModelMachine as unknown as ActorLogic<RouterSnapshot, AnyEventObject, unknown>, {
  events: eventsFor,
  serializeEvent,
  serializeState: (s: RouterSnapshot, event: AnyEventObject | undefined, prev?: RouterSnapshot) =>
    JSON.stringify([essentials(s), event ? serializeEvent(event) : null, prev ? essentials(prev).value : null]),
});
const paths = testModel.getShortestPaths();
const coverage = coverageRecorder("routerModel", "idle");

async function replay(steps: Array<{ event: AnyEventObject; state: RouterSnapshot }>) {
  const pending = new Map<string, { resolve(v: unknown): void; reject(e: unknown): void }>();
  const park = (name: string) => () => new Promise<never>((resolve, reject) => pending.set(name, { resolve: resolve as (v: unknown) => void, reject }));
  const actors = Object.fromEntries(
    ["readModelState", "requestLoad", "waitUntilLoaded", "requestUnload", "waitUntilUnloaded"].map((name) => [name, fromPromise(park(name))]),
  );
  const clock = new SimulatedClock();
  const actor = createActor(routerModelMachine.provide({ actors: actors as never }), { clock, inspect: coverage.inspect });
  actor.start();
  for (const { event, state: expected } of steps) {
    const before = actor.getSnapshot();
    if (event.type.startsWith("xstate.done.actor.")) pending.get(event.type.slice(18))!.resolve((event as { output?: unknown }).output);
    else if (event.type.startsWith("xstate.error.actor.")) pending.get(event.type.slice(19))!.reject((event as unknown as { error: unknown }).error);
    else if (event.type.startsWith("xstate.after.")) clock.increment(DELAYS[event.type.split(".")[2]!]!);
    else actor.send(event as RouterModelEvent);
    await new Promise((resolve) => setImmediate(resolve));
    const now = actor.getSnapshot();
    expect(essentials(now), `after ${event.type} from ${JSON.stringify(before.value)}`).toEqual(essentials(expected));
    // The facade's status and the footer are derived from the state alone.
    const status = describeRouterStatus(now);
    const footer = routerFooterText(now, 0, 0);
    if (status.phase === "ready") expect(footer).toBe(`${now.context.target} loaded`);
    if (status.phase === "starting" && now.matches("starting")) expect(footer).toBe(`Loading ${now.context.target}… 0s`);
    if (status.phase === "idle") expect(footer).toBeUndefined();
    // A failure recorded for the target always names that model.
    if (now.context.failure && now.matches("idle")) expect(now.context.failure.message).toMatch(/^ai-server: /);
    if (event.type === "xstate.error.actor.requestLoad" && /404/.test(String((event as { error?: { message: string } }).error?.message))) {
      expect(now.context.failure?.message).toBe("ai-server: load tiny-a failed: HTTP 404");
    }
  }
  actor.stop();
}

describe("router-model statechart, paths generated from its graph", () => {
  test("the graph yields a meaningful number of paths", () => {
    expect(paths.length).toBeGreaterThan(50);
  });
  for (const path of paths) {
    const label = path.steps.map((s) => s.event.type.replace("xstate.", "").replace(".actor", "")).join(" → ");
    test(`${JSON.stringify(path.state.value)} via ${label || "(start)"}`, () => replay(path.steps as never));
  }
  test("every state and every transition of the chart was exercised", () => {
    const { missingStates, missingTransitions, transitionCount } = coverage.missing(routerModelMachine);
    expect({ missingStates, missingTransitions }).toEqual({ missingStates: [], missingTransitions: [] });
    expect(transitionCount).toBeGreaterThan(25);
  });
});
