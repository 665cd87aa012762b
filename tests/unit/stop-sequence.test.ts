// The stop sequence: SIGTERM, wait up to 5 s for the exit, then SIGKILL; state transitions on
// each branch. Fake timers drive the chart's KILL_GRACE delay; the process is a recording
// stand-in, and signalGroup is checked against a spied process.kill.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { createActor } from "xstate";
import { localServerMachine } from "../../machines/local-server.machine.ts";
import { type Message, noticeMessage } from "../../src/llamafiles/messages.ts";
import { launchSpec, scriptedActors } from "../helpers/scripted-actors.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function readyServer() {
  const script = scriptedActors();
  const actor = createActor(localServerMachine.provide({ actors: script.actors }), { input: {} });
  const notices: Message[] = [];
  actor.on("notice", ({ notice }) => notices.push(noticeMessage(notice)));
  actor.start();
  actor.send({ type: "SELECT", model: launchSpec("a") });
  script.resolve("probePort", { kind: "free", nonce: "n" });
  await vi.advanceTimersByTimeAsync(0);
  script.resolve("waitForReady", { ids: ["a"] });
  await vi.advanceTimersByTimeAsync(0);
  expect(actor.getSnapshot().value).toEqual({ owned: "ready" });
  return { actor, script, notices, process: script.processes[0]! };
}

test("a process that exits within the grace period gets SIGTERM only", async () => {
  const { actor, process, notices } = await readyServer();
  actor.send({ type: "QUIT" });
  expect(actor.getSnapshot().value).toEqual({ owned: "stopping" });
  expect(process.commands).toEqual(["TERM"]);

  await vi.advanceTimersByTimeAsync(4_000);
  actor.send({ type: "PROCESS_EXITED", code: 0, signal: null, logTail: "" });

  expect(actor.getSnapshot().value).toBe("stopped");
  expect(process.commands).toEqual(["TERM"]);
  expect(notices.filter((n) => n.channel === "stderr").map((n) => n.text)).toEqual([
    'Stopping llamafile "A" (pid 1000)...',
    'Stopped llamafile "A".',
  ]);
});

test("no SIGKILL before the 5 s are up; SIGKILL right at 5 s; the last line says it was forced", async () => {
  const { actor, process, notices } = await readyServer();
  actor.send({ type: "QUIT" });
  await vi.advanceTimersByTimeAsync(4_999);
  expect(process.commands).toEqual(["TERM"]);
  await vi.advanceTimersByTimeAsync(1);
  expect(process.commands).toEqual(["TERM", "KILL"]);
  expect(actor.getSnapshot().value).toEqual({ owned: "stopping" });

  actor.send({ type: "PROCESS_EXITED", code: null, signal: "SIGKILL", logTail: "" });
  expect(actor.getSnapshot().value).toBe("stopped");
  expect(notices.at(-1)).toEqual({ channel: "stderr", level: "info", text: 'Stopped llamafile "A" (forced after 5s).' });
});

test("a mid-session stop (switch) escalates the same way, then waits for the port before the next start", async () => {
  const { actor, script, process } = await readyServer();
  actor.send({ type: "SELECT", model: launchSpec("b", 8081) });
  expect(process.commands).toEqual(["TERM"]);
  await vi.advanceTimersByTimeAsync(5_000);
  expect(process.commands).toEqual(["TERM", "KILL"]);
  actor.send({ type: "PROCESS_EXITED", code: null, signal: "SIGKILL", logTail: "" });
  expect(actor.getSnapshot().value).toBe("releasingPort");
  script.resolve("waitPortFree");
  await vi.advanceTimersByTimeAsync(0);
  expect(actor.getSnapshot().value).toBe("probing");
  expect(actor.getSnapshot().context.target?.id).toBe("b");
});
