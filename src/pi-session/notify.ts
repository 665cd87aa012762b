import type { ExtensionUIContext } from "@earendil-works/pi-coding-agent";

export type NoticeLevel = "info" | "success" | "warning" | "error";

/** pi has no "success" level: the spec's success notifications are info (spec §6.1). */
export function notify(ui: ExtensionUIContext | undefined, message: string, level: NoticeLevel): void {
  ui?.notify(message, level === "success" ? "info" : level);
}
