/**
 * `/ai-server-ctx <id> <size>` as one use case: ask, edit the preset over ssh, unload, ask the
 * router to re-read presets, load, read the size back; if the router still shows the old size
 * (it reads presets only when it starts), ask again, restart it, wait, load and verify. Esc
 * (the signal) cancels it at any step, and the report says how far it got.
 */
import { ctxSizeFromArgs } from "./discovery.ts";
import { commandWords, errorText } from "./messages.ts";
import type { AiServerSession } from "./session.ts";
import { setPresetCtxSize } from "./ssh-admin.ts";

export interface CtxChangeIo {
  /** Tells the user something on the way. */
  say(text: string, level?: "info" | "warning" | "error"): void;
  /** Asks yes/no; false when declined (it then says `what` was cancelled) or cancelled. */
  confirm(question: { title: string; message: string }, what: string, signal: AbortSignal): Promise<boolean>;
  /** Re-selects the session's model after a re-registration (the session keeps the old object). */
  reselect(): Promise<void>;
}

type Step = "asking" | "editing" | "reloading" | "restarting" | "verifying";

export async function changeContextSize(
  remote: AiServerSession,
  request: { id: string; size: number; before: number | undefined; host: string },
  io: CtxChangeIo,
  signal: AbortSignal,
): Promise<void> {
  const { id, size, host } = request;
  const { presetPath } = remote.settings;
  const commandText = commandWords(remote.settings);
  let step: Step = "asking";
  let edited = false;
  try {
    if (!(await io.confirm(commandText.ctxQuestion(id, size, request.before, presetPath, host), "/ai-server-ctx", signal))) return;
    step = "editing";
    const { previous } = await setPresetCtxSize(host, presetPath, id, size, signal);
    edited = true;
    io.say(commandText.ctxEdited(id, previous, size, presetPath, host));

    step = "reloading";
    const supervisor = await remote.supervisor();
    const ctxShown = async () => ctxSizeFromArgs((await supervisor.listModels(signal)).find((model) => model.id === id) ?? { id });
    await supervisor.unloadAndWait(id, signal).catch((error) => {
      if (signal.aborted) throw error;
    });
    // Newer routers re-read the preset on ?reload=1; the b8942 router only at start.
    await supervisor.reloadPresets(signal);
    await supervisor.ensureReady(id, signal);
    let shown = await ctxShown();
    if (shown !== size) {
      io.say(commandText.ctxUnchangedAfterReload(id, shown), "warning");
      if (!(await io.confirm(commandText.ctxRestartQuestion(host, size), "the router restart", signal))) {
        return io.say(commandText.ctxKeptUntilRestart(id, shown), "warning");
      }
      step = "restarting";
      // The chart forgets what the router had loaded once it answers again.
      await supervisor.restartRouter(host, signal);
      step = "verifying";
      await supervisor.ensureReady(id, signal);
      shown = await ctxShown();
    }
    await remote.rediscover();
    await io.reselect();
    io.say(commandText.ctxResult(id, shown, size), shown === size ? "info" : "warning");
  } catch (error) {
    if (signal.aborted) return io.say(commandText.ctxCancelled(id, step, edited, size), "warning");
    io.say(errorText(error, remote.settings), "error");
  }
}
