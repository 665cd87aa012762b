/**
 * The UI of the pi session running now. pi replaces sessions (/new, /resume, /fork) and
 * re-evaluates the extension on /reload; a ctx captured earlier throws once it is stale, so
 * everything that draws or tells goes through this holder, set on session_start and cleared
 * on session_shutdown.
 */
import type { ExtensionContext, ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import { type NoticeLevel, notify, printError } from "./notify.ts";

export interface SessionUi {
  attach(ctx: Pick<ExtensionContext, "ui" | "hasUI">): void;
  detach(): void;
  /** The session's UI (its calls are no-ops in print and json mode), or undefined between sessions. */
  ui(): ExtensionUIContext | undefined;
  hasUI(): boolean;
  /** A notification with a UI; without one (print, json), a line on stderr. */
  tell(text: string, level: NoticeLevel): void;
}

export function sessionUi(): SessionUi {
  let current: Pick<ExtensionContext, "ui" | "hasUI"> | undefined;
  return {
    attach(ctx) {
      current = { ui: ctx.ui, hasUI: ctx.hasUI };
    },
    detach() {
      current = undefined;
    },
    ui: () => current?.ui,
    hasUI: () => current?.hasUI ?? false,
    tell(text, level) {
      if (current?.hasUI) notify(current.ui, text, level);
      else printError(text);
    },
  };
}
