/**
 * A request to a local server goes to this pi's own slot: the JSON body gets `"id_slot": k` (an
 * integer within the server's slots: the server ignores a string and wraps an id out of range,
 * D02), and the slot is marked as holding a conversation not saved yet. Once the answer has
 * been read, the task id the slot shows is noted (GET /slots): at save time another id means
 * another client used the slot since (a server with more pi sessions than slots), and its
 * content is not saved as this session's. Without a claimed slot the body goes unchanged and
 * the server places it. Every answer counts as under way until it ends (whileAnswering).
 */
import { withSlot } from "../../llama-cpp/slots.ts";
import type { Conversation } from "../../pi-session/session-ui.ts";
import { noteAnswered, noteRequest, pinnedSlot, whileAnswering } from "./session-slots.ts";
import { slotTask } from "./slot-http.ts";

export function fetchPinningSlot(
  port: number,
  conversation: () => Conversation | undefined,
  base: typeof globalThis.fetch,
): typeof globalThis.fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const slot = pinnedSlot(port);
    noteRequest(port, conversation());
    const pinned = slot !== undefined && typeof init?.body === "string" ? withSlot(init.body, slot) : undefined;
    if (pinned === undefined || slot === undefined) return whileAnswering(port, () => base(input, init));
    const noted = () =>
      void slotTask(port, slot, { timeoutMs: 2_000 }).then(
        (task) => noteAnswered(port, slot, task),
        () => noteAnswered(port, slot, undefined),
      );
    return whileAnswering(port, () => base(input, { ...init, body: pinned }), noted);
  }) as typeof globalThis.fetch;
}
