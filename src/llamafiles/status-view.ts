/**
 * The user-facing side of the local supervisor: the footer follows the status the chart
 * emits and the figures of the last answer; its notices become notifications (or stderr lines while pi quits). It reaches the UI
 * only through the session holder, never through a ctx captured earlier (stale after /reload).
 */
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { footerLine } from "../pi-session/footer-line.ts";
import { notify, printError } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import { LLAMAFILES_PROVIDER } from "./config.ts";
import { footerText, noticeMessage } from "./messages.ts";
import type { LocalSupervisor } from "./supervisor.ts";

export const FOOTER_KEY = "llamafiles";

export function bindLocalStatusView(supervisor: LocalSupervisor, session: SessionUi, meter: AnswerMeter) {
  const footer = footerLine(FOOTER_KEY, session.ui);
  /** The figures shown are those of the model that answered last, while its server runs. */
  const render = () => {
    const status = supervisor.status.current();
    const model = status.shown.model;
    footer.show(footerText(status, model && meter.last(`${LLAMAFILES_PROVIDER}/${model.id}`)));
  };
  render();
  const offStatus = supervisor.status.subscribe(render);
  const offFigures = meter.subscribe(render);
  const offNotice = supervisor.onNotice((notice) => {
    const message = noticeMessage(notice);
    if (message.channel === "stderr") printError(message.text);
    else if (message.channel === "tell") session.tell(message.text, message.level);
    else notify(session.ui(), message.text, message.level);
  });
  return {
    redraw: footer.redraw,
    dispose(): void {
      offStatus();
      offFigures();
      offNotice();
    },
  };
}
