// The working indicator's text, and that modes without a UI get no calls at all.

import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { expect, test, vi } from "vitest";
import { answerMeter } from "../../src/llama-cpp/answer-meter.ts";
import { bindWorkingIndicator, formatElapsed, indicatorFrame } from "../../src/pi-session/working-indicator.ts";
import { createRecordingUi } from "../helpers/recording-ui.ts";

test("frames read ⚙ <phrase> · <elapsed>", () => {
  expect(indicatorFrame("generating", 0)).toBe("⚙ generating · 0s");
  expect(indicatorFrame("generating", 59_999)).toBe("⚙ generating · 59s");
  expect(formatElapsed(61_000)).toBe("1m 01s");
  expect(formatElapsed(3_725_000)).toBe("62m 05s");
});

function fakePi() {
  const handlers = new Map<string, Array<(event: unknown, ctx: unknown) => void>>();
  const pi = {
    on: (name: string, handler: (event: unknown, ctx: unknown) => void) => handlers.set(name, [...(handlers.get(name) ?? []), handler]),
  };
  const emit = (name: string, event: unknown, ctx: unknown) => {
    for (const handler of handlers.get(name) ?? []) handler(event, ctx);
  };
  return { pi: pi as unknown as ExtensionAPI, emit };
}

test("without a UI (print, json) nothing is set", () => {
  const { pi, emit } = fakePi();
  const recording = createRecordingUi();
  bindWorkingIndicator(pi, [() => undefined], answerMeter());
  const ctx = { hasUI: false, ui: recording.ui };
  emit("session_start", { reason: "startup" }, ctx);
  emit("turn_start", { turnIndex: 0, timestamp: Date.now() }, ctx);
  emit("turn_end", {}, ctx);
  expect(recording.calls).toEqual([]);
});

test("with a UI: the phrase comes from the first busy provider; frames follow each whole second of the turn; the ticker stops at turn end", () => {
  vi.useFakeTimers();
  try {
    const { pi, emit } = fakePi();
    const recording = createRecordingUi();
    let local: string | undefined = "waiting for A to start on port 8081";
    bindWorkingIndicator(pi, [() => local, () => "loading x on the router"], answerMeter());
    const ctx = { hasUI: true, ui: recording.ui };
    emit("session_start", { reason: "startup" }, ctx);
    // The hook runs 400 ms after the turn began: the next frame comes at the turn's first whole second, not 1 s later.
    emit("turn_start", { turnIndex: 0, timestamp: Date.now() - 400 }, ctx);
    vi.advanceTimersByTime(590);
    expect(recording.calls.filter((c) => c.method === "setWorkingIndicator")).toHaveLength(1);
    vi.advanceTimersByTime(20);
    local = undefined;
    vi.advanceTimersByTime(1_000);
    emit("turn_end", {}, ctx);
    vi.advanceTimersByTime(5_000);
    const frames = recording.calls
      .filter((c) => c.method === "setWorkingIndicator")
      .map((c) => (c.args[0] as { frames: string[] }).frames[0]);
    expect(frames).toEqual([
      "⚙ waiting for A to start on port 8081 · 0s",
      "⚙ waiting for A to start on port 8081 · 1s",
      "⚙ loading x on the router · 2s",
    ]);
    expect(recording.calls.filter((c) => c.method === "setWorkingMessage").map((c) => c.args)).toEqual([[""], [""]]);
  } finally {
    vi.useRealTimers();
  }
});
