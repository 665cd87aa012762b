/**
 * The footer and notifications for the ai-server model, following the status the chart
 * emits: `Loading <id>… 23s` while it loads (ticking once a second), `<id> loaded`,
 * `Unloading <id>…`. Reaches the UI only through the session holder (a captured ctx goes stale).
 */

import type { RouterModelStatus } from "../../machines/router-model.machine.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { footerLine } from "../pi-session/footer-line.ts";
import { notify } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import { footerText, noticeMessage, type SettingsForWords } from "./messages.ts";
import type { RouterSupervisor } from "./supervisor.ts";

/** `provider` keys the footer entry and the figures of the model's answers (`<provider>/<id>`). */
export function bindRouterStatusView(
  supervisor: RouterSupervisor,
  session: SessionUi,
  settings: SettingsForWords,
  meter: AnswerMeter,
  provider: string,
) {
  const footer = footerLine(provider, session.ui);
  let loadingSince: number | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const render = () => {
    const status = supervisor.status.current();
    const last = status.modelId ? meter.last(`${provider}/${status.modelId}`) : undefined;
    footer.show(footerText(status, loadingSince, Date.now(), last));
  };
  const follow = (status: RouterModelStatus) => {
    const loading = status.phase === "starting";
    if (loading && loadingSince === undefined) {
      loadingSince = Date.now();
      ticker = setInterval(render, 1_000);
      ticker.unref();
    } else if (!loading && loadingSince !== undefined) {
      loadingSince = undefined;
      clearInterval(ticker);
    }
    render();
  };
  follow(supervisor.status.current());
  const offStatus = supervisor.status.subscribe(follow);
  const offFigures = meter.subscribe(render);
  const offNotice = supervisor.onNotice((notice) => {
    // A restart is reported by the command that asked for it, with its time and what the router lists then.
    if (notice.kind === "restarted" || notice.kind === "restart-failed") return;
    const { text, level } = noticeMessage(notice, settings);
    notify(session.ui(), text, level);
  });
  return {
    redraw: footer.redraw,
    dispose(): void {
      clearInterval(ticker);
      offStatus();
      offFigures();
      offNotice();
    },
  };
}
