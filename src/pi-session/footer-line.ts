import type { ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import { terminalSafe } from "./terminal-text.ts";

/**
 * One footer status entry: sets it only when the text changes, and draws it again after pi
 * cleared the footer (pi resets it on every session change).
 */
export function footerLine(key: string, currentUi: () => ExtensionUIContext | undefined) {
  let shown: string | undefined;
  let wanted: string | undefined;
  const show = (text: string | undefined) => {
    wanted = text;
    const ui = currentUi();
    if (!ui || text === shown) return;
    shown = text;
    ui.setStatus(key, text === undefined ? undefined : terminalSafe(text));
  };
  return {
    show,
    redraw(): void {
      shown = undefined;
      show(wanted);
    },
  };
}
