/**
 * The user-facing side of the local supervisor: footer status follows the machine's
 * state; its notices become notifications (or stderr lines while pi quits). It reaches
 * the UI only through `currentUi()`, never through a ctx captured earlier: a stale ctx
 * throws after /reload.
 */
import type { ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import type { Notice } from "../../machines/local-server.machine.ts";
import type { LocalServerStatus, LocalSupervisor } from "./supervisor.ts";
import { footerLine } from "../pi-session/footer-line.ts";
import { notify } from "../pi-session/notify.ts";

export const FOOTER_KEY = "llamafiles";

export function footerText(status: LocalServerStatus): string | undefined {
  if (!status.model) return undefined;
  switch (status.phase) {
    case "starting":
      return `Starting ${status.model.name}...`;
    case "ready":
      return `${status.model.name} running`;
    case "stopping":
      return `Stopping ${status.model.name}...`;
    default:
      return undefined;
  }
}

/** Spec §6.4, word for word. */
export function llamafilesReport(status: LocalServerStatus): string {
  if (!status.model || status.phase === "idle") return "No llamafile server is running";
  const pid = status.adopted ? "adopted" : (status.pid ?? "pending");
  return `Running: ${status.model.name} (id=${status.model.id}, port=${status.model.port}, pid=${pid}, status=${status.phase})`;
}

export function bindLocalStatusView(supervisor: LocalSupervisor, currentUi: () => ExtensionUIContext | undefined) {
  const footer = footerLine(FOOTER_KEY, currentUi);
  const offChange = supervisor.onChange(() => footer.show(footerText(supervisor.status())));
  const offNotice = supervisor.onNotice((notice: Notice) => {
    if (notice.type === "shutdownProgress") {
      process.stderr.write(`${notice.message}\n`);
      return;
    }
    notify(currentUi(), notice.message, notice.level);
  });
  return {
    redraw: footer.redraw,
    dispose(): void {
      offChange();
      offNotice();
    },
  };
}
