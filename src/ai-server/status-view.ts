/**
 * The footer and notifications for the ai-server model, derived from the router-model
 * machine: `Loading <id>… 23s` while it loads (ticking once a second), `<id> loaded`,
 * `Unloading <id>…`. Reaches the UI only through `currentUi()` (a captured ctx goes stale).
 */
import type { ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import type { RouterSnapshot, RouterSupervisor } from "./supervisor.ts";
import { footerLine } from "../pi-session/footer-line.ts";
import { notify } from "../pi-session/notify.ts";

export const ROUTER_FOOTER_KEY = "ai-server";

export function routerFooterText(snapshot: RouterSnapshot, loadingSinceMs: number | undefined, now: number): string | undefined {
  const id = snapshot.context.target;
  if (!id) return undefined;
  if (snapshot.matches("probing")) return `Checking ${id}…`;
  if (snapshot.matches("starting")) return `Loading ${id}… ${Math.floor((now - (loadingSinceMs ?? now)) / 1000)}s`;
  if (snapshot.matches("ready")) return `${id} loaded`;
  if (snapshot.matches("stopping")) return `Unloading ${id}…`;
  return undefined;
}

export function bindRouterStatusView(supervisor: RouterSupervisor, currentUi: () => ExtensionUIContext | undefined) {
  const footer = footerLine(ROUTER_FOOTER_KEY, currentUi);
  let loadingSince: number | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let latest: RouterSnapshot | undefined;
  const render = () => {
    if (latest) footer.show(routerFooterText(latest, loadingSince, Date.now()));
  };
  const offChange = supervisor.onChange((snapshot) => {
    latest = snapshot;
    const loading = snapshot.matches("starting");
    if (loading && loadingSince === undefined) {
      loadingSince = Date.now();
      ticker = setInterval(render, 1_000);
      ticker.unref();
    } else if (!loading && loadingSince !== undefined) {
      loadingSince = undefined;
      clearInterval(ticker);
    }
    render();
  });
  const offNotice = supervisor.onNotice((notice) => notify(currentUi(), notice.message, notice.level));
  return {
    redraw: footer.redraw,
    dispose(): void {
      clearInterval(ticker);
      offChange();
      offNotice();
    },
  };
}
