/**
 * A request to a local server goes to this pi's own slot: the JSON body gets `"id_slot": k` (an
 * integer within the server's slots: the server ignores a string and wraps an id out of range,
 * D02), and the slot is marked as holding a conversation not saved yet. Without a claimed slot
 * the body goes unchanged and the server places it.
 */
import type { Conversation } from "../../pi-session/session-ui.ts";
import { noteRequest, pinnedSlot } from "./session-slots.ts";

/** `{"id_slot":k,…}`: the field put first, without parsing the (possibly large) body. */
export function withSlot(body: string, slot: number): string | undefined {
  if (!body.startsWith("{")) return undefined;
  const rest = body.slice(1).trimStart();
  return `{"id_slot":${slot}${rest.startsWith("}") ? "" : ","}${rest}`;
}

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
