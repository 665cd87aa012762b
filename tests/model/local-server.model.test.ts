/**
 * Model-based tests of the local-server statechart (xstate/graph): shortest paths to every
 * (state, incoming transition) pair, generated from the machine itself, are replayed against
 * a live actor of the machine with scripted effect actors (tests/helpers/scripted-actors.ts)
 * and a simulated clock. Each step checks the actor against the model and the invariants
 * that make the process lifetime leak-proof; a final test fails naming any state or
 * transition of the chart (the root's included) that no path exercised.
 */
import { describe, expect, test } from "vitest";
import { type ActorLogic, type AnyEventObject, createActor, SimulatedClock, type SnapshotFrom } from "xstate";
import { TestModel } from "xstate/graph";
import {
  type LocalServerEvent,
  type LocalServerStatus,
  localServerMachine,
  type PortProbe,
  RESTORE_TIME_LIMIT_MS,
  SAVE_TIME_LIMIT_MS,
  STARTUP_TIMEOUT_MS,
} from "../../machines/local-server.machine.ts";
import { footerText, noticeMessage } from "../../src/llamafiles/messages.ts";
import { coverageRecorder, enabled, eventTypesOf, pathCoverage, serializeEvent } from "../helpers/model-testing.ts";
import { launchSpec, scriptedActors, serverAlone } from "../helpers/scripted-actors.ts";

// A keeps a prompt cache and stops when idle; B does neither.
const IDLE_MS = 600_000;
const A = { ...launchSpec("a", 8080), promptCache: { dir: "/cache/a", via: "append" as const, budgetBytes: 1e9 }, idleMs: IDLE_MS };
const SERVER_INPUT = { serverId: "server:test" };
const B = launchSpec("b", 8081);
const DELAYS: Record<string, number> = {
  STARTUP_TIMEOUT: STARTUP_TIMEOUT_MS,
  SAVE_TIME_LIMIT: SAVE_TIME_LIMIT_MS,
  RESTORE_TIME_LIMIT: RESTORE_TIME_LIMIT_MS,
  IDLE_LIMIT: IDLE_MS,
};

/** Outputs each invoked effect can produce, relative to the current target. */
function outcomes(actorId: string, snapshot: LocalServerSnapshot): unknown[] {
  const target = snapshot.context.target?.id ?? "a";
  const other = target === "a" ? "b" : "a";
  switch (actorId) {
    case "probePort":
      return [
        { kind: "free", nonce: "n" },
        { kind: "ours", pid: 77, servesId: target, ready: true, users: 1, via: "reattached", props: { contextSize: 2048 } },
        { kind: "ours", pid: 77, servesId: target, ready: false, users: 1, via: "joined" },
        // Another pi started it: a server whose prompt cache pi keeps gets this session's conversation first.
        { kind: "ours", pid: 77, servesId: target, ready: true, users: 2, via: "joined", props: { slots: 4 } },
        // Re-attached after a /reload: the slot this pi holds.
        { kind: "ours", pid: 77, servesId: target, ready: true, users: 1, via: "reattached", cache: { slot: 1, canSave: true } },
        { kind: "ours", pid: 77, servesId: other, ready: true, users: 1, via: "reattached" },
        { kind: "taken", servesId: other, users: 1 },
        { kind: "occupied" },
        { kind: "not-http", detail: "ECONNRESET" },
        { kind: "unusable", error: { code: "unsafe-folder", path: "/x", reason: "not-yours" } },
      ] satisfies PortProbe[];
    case "identifyServer":
    case "waitForReady":
      // What the server says it serves (GET /props) comes with the ids; an old server says nothing.
      return [{ ids: [target], props: { contextSize: 4096, vision: false } }, { ids: ["someone-else"] }];
    case "prepareCache":
      return [
        { cache: { slot: 0, canSave: true }, restored: { tokens: 1200 } },
        { cache: { slot: 0, canSave: false }, problem: { kind: "cannot-save", status: 501 } },
      ];
    case "saveSlot":
      return [
        { kind: "saved", tokens: 1200, bytes: 600_000, ms: 2 },
        { kind: "failed", reason: "disk-full", detail: "1200 tokens, 0 bytes written" },
      ];
    default:
      return [undefined];
  }
}

type LocalServerSnapshot = SnapshotFrom<typeof localServerMachine>;
const EVENT_TYPES = eventTypesOf(localServerMachine);

/** Every event that makes the snapshot transition, with concrete payloads and preconditions. */
function eventsFor(snapshot: LocalServerSnapshot): AnyEventObject[] {
  if (snapshot.status !== "active") return [];
  const events: AnyEventObject[] = [];
  const { context } = snapshot;
  for (const type of EVENT_TYPES) {
    if (type === "SELECT") events.push({ type, model: A }, { type, model: B });
    else if (type === "DESELECT" || type === "QUIT" || type === "DETACH" || type === "SERVER_LOST" || type === "SERVER_USED")
      events.push({ type });
    else if (type === "PROCESS_STARTED") {
      // Only a server started now announces its pid, once.
      if (context.nonce !== undefined && context.pid === undefined) events.push({ type, pid: 1 });
    } else if (type === "PROCESS_EXITED") {
      events.push({ type, code: 1, signal: null, forced: false, logTail: "last line" });
      // The keeper's stop story needed SIGKILL: only a stop asked for can be forced.
      if (snapshot.matches({ owned: "stopping" })) events.push({ type, code: null, signal: "SIGKILL", forced: true, logTail: "" });
      if (context.nonce !== undefined && context.pid === undefined) {
        events.push({
          type,
          code: null,
          signal: null,
          forced: false,
          logTail: "",
          spawnError: { code: "command-not-found", command: "x" },
        });
      }
    } else if (type === "USERS_CHANGED") events.push({ type, users: context.users === 1 ? 2 : 1 });
    else if (type === "SERVER_SHARED") events.push({ type, users: 1 });
    else if (type.startsWith("xstate.done.actor.")) {
      const id = type.slice("xstate.done.actor.".length);
      for (const output of outcomes(id, snapshot)) events.push({ type, output });
    } else if (type.startsWith("xstate.error.actor.")) events.push({ type, error: new Error("effect failed") });
    else if (type.startsWith("xstate.after.")) events.push({ type });
  }
  return enabled(snapshot, events);
}

const essentials = (s: LocalServerSnapshot) => ({
  value: s.value,
  status: s.status,
  target: s.context.target?.id,
  next: s.context.next?.id,
  pid: s.context.pid,

  quitting: s.context.quitting,
  failure: s.context.failure?.model.id,
});

// TestModel types events as AnyEventObject; the chart's own event union is narrower.
const testModel = new TestModel(localServerMachine as unknown as ActorLogic<LocalServerSnapshot, AnyEventObject, unknown>, {
  input: SERVER_INPUT,
  events: eventsFor,
  serializeEvent,
  // Transition-aware (the event with its payload, and the source state), so that action-only
  // transitions (USERS_CHANGED) and branches that end in the same state (ready with or without
  // the id warning, an exit forced or not) each get a path of their own.
  serializeState: (state: LocalServerSnapshot, event: AnyEventObject | undefined, prev?: LocalServerSnapshot) =>
    JSON.stringify([essentials(state), event ? serializeEvent(event) : null, prev ? essentials(prev).value : null]),
});

const done = (actor: string, output?: unknown) => ({ type: `xstate.done.actor.${actor}`, output });
/**
 * Transitions whose guards read context the path keys leave out (keeping every user count in
 * the keys multiplies the paths): explicit scenarios.
 */
const scenarios = [
  // Quitting while another pi uses the server only lets go of it.
  [
    { type: "SELECT", model: A },
    done("probePort", { kind: "free", nonce: "n" }),
    { type: "PROCESS_STARTED", pid: 1 },
    { type: "USERS_CHANGED", users: 2 },
    { type: "QUIT" },
    { type: "SERVER_SHARED", users: 1 },
  ],
  // Quitting while another pi uses a server whose cache can be saved: this session's slot is saved, then let go of.
  [
    { type: "SELECT", model: A },
    done("probePort", { kind: "free", nonce: "n" }),
    { type: "PROCESS_STARTED", pid: 1 },
    { type: "USERS_CHANGED", users: 2 },
    done("waitForReady", { ids: ["a"], props: { slots: 4 } }),
    done("prepareCache", { cache: { slot: 1, canSave: true } }),
    { type: "QUIT" },
    done("saveSlot", { kind: "saved", tokens: 10, bytes: 5000, ms: 1 }),
    { type: "SERVER_SHARED", users: 1 },
  ],
].flatMap((events) =>
  // (Without its own start, the walk would begin from a server made without its input.)
  testModel.getPathsFromEvents(
    events as AnyEventObject[],
    {
      fromState: createActor(localServerMachine, { input: SERVER_INPUT }).getSnapshot(),
    } as never,
  ),
);

const paths = [...testModel.getShortestPaths(), ...scenarios];

const coverage = coverageRecorder(localServerMachine);

async function replay(steps: Array<{ event: AnyEventObject; state: LocalServerSnapshot }>) {
  const script = scriptedActors({ announcePid: false });
  const clock = new SimulatedClock();
  // The server reports to its parent (the fleet), here a stand-in that keeps the reports.
  const alone = serverAlone(script.actors, { clock });
  const actor = alone.server;
  coverage.start(actor.getSnapshot());

  for (const { event, state } of steps) {
    const before = actor.getSnapshot();
    const liveBefore = script.processes.filter((p) => !p.cleanedUp).length;
    if (event.type.startsWith("xstate.done.actor.")) script.resolve(event.type.slice(18), (event as { output?: unknown }).output);
    else if (event.type.startsWith("xstate.error.actor."))
      script.reject(event.type.slice(19), (event as unknown as { error: unknown }).error);
    else if (event.type.startsWith("xstate.after.")) clock.increment(DELAYS[event.type.split(".")[2]!]!);
    else actor.send(event as LocalServerEvent);
    await new Promise((resolve) => setImmediate(resolve));

    const now = actor.getSnapshot();
    const notices = alone.notices.map((notice) => noticeMessage(notice).text);
    const status: LocalServerStatus | undefined = alone.statuses.at(-1);
    expect(essentials(now), `after ${event.type} from ${JSON.stringify(before.value)}`).toEqual(essentials(state));
    coverage.step(before, event, now);

    // Invariants of the process lifetime.
    const live = script.processes.filter((p) => !p.cleanedUp);
    expect(live.length, "at most one server process at a time").toBeLessThanOrEqual(1);
    expect(now.matches("owned") ? 1 : 0, "a process exists exactly while the chart is in `owned`").toBe(live.length);
    // The chart only asks for the stop, once; the keeper runs the stop story (SIGTERM, grace, SIGKILL).
    // A save comes before the stop: the keeper is asked nothing while it runs.
    if (now.matches({ owned: "saving" })) expect(live[0]!.commands, "nothing is stopped while the conversation is saved").toEqual([]);
    // Only a server that stops when idle is watched for use, and only while it is ready.
    expect(script.watching.count, "the idle watch runs exactly while a ready server stops when idle").toBe(
      now.matches({ owned: { ready: "watching" } }) ? 1 : 0,
    );
    if (now.matches({ owned: "stopping" }))
      expect(
        live[0]!.commands.filter((c) => c === "STOP"),
        "stopping asks the keeper to stop, once",
      ).toEqual(["STOP"]);
    if (event.type === "PROCESS_EXITED" && before.context.quitting && now.value === "stopped")
      expect(notices.at(-1), "the last line says whether the keeper had to force the stop").toBe(
        `Stopped llamafile "${before.context.target!.name}"${(event as { forced?: boolean }).forced ? " (forced after 5s)" : ""}.`,
      );
    if (event.type === "DETACH" && (before.matches({ owned: "starting" }) || before.matches({ owned: "ready" }))) {
      const detached = script.processes.at(-1)!;
      expect(detached.commands, "/reload leaves a starting or ready server running, unsignalled").toEqual(["RELEASE"]);
    }
    for (const p of script.processes) {
      if (p.commands.includes("RELEASE")) expect(now.value, "only detaching lets a process run on").toBe("detached");
    }
    if (event.type === "QUIT" && liveBefore === 1 && before.matches({ owned: "starting" })) {
      // Stopping is announced when this pi alone uses the server; shared, it only lets go.
      if (before.context.users <= 1) expect(notices.at(-1)).toMatch(/^Stopping llamafile "[AB]" \(pid /);
      else expect(notices.at(-1) ?? "").not.toMatch(/^Stopping llamafile/);
    }
    const stoppedAt = notices.findIndex((n) => n.startsWith("Stopped llamafile"));
    if (stoppedAt >= 0)
      expect(
        notices.slice(0, stoppedAt).some((n) => n.startsWith("Stopping llamafile")),
        "Stopped follows Stopping",
      ).toBe(true);
    if (event.type === "SERVER_SHARED" && before.context.quitting) {
      expect(notices.at(-1), "quitting while others use the server leaves it running and says so").toMatch(
        /^Left llamafile "[AB]" running for /,
      );
      expect(notices.some((n) => n.startsWith("Stopped llamafile"))).toBe(false);
    }
    // The footer follows the status the chart emitted, nothing else.
    const footer = footerText({
      phase: "active",
      shown: status!,
      waitingFor: undefined,
      current: undefined,
      servers: [],
      refusal: undefined,
    });
    if (now.matches({ owned: "ready" }) || now.matches("adopted")) expect(footer).toBe(`${now.context.target!.name} running`);
    if (now.matches("idle") || now.status !== "active") expect(footer).toBeUndefined();
    // What the server said it serves is in the status exactly while it is ready ({} when it said nothing).
    const ready = (s: LocalServerSnapshot) => s.matches({ owned: "ready" }) || s.matches("adopted");
    if (ready(now)) expect(status!.props).toEqual(now.context.props ?? "missing");
    else expect(status?.props).toBeUndefined();
    const answered = ["probePort", "identifyServer", "waitForReady"].some((id) => event.type === `xstate.done.actor.${id}`);
    if (ready(now) && !ready(before) && answered)
      expect(status!.props, "the props of the answer that made it ready").toEqual(
        (event as { output?: { props?: object } }).output?.props ?? {},
      );
  }
  alone.parent.stop();
}

describe("local-server statechart, paths generated from its graph", () => {
  test("the generated paths pass through every state and send every event type the chart takes", () => {
    expect(pathCoverage(localServerMachine, paths as never)).toEqual({ statesOnNoPath: [], eventTypesOnNoPath: [] });
  });

  for (const path of paths) {
    const label = path.steps.map((s) => s.event.type.replace("xstate.", "").replace(".actor", "")).join(" → ");
    test(`${JSON.stringify(path.state.value)} via ${label || "(start)"}`, () => replay(path.steps as never));
  }

  test("every state and every transition of the chart was exercised", () => {
    const { missingStates, missingTransitions, transitionCount } = coverage.missing();
    expect({ missingStates, missingTransitions }).toEqual({ missingStates: [], missingTransitions: [] });
    expect(transitionCount).toBeGreaterThan(40);
  });
});
