/**
 * The user-facing side of the local supervisor: the footer follows the status the chart
 * emits; its notices become notifications (or stderr lines while pi quits). It reaches the UI
 * only through the session holder, never through a ctx captured earlier (stale after /reload).
 */
import { footerLine } from "../pi-session/footer-line.ts";
import { notify, printError } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import { effectReportsText, footerText, noticeMessage } from "./messages.ts";
import type { LocalSupervisor } from "./supervisor.ts";

export const FOOTER_KEY = "llamafiles";

export function bindLocalStatusView(supervisor: LocalSupervisor, session: SessionUi) {
  const footer = footerLine(FOOTER_KEY, session.ui);
  footer.show(footerText(supervisor.status.current()));
  const offStatus = supervisor.status.subscribe((status) => footer.show(footerText(status)));
  const offNotice = supervisor.onNotice((notice) => {
    const message = noticeMessage(notice);
    if (message.channel === "stderr") printError(message.text);
    else notify(session.ui(), message.text, message.level);
  });
  const offReport = supervisor.onReport((report) => {
    for (const message of effectReportsText([report])) notify(session.ui(), message.text, message.level);
  });
  return {
    redraw: footer.redraw,
    dispose(): void {
      offStatus();
      offNotice();
      offReport();
    },
  };
}
