/**
 * The user-facing side of any backend's supervisor: the footer entry follows the status the
 * chart emits and the figures of the last answer (redrawn every second while its text counts
 * time), and notices become notifications, or stderr lines while pi quits. It reaches the UI only
 * through the session holder, never through a ctx captured earlier (stale after /reload).
 */
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { footerLine } from "../pi-session/footer-line.ts";
import { notify, printError } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { Backend, BackendWords, Supervisor } from "./contract.ts";

export function bindStatusView<Status, Notice>(
  backend: Backend<Status, Notice>,
  supervisor: Supervisor<Status, Notice>,
  words: BackendWords<Status, Notice>,
  session: SessionUi,
  meter: AnswerMeter,
) {
  const footer = footerLine(backend.provider, session.ui);
  const last = (modelId: string) => meter.last(`${backend.provider}/${modelId}`);
  /** When the shown model entered its phase (a load's elapsed seconds count from there). */
  let shownPhase: string | undefined;
  let phaseSinceMs = Date.now();
  let ticker: NodeJS.Timeout | undefined;
  const render = () => footer.show(words.footer(supervisor.status.current(), { now: Date.now(), phaseSinceMs, last }));
  const follow = (status: Status) => {
    const shown = backend.shown(status);
    const phase = shown && `${shown.modelId}\u0000${shown.phase}`;
    if (phase !== shownPhase) {
      shownPhase = phase;
      phaseSinceMs = Date.now();
    }
    const ticks = words.footerTicks(status);
    if (ticks && !ticker) {
      ticker = setInterval(render, 1_000);
      ticker.unref();
    } else if (!ticks && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
    render();
  };
  follow(supervisor.status.current());
  const offStatus = supervisor.status.subscribe(follow);
  const offFigures = meter.subscribe(render);
  const offNotice = supervisor.onNotice((notice) => {
    for (const message of words.notice(notice)) {
      if (message.channel === "stderr") printError(message.text);
      else if (message.channel === "tell") session.tell(message.text, message.level);
      else notify(session.ui(), message.text, message.level);
    }
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
