/**
 * Model-based tests of the local fleet: shortest paths to every state the policy can reach,
 * generated with xstate/graph from the chart, replayed against a live fleet whose servers are
 * stand-ins that record what the fleet asks of them (the test reports their statuses); fails
 * naming any state or transition of the fleet not exercised. Invariants hold after every step:
 * never more servers up than keepWarm, never over the memory budget, a pinned server never asked
 * to stop by a switch, a streaming one never asked to stop, a new server started only once the
 * room is made.
 */
import { describe, expect, test } from "vitest";
import { type ActorLogic, type AnyEventObject, createActor, fromCallback, type SnapshotFrom } from "xstate";
import { TestModel } from "xstate/graph";
import { type FleetEvent, type FleetStatus, localFleetMachine, type WarmSpec } from "../../machines/local-fleet.machine.ts";
import { IDLE_STATUS, type LocalServerStatus } from "../../machines/local-server.machine.ts";
import { footerText } from "../../src/llamafiles/messages.ts";
import { coverageRecorder, enabled, eventTypesOf, serializeEvent } from "../helpers/model-testing.ts";
import { launchSpec } from "../helpers/scripted-actors.ts";

type FleetSnapshot = SnapshotFrom<typeof localFleetMachine>;
const EVENT_TYPES = eventTypesOf(localFleetMachine);

// keepWarm 2 within 20 units of memory: A is pinned and large, so C (10) never fits beside it
// and B (5) does. Three models keep the graph small enough to walk in a second or two.
const SETTINGS = { keepWarm: 2, memoryBudgetBytes: 20 };
const MODELS: Record<string, WarmSpec> = {
  a: { ...launchSpec("a", 8001), memoryBytes: 15, pinned: true },
  b: { ...launchSpec("b", 8002), memoryBytes: 5 },
  c: { ...launchSpec("c", 8003), memoryBytes: 10 },
};
const statusFor = (id: string, phase: LocalServerStatus["phase"], failed = false): LocalServerStatus => ({
  ...IDLE_STATUS,
  phase,
  model: phase === "idle" || phase === "ended" ? undefined : MODELS[id],
  failure: failed ? { model: MODELS[id]!, failure: { kind: "startup-timeout", timeoutMs: 1 } } : undefined,
});

/** What each server could plausibly report next, given what the fleet knows of it. */
function reports(snapshot: FleetSnapshot): AnyEventObject[] {
  const events: AnyEventObject[] = [];
  const quitting = snapshot.matches("quitting");
  for (const [id, entry] of Object.entries(snapshot.context.servers)) {
    const report = (phase: LocalServerStatus["phase"], failed = false) =>
      events.push({ type: "SERVER_STATUS", serverId: `server:${id}`, status: statusFor(id, phase, failed) });
    const phase = entry.status.phase;
    if (quitting) {
      if (phase !== "ended") report("ended");
      continue;
    }
    if (phase === "starting") {
      report("ready");
      report("idle", true);
    }
    // A server in the way stops once asked, which waits for the end of its answer.
    if (phase === "ready" && snapshot.context.victims.includes(id) && snapshot.context.streaming !== id) report("stopping");
    if (phase === "stopping") report("idle");
  }
  return events;
}

function eventsFor(snapshot: FleetSnapshot): AnyEventObject[] {
  if (snapshot.status !== "active") return [];
  const events: AnyEventObject[] = [...reports(snapshot)];
  const { current, streaming, waiting, servers } = snapshot.context;
  for (const type of EVENT_TYPES) {
    if (type === "SELECT") for (const model of Object.values(MODELS)) events.push({ type, model });
    else if (type === "KEEP_WARM") events.push({ type, model: MODELS.c });
    // An answer streams only from a ready server (pi's request waits for it).
    else if (type === "ANSWER_STARTED" && current && !streaming && !waiting && servers[current]?.status.phase === "ready")
      events.push({ type, modelId: current });
    else if (type === "ANSWER_ENDED" && streaming) events.push({ type, modelId: streaming });
    else if (type === "DESELECT" || type === "QUIT" || type === "DETACH") events.push({ type });
    else if (type === "SERVER_NOTICE" && Object.keys(snapshot.context.servers).length > 0)
      events.push({ type, serverId: `server:${Object.keys(snapshot.context.servers)[0]}`, notice: { kind: "ready", model: MODELS.a } });
  }
  return enabled(snapshot, events);
}

/**
 * What tells states apart for the walk: the chart's state, each server's phase, the model
 * waiting for room and how many servers are in its way, and whose answer streams; every replayed
 * step is checked against it. The current model and the order of use are left out: keeping them
 * makes the walk four times longer, and the invariants below check what they decide.
 */
const walkKey = (s: FleetSnapshot) => ({
  value: s.value,
  status: s.status,
  phases: Object.entries(s.context.servers).map(([id, entry]) => `${id}:${entry.status.phase}`),
  waiting: s.context.waiting?.id,
  inTheWay: s.context.victims.length,
  streaming: s.context.streaming === undefined ? "none" : s.context.streaming === s.context.current ? "current" : "other",
});

const walkKeyText = (s: FleetSnapshot) => JSON.stringify(walkKey(s));

const testModel = new TestModel(localFleetMachine as unknown as ActorLogic<FleetSnapshot, AnyEventObject, unknown>, {
  events: eventsFor,
  serializeEvent,
  serializeState: walkKeyText,
  input: SETTINGS,
});
/** A model larger than the whole budget: refused whatever runs. */
const HUGE: WarmSpec = { ...launchSpec("huge", 8009), memoryBytes: 25 };
const ready = (id: string) => ({ type: "SERVER_STATUS", serverId: `server:${id}`, status: statusFor(id, "ready") });
const notice = (id: string) => ({ type: "SERVER_NOTICE", serverId: `server:${id}`, notice: { kind: "ready", model: MODELS[id] } });
/**
 * Transitions that end where a shorter path already led (the walk keys them alike, and keying
 * by event too makes the walk four times longer): explicit scenarios.
 */
const scenarios = [
  // A server's notice passes through, while active and while quitting.
  [{ type: "SELECT", model: MODELS.b }, notice("b")],
  [{ type: "SELECT", model: MODELS.b }, { type: "QUIT" }, notice("b")],
  // An answer ends with nothing waiting for it.
  [{ type: "SELECT", model: MODELS.b }, ready("b"), { type: "ANSWER_STARTED", modelId: "b" }, { type: "ANSWER_ENDED", modelId: "b" }],
  // While room is made for A, a model that can never fit is refused; what was asked to stop stops.
  [
    { type: "SELECT", model: MODELS.b },
    ready("b"),
    { type: "SELECT", model: MODELS.c },
    ready("c"),
    { type: "SELECT", model: MODELS.a },
    { type: "SELECT", model: HUGE },
  ],
].flatMap((events) =>
  testModel.getPathsFromEvents(
    events as AnyEventObject[],
    {
      // (Without its own start, the walk would begin from a fleet made without settings.)
      fromState: createActor(localFleetMachine, { input: SETTINGS }).getSnapshot(),
      serializeEvent,
      serializeState: walkKeyText,
    } as never,
  ),
);

const paths = [...testModel.getShortestPaths(), ...scenarios];
const coverage = coverageRecorder(localFleetMachine);

function stepLabel(event: AnyEventObject): string {
  if (event.type === "SERVER_STATUS") return `${event.serverId}:${event.status.failure ? "failed" : event.status.phase}`;
  if (event.type === "SELECT" || event.type === "KEEP_WARM") return `${event.type} ${event.model.id}`;
  return event.type;
}

async function replay(steps: Array<{ event: AnyEventObject; state: FleetSnapshot }>) {
  /** What the fleet asked of each server, in order. */
  const asked: Record<string, string[]> = {};
  const server = fromCallback<AnyEventObject, { serverId: string }>(({ input, receive }) => {
    const id = input.serverId.slice("server:".length);
    asked[id] = [];
    receive((event) => asked[id]!.push(event.type));
  });
  const actor = createActor(localFleetMachine.provide({ actors: { server: server as never } }), { input: SETTINGS });
  let status: FleetStatus | undefined;
  actor.on("status", (event) => (status = event.status));
  actor.start();
  coverage.start(actor.getSnapshot());

  for (const { event, state: expected } of steps) {
    const before = actor.getSnapshot();
    const askedBefore = Object.fromEntries(Object.entries(asked).map(([id, commands]) => [id, commands.length]));
    actor.send(event as FleetEvent);
    await new Promise((resolve) => setImmediate(resolve));
    const now = actor.getSnapshot();
    expect(walkKey(now), `after ${serializeEvent(event)} from ${JSON.stringify(before.value)}`).toEqual(walkKey(expected));
    coverage.step(before, event, now);

    // Invariants of the policy.
    const up = Object.entries(now.context.servers).filter(([, entry]) => ["starting", "ready"].includes(entry.status.phase));
    expect(up.length, "never more servers up than keepWarm").toBeLessThanOrEqual(SETTINGS.keepWarm);
    const memory = up.reduce((sum, [id]) => sum + (MODELS[id]!.memoryBytes ?? 0), 0);
    expect(memory, "never over the memory budget").toBeLessThanOrEqual(SETTINGS.memoryBudgetBytes);
    for (const [id, commands] of Object.entries(asked)) {
      const added = commands.slice(askedBefore[id] ?? 0);
      if (added.includes("DESELECT")) {
        expect(MODELS[id]!.pinned && event.type !== "DESELECT", `pinned ${id} asked to stop by a switch`).toBeFalsy();
        expect(now.context.streaming, `${id} asked to stop while its answer streams`).not.toBe(id);
      }
      if (added.includes("SELECT") && before.context.waiting?.id === id) {
        // A model that waited for room starts once every server in its way has stopped.
        for (const victim of before.context.victims)
          expect(["idle", "ended"], `${id} started before ${victim} stopped`).toContain(now.context.servers[victim]!.status.phase);
      }
    }
    // The footer reads the fleet's status alone: the current server, or the one stopping to make room.
    if (status && now.matches("active")) {
      const footer = footerText(status);
      if (now.context.waiting && now.context.victims.some((id) => now.context.servers[id]!.status.phase === "stopping"))
        expect(footer).toMatch(/^Stopping [A-D]\.\.\./);
      const current = now.context.current && !now.context.waiting ? now.context.servers[now.context.current] : undefined;
      if (current?.status.phase === "ready") expect(footer).toMatch(new RegExp(`^${current.model.name} running`));
    }
    if (now.status === "done") expect(status?.phase).toBe("ended");
  }
  actor.stop();
}

describe("local fleet statechart, paths generated from its graph", () => {
  test("the graph yields a meaningful number of paths", () => {
    expect(paths.length).toBeGreaterThan(100);
  });

  for (const path of paths) {
    const label = path.steps.map(({ event }) => stepLabel(event)).join(" → ");
    test(`${JSON.stringify(path.state.value)} via ${label || "(start)"}`, () => replay(path.steps as never));
  }

  test("every state and every transition of the chart was exercised", () => {
    const { missingStates, missingTransitions, transitionCount } = coverage.missing();
    expect({ missingStates, missingTransitions }).toEqual({ missingStates: [], missingTransitions: [] });
    expect(transitionCount).toBeGreaterThan(15);
  });
});
