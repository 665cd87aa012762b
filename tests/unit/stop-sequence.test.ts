// The stop story (src/llamafiles/process/stop-group.mjs): SIGTERM to the group, up to 5 s for
// it to be gone, then SIGKILL, reported as forced; driven with fake timers against a stand-in
// group that records the signals. Then the chart's side: it only asks for the stop (STOP to
// the `serverProcess` actor, a recording stand-in) and words the exit the keeper reports.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { noticeMessage } from "../../src/llamafiles/messages.ts";
import { STOP_GIVE_UP_MS, STOP_GRACE_MS, stopGroup } from "../../src/llamafiles/process/stop-group.mjs";
import { launchSpec, scriptedActors, serverAlone } from "../helpers/scripted-actors.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A process group that ends `endsAfterMs` after SIGTERM (never: only SIGKILL ends it). */
function group(endsAfterMs?: number) {
  const signals: string[] = [];
  let goneAt = Number.POSITIVE_INFINITY;
  return {
    signals,
    pollMs: 100,
    signal(signal: "SIGTERM" | "SIGKILL") {
      signals.push(signal);
      if (signal === "SIGTERM" && endsAfterMs !== undefined) goneAt = Date.now() + endsAfterMs;
      if (signal === "SIGKILL") goneAt = Date.now();
    },
    isGone: () => Date.now() >= goneAt,
  };
}

test("the grace is 5 s, and pi gives up on a group it stops itself after twice that", () => {
  expect(STOP_GRACE_MS).toBe(5_000);
  expect(STOP_GIVE_UP_MS).toBe(10_000);
});

test("a group gone within the grace gets SIGTERM only, and the stop is not forced", async () => {
  const server = group(4_000);
  const stop = stopGroup(server);
  expect(server.signals).toEqual(["SIGTERM"]);
  await vi.advanceTimersByTimeAsync(4_100);
  expect(await stop).toEqual({ forced: false, gone: true });
  expect(server.signals).toEqual(["SIGTERM"]);
});

test("no SIGKILL before the 5 s are up; SIGKILL right at 5 s; the stop is forced", async () => {
  const server = group();
  const stop = stopGroup(server);
  await vi.advanceTimersByTimeAsync(4_999);
  expect(server.signals).toEqual(["SIGTERM"]);
  await vi.advanceTimersByTimeAsync(1);
  expect(server.signals).toEqual(["SIGTERM", "SIGKILL"]);
  expect(await stop).toEqual({ forced: true, gone: true });
});

test("a group that survives SIGKILL: the keeper waits on, pi gives up after 10 s", async () => {
  const server = { ...group(), signal: (signal: "SIGTERM" | "SIGKILL") => void server.signals.push(signal) };
  let settled: unknown;
  void stopGroup(server).then((result) => (settled = result));
  await vi.advanceTimersByTimeAsync(60_000);
  expect(settled, "without giveUpMs the wait goes on").toBeUndefined();

  const lost = { ...group(), signal: (signal: "SIGTERM" | "SIGKILL") => void lost.signals.push(signal), giveUpMs: STOP_GIVE_UP_MS };
  const stop = stopGroup(lost);
  await vi.advanceTimersByTimeAsync(STOP_GIVE_UP_MS);
  expect(await stop).toEqual({ forced: true, gone: false });
  expect(lost.signals).toEqual(["SIGTERM", "SIGKILL"]);
});

test("at 5 s only a member in its last moments is left (SIGKILL not sent): the stop is not forced", async () => {
  let goneAt = Number.POSITIVE_INFINITY;
  const signals: string[] = [];
  const server = {
    pollMs: 100,
    signal(signal: "SIGTERM" | "SIGKILL") {
      if (signal === "SIGKILL") {
        goneAt = Date.now() + 50;
        return false;
      }
      signals.push(signal);
      return true;
    },
    isGone: () => Date.now() >= goneAt,
  };
  const stop = stopGroup(server);
  await vi.advanceTimersByTimeAsync(5_200);
  expect(await stop).toEqual({ forced: false, gone: true });
  expect(signals).toEqual(["SIGTERM"]);
});

async function readyServer() {
  const script = scriptedActors();
  const alone = serverAlone(script.actors);
  const actor = alone.server;
  actor.send({ type: "SELECT", model: launchSpec("a") });
  script.resolve("probePort", { kind: "free", nonce: "n" });
  await vi.advanceTimersByTimeAsync(0);
  script.resolve("waitForReady", { ids: ["a"] });
  await vi.advanceTimersByTimeAsync(0);
  expect(actor.getSnapshot().matches({ owned: "ready" })).toBe(true);
  const notices = () => alone.notices.map(noticeMessage);
  return { actor, script, notices, process: script.processes[0]! };
}

test("quitting, the chart asks for the stop once and waits however long the keeper's stop takes", async () => {
  const { actor, process, notices } = await readyServer();
  actor.send({ type: "QUIT" });
  expect(actor.getSnapshot().value).toEqual({ owned: "stopping" });
  await vi.advanceTimersByTimeAsync(60_000);
  expect(process.commands).toEqual(["STOP"]);
  expect(actor.getSnapshot().value).toEqual({ owned: "stopping" });

  actor.send({ type: "PROCESS_EXITED", code: 0, signal: null, forced: false, logTail: "" });
  expect(actor.getSnapshot().value).toBe("stopped");
  expect(
    notices()
      .filter((n) => n.channel === "stderr")
      .map((n) => n.text),
  ).toEqual(['Stopping llamafile "A" (pid 1000)...', 'Stopped llamafile "A".']);
});

test("an exit the keeper forced is said to be forced, with the grace in seconds", async () => {
  const { actor, notices } = await readyServer();
  actor.send({ type: "QUIT" });
  actor.send({ type: "PROCESS_EXITED", code: null, signal: "SIGKILL", forced: true, logTail: "" });
  expect(actor.getSnapshot().value).toBe("stopped");
  expect(notices().at(-1)).toEqual({ channel: "stderr", level: "info", text: 'Stopped llamafile "A" (forced after 5s).' });
});

test("a mid-session stop (switch) is asked for the same way, then waits for the port before the next start", async () => {
  const { actor, script, process } = await readyServer();
  actor.send({ type: "SELECT", model: launchSpec("b", 8081) });
  expect(process.commands).toEqual(["STOP"]);
  actor.send({ type: "PROCESS_EXITED", code: null, signal: "SIGKILL", forced: true, logTail: "" });
  expect(actor.getSnapshot().value).toBe("releasingPort");
  script.resolve("waitPortFree");
  await vi.advanceTimersByTimeAsync(0);
  expect(actor.getSnapshot().value).toBe("probing");
  expect(actor.getSnapshot().context.target?.id).toBe("b");
});
