import type { ExtensionUIContext } from "@earendil-works/pi-coding-agent";

export type NoticeLevel = "info" | "success" | "warning" | "error";

/** pi has no "success" level: a success (a model is ready) is shown as info. */
export function notify(ui: ExtensionUIContext | undefined, message: string, level: NoticeLevel): void {
  ui?.notify(message, level === "success" ? "info" : level);
}
