/** Every way the extension puts words in front of the user, each made terminal-safe. */
import type { ExtensionCommandContext, ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import { terminalSafe } from "./terminal-text.ts";

export type NoticeLevel = "info" | "success" | "warning" | "error";

/** A notification. pi has no "success" level: a success (a model is ready) is shown as info. */
export function notify(ui: ExtensionUIContext | undefined, message: string, level: NoticeLevel): void {
  ui?.notify(terminalSafe(message), level === "success" ? "info" : level);
}

/** A line on stderr: where pi has no UI (print and json mode, or while it quits). */
export function printError(text: string): void {
  process.stderr.write(`${terminalSafe(text)}\n`);
}

/** A command's answer: a notification with a UI; without one, stdout for information and stderr for problems. */
export function reply(ctx: Pick<ExtensionCommandContext, "hasUI" | "ui">, text: string, level: NoticeLevel = "info"): void {
  if (ctx.hasUI) notify(ctx.ui, text, level);
  else if (level === "info" || level === "success") process.stdout.write(`${terminalSafe(text)}\n`);
  else printError(text);
}
