/**
 * What the extension has to say when pi starts (a config error, a skipped model, a certificate
 * problem, a router it cannot reach): said once, where the user will see it. With a UI, as
 * notifications at the first session_start; without one (print, json, `--list-models`), on
 * stderr as soon as the extension has loaded, before pi goes on (it may exit with "model not
 * found" before any session starts). What pi shows itself in a mode is not said twice.
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { type NoticeLevel, printError } from "./notify.ts";
import { type RunMode, runMode } from "./run-mode.ts";
import type { SessionUi } from "./session-ui.ts";

export interface StartupMessage {
  text: string;
  level: NoticeLevel;
  /** pi shows this itself in its TUI and with --list-models (an unparseable models.json). */
  shownByPiWithUi?: boolean;
  /** Worth a notification, not a line on stderr (print mode's output is often read by a script). */
  onlyWithUi?: boolean;
}

export function startupReport(pi: Pick<ExtensionAPI, "on">, session: SessionUi, mode: RunMode = runMode()) {
  const messages: StartupMessage[] = [];
  let said = false;
  const piShowsItself = (ctxMode: string | undefined) => ctxMode === "tui" || mode === "list-models";

  pi.on("session_start", (_event, ctx) => {
    if (said) return;
    said = true;
    for (const message of messages) {
      if (message.shownByPiWithUi && piShowsItself(ctx.mode)) continue;
      if (message.onlyWithUi && !ctx.hasUI) continue;
      session.tell(message.text, message.level);
    }
  });

  return {
    add(...added: StartupMessage[]): void {
      messages.push(...added);
    },
    /** The extension has loaded: without a UI to come, say it all now. */
    loaded(): void {
      if (said || (mode !== "print" && mode !== "list-models")) return;
      said = true;
      for (const message of messages)
        if (!(message.shownByPiWithUi && piShowsItself(undefined)) && !message.onlyWithUi) printError(message.text);
    },
  };
}

export type StartupReport = ReturnType<typeof startupReport>;
