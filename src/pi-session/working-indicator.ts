/**
 * pi's working indicator as one line, `⚙ <phrase> · <elapsed>`: pi appends its own
 * "Working..." message next to custom frames, so it is cleared on session_start and on every
 * turn_start, and the phrase says what pi is really waiting for; while an answer streams, its
 * tokens so far and their rate. Elapsed time counts from the start of the turn. Modes without
 * a UI get nothing.
 */
import type { ExtensionAPI, ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { lazy } from "./lazy.ts";
import { terminalSafe } from "./terminal-text.ts";

/** What a provider half of the extension is doing now, in a few words, or undefined. */
export type ActivitySource = () => string | undefined;

export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
}

export function indicatorFrame(phrase: string, elapsedMs: number): string {
  return `⚙ ${terminalSafe(phrase).replace(/\n/g, " ")} · ${formatElapsed(elapsedMs)}`;
}

export function bindWorkingIndicator(pi: ExtensionAPI, activities: readonly ActivitySource[], meter: AnswerMeter): void {
  let ui: ExtensionUIContext | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let turnStartedAt = 0;
  // The words for a streaming answer load after start-up, before the first turn.
  const words = lazy(() => import("../llama-cpp/messages.ts"));
  const phrase = () => {
    const waitingFor = activities.map((activity) => activity()).find(Boolean);
    if (waitingFor) return waitingFor;
    const live = meter.live();
    return (live && words.loaded()?.liveAnswerText(live)) || "generating";
  };
  const draw = () => ui?.setWorkingIndicator({ frames: [indicatorFrame(phrase(), Date.now() - turnStartedAt)], intervalMs: 1_000 });
  /**
   * Draws now, then just after each whole second since the turn began: the elapsed time then
   * changes when it should (a fixed interval from whenever the hook ran would lag by up to a second).
   */
  const tick = () => {
    draw();
    const sinceStart = Date.now() - turnStartedAt;
    ticker = setTimeout(tick, 1_000 - (sinceStart % 1_000) + 5);
    ticker.unref();
  };
  const stop = () => {
    clearTimeout(ticker);
    ticker = undefined;
  };

  pi.on("session_start", (_event, ctx) => {
    stop();
    ui = ctx.hasUI ? ctx.ui : undefined;
    if (ui) void words.get();
    // pi resets the working message on every session change: clear its "Working..." again.
    ui?.setWorkingMessage("");
  });
  pi.on("turn_start", (event, ctx) => {
    if (!ctx.hasUI) return;
    ui = ctx.ui;
    ui.setWorkingMessage("");
    turnStartedAt = event.timestamp ?? Date.now();
    stop();
    tick();
  });
  pi.on("turn_end", stop);
  pi.on("agent_end", stop);
  pi.on("session_shutdown", () => {
    stop();
    ui = undefined;
  });
}
