/**
 * A request to a local server goes to this pi's own slot: the JSON body gets `"id_slot": k` (an
 * integer within the server's slots: the server ignores a string and wraps an id out of range,
 * D02), and the slot is marked as holding a conversation not saved yet. Without a claimed slot
 * the body goes unchanged and the server places it.
 */
import { withSlot } from "../../llama-cpp/slots.ts";
import type { Conversation } from "../../pi-session/session-ui.ts";
import { noteRequest, pinnedSlot } from "./session-slots.ts";

export function fetchPinningSlot(
  port: number,
  conversation: () => Conversation | undefined,
  base: typeof globalThis.fetch,
): typeof globalThis.fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const slot = pinnedSlot(port);
    noteRequest(port, conversation());
    const pinned = slot !== undefined && typeof init?.body === "string" ? withSlot(init.body, slot) : undefined;
    return base(input, pinned === undefined ? init : { ...init, body: pinned });
  }) as typeof globalThis.fetch;
}
