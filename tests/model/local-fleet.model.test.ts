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
import { type ActorLogic, type AnyEventObject, createActor, fromCallback, fromPromise, type SnapshotFrom } from "xstate";
import { TestModel } from "xstate/graph";
import {
  type FleetEvent,
  type FleetStatus,
  type HeldServer,
  localFleetMachine,
  type WarmSpec,
} from "../../machines/local-fleet.machine.ts";
import { findingNotices, IDLE_STATUS, type LocalServerStatus, type RecordFinding } from "../../machines/local-server.machine.ts";
import { footerText, noticeMessage } from "../../src/llamafiles/messages.ts";
import { coverageRecorder, enabled, eventTypesOf, pathCoverage, serializeEvent } from "../helpers/model-testing.ts";
import { launchSpec } from "../helpers/scripted-actors.ts";

type FleetSnapshot = SnapshotFrom<typeof localFleetMachine>;
const EVENT_TYPES = eventTypesOf(localFleetMachine);

// keepWarm 2 within 20 units of memory: A is pinned and large, so C (10) never fits beside it
// and B (5) does. Three models keep the graph small enough to walk in a second or two.
const MODELS: Record<string, WarmSpec> = {
  a: { ...launchSpec("a", 8001), memoryBytes: 15, pinned: true },
  b: { ...launchSpec("b", 8002), memoryBytes: 5 },
  c: { ...launchSpec("c", 8003), memoryBytes: 10 },
};
const SETTINGS = { keepWarm: 2, memoryBudgetBytes: 20, models: Object.values(MODELS) };
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
const done = (actor: string, output?: unknown) => ({ type: `xstate.done.actor.${actor}`, output });
const failed = (actor: string) => ({ type: `xstate.error.actor.${actor}`, error: new Error("effect failed") });
/** What an earlier extension instance of this pi held: B and C (C the most recent), and a model no longer configured. */
const HELD = [
  { port: 8002, modelId: "b" },
  { port: 9000, modelId: "gone" },
  { port: 8003, modelId: "c" },
];
const FOUND: RecordFinding[] = [
  { kind: "record-rejected", path: "/owned/port-9001.json", reason: "it is a symbolic link" },
  { kind: "orphan-stopped", name: "Old", pid: 4242, port: 9002, forced: false },
];
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
  // The session starts with B selected: of what this pi held, C (configured, the most recent) stays
  // warm within keepWarm 2, the unknown one is let go of, B is left to B's selection; the sweep's
  // findings are told; pi quits later, with nothing left to let go of.
  [
    { type: "SESSION_STARTED", selected: MODELS.b },
    { type: "SELECT", model: MODELS.b },
    done("findHeldServers", HELD),
    done("sweepLeftBehind", FOUND),
    { type: "QUIT" },
  ],
  // The session starts with A (pinned, 15 of 20): C, the most recent held, would come back warm
  // but does not fit beside A, so it is let go of rather than left running outside the fleet.
  [{ type: "SESSION_STARTED", selected: MODELS.a }, { type: "SELECT", model: MODELS.a }, done("findHeldServers", HELD)],
  [{ type: "SELECT", model: MODELS.a }, ready("a"), { type: "KEEP_WARM", model: MODELS.c }],
  // Nothing held and nothing found, or the effects failed: the session has started all the same.
  [{ type: "SESSION_STARTED", selected: undefined }, done("findHeldServers", []), done("sweepLeftBehind", [])],
  [{ type: "SESSION_STARTED", selected: undefined }, failed("findHeldServers"), failed("sweepLeftBehind")],
  // pi quits before the take-over, or while it is under way: everything held is let go of
  // first (should that fail, pi quits all the same).
  [{ type: "QUIT" }, done("letGoOfHeldServers")],
  [{ type: "SESSION_STARTED", selected: MODELS.c }, { type: "QUIT" }, done("letGoOfHeldServers")],
  [{ type: "QUIT" }, failed("letGoOfHeldServers")],
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

/**
 * The walk of the policy starts once the session has started and taken over nothing (what
 * happens before is the scenarios' part): its paths are replayed after these steps.
 */
const TAKEN_OVER = [{ type: "SESSION_STARTED", selected: undefined }, done("findHeldServers", []), done("sweepLeftBehind", [])];
const started = testModel
  .getPathsFromEvents(
    TAKEN_OVER as AnyEventObject[],
    {
      fromState: createActor(localFleetMachine, { input: SETTINGS }).getSnapshot(),
      serializeEvent,
      serializeState: walkKeyText,
    } as never,
  )
  .at(0)!.state;
const walk = testModel.getShortestPaths({ fromState: started } as never).map((path) => ({ ...path, afterTakeOver: true }));
const paths: Array<(typeof walk)[number] | (typeof scenarios)[number]> = [...walk, ...scenarios];
const coverage = coverageRecorder(localFleetMachine);

function stepLabel(event: AnyEventObject): string {
  if (event.type === "SERVER_STATUS") return `${event.serverId}:${event.status.failure ? "failed" : event.status.phase}`;
  if (event.type === "SELECT" || event.type === "KEEP_WARM") return `${event.type} ${event.model.id}`;
  return event.type;
}

async function replay(steps: Array<{ event: AnyEventObject; state: FleetSnapshot }>, afterTakeOver: boolean) {
  /** What the fleet asked of each server, in order. */
  const asked: Record<string, string[]> = {};
  const server = fromCallback<AnyEventObject, { serverId: string }>(({ input, receive }) => {
    const id = input.serverId.slice("server:".length);
    asked[id] = [];
    receive((event) => asked[id]!.push(event.type));
  });
  // The take-over's effects: the test settles what they find; letting go is recorded.
  const pending = new Map<string, { resolve(value: unknown): void; reject(error: unknown): void }>();
  const park = (name: string) => () => new Promise<never>((resolve, reject) => pending.set(name, { resolve, reject } as never));
  const lettingGo: Array<{ keep: number[] }> = [];
  const actors = {
    server: server as never,
    findHeldServers: fromPromise<HeldServer[]>(park("findHeldServers")),
    sweepLeftBehind: fromPromise<RecordFinding[]>(park("sweepLeftBehind")),
    // Invoked while pi quits, it waits for the test; spawned by the take-over, it is done at once.
    letGoOfHeldServers: fromPromise<void, { keep: number[] }>(async ({ input, self }) => {
      lettingGo.push(input);
      if (self.id === "letGoOfHeldServers") await park("letGoOfHeldServers")();
    }),
  };
  const actor = createActor(localFleetMachine.provide({ actors }), { input: SETTINGS });
  let status: FleetStatus | undefined;
  const notices: string[] = [];
  actor.on("status", (event) => (status = event.status));
  actor.on("notice", (event) => notices.push(noticeMessage(event.notice).text));
  actor.start();
  coverage.start(actor.getSnapshot());

  const prefix = afterTakeOver ? TAKEN_OVER.map((event) => ({ event: event as AnyEventObject, state: undefined })) : [];
  for (const { event, state: expected } of [...prefix, ...steps]) {
    const before = actor.getSnapshot();
    const askedBefore = Object.fromEntries(Object.entries(asked).map(([id, commands]) => [id, commands.length]));
    const [letGoBefore, noticesBefore] = [lettingGo.length, notices.length];
    const effect = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event.type);
    if (effect?.[1] === "done") pending.get(effect[2]!)!.resolve((event as { output?: unknown }).output);
    else if (effect) pending.get(effect[2]!)!.reject((event as { error?: unknown }).error);
    else actor.send(event as FleetEvent);
    await new Promise((resolve) => setImmediate(resolve));
    const now = actor.getSnapshot();
    if (expected) expect(walkKey(now), `after ${serializeEvent(event)} from ${JSON.stringify(before.value)}`).toEqual(walkKey(expected));
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

    // Taking over what this pi held: never a server the fleet has, the most recent configured
    // ones warm within keepWarm, the rest let go of; pi quitting first lets go of all of it.
    for (const { keep } of lettingGo.slice(letGoBefore))
      for (const entry of Object.values(before.context.servers))
        expect(keep, `${entry.model.id}'s server let go of as held from before`).toContain(entry.model.port);
    if (effect?.[0] === "xstate.done.actor.findHeldServers") {
      const { keep } = lettingGo.at(-1)!;
      const selected = before.context.startedWith;
      const carried = (event.output as HeldServer[]).filter((held) => keep.includes(held.port) && held.port !== selected?.port);
      expect(carried.length, "kept warm within keepWarm − 1").toBeLessThanOrEqual(SETTINGS.keepWarm - 1);
      for (const held of carried)
        expect(now.context.servers[held.modelId]?.status.phase, `${held.modelId} brought back warm`).toBe("starting");
      if (selected) expect(keep, "the selected model's server is its selection's").toContain(selected.port);
    }
    if (
      event.type === "QUIT" &&
      !before.matches({ active: { session: "sweeping" } }) &&
      !before.matches({ active: { session: "started" } })
    )
      expect(lettingGo.length, "quitting before the take-over lets go of what this pi held").toBe(letGoBefore + 1);
    if (effect?.[0] === "xstate.done.actor.sweepLeftBehind")
      expect(notices.slice(noticesBefore), "what the sweep found, told once").toEqual(
        findingNotices(event.output as RecordFinding[]).map((notice) => noticeMessage(notice).text),
      );
  }
  actor.stop();
}

describe("local fleet statechart, paths generated from its graph", () => {
  test("the generated paths pass through every state and send every event type the chart takes", () => {
    expect(pathCoverage(localFleetMachine, paths as never)).toEqual({ statesOnNoPath: [], eventTypesOnNoPath: [] });
  });

  for (const path of paths) {
    const label = path.steps.map(({ event }) => stepLabel(event)).join(" → ");
    const start = "afterTakeOver" in path ? "taken over" : "start";
    test(`${JSON.stringify(path.state.value)} via ${start} → ${label || "(nothing)"}`, () =>
      replay(path.steps as never, "afterTakeOver" in path));
  }

  test("every state and every transition of the chart was exercised", () => {
    const { missingStates, missingTransitions, transitionCount } = coverage.missing();
    expect({ missingStates, missingTransitions }).toEqual({ missingStates: [], missingTransitions: [] });
    expect(transitionCount).toBeGreaterThan(15);
  });
});
