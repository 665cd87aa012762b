/**
 * GET /props of a llama.cpp server (llama-server, llamafile; per model on a router), read as
 * a hostile answer: every field is checked and a field that is not what it should be is
 * left out, so the caller falls back to what the user declared (docs/llama-server-behaviour.md).
 */
import type { ServerProps } from "../../machines/server-props.ts";

/** Larger than any context a model has today; a bigger value is not believed. */
const MAX_CONTEXT = 1 << 27;

const positiveInteger = (value: unknown, max: number) =>
  typeof value === "number" && Number.isSafeInteger(value) && value > 0 && value <= max ? value : undefined;
const boolean = (value: unknown) => (typeof value === "boolean" ? value : undefined);
const object = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

export function parseServerProps(body: unknown): ServerProps {
  const root = object(body);
  const props: ServerProps = {
    // A router's own /props says n_ctx 0: no model, nothing to believe.
    contextSize: positiveInteger(object(root.default_generation_settings).n_ctx, MAX_CONTEXT),
    slots: positiveInteger(root.total_slots, 4096),
    vision: boolean(object(root.modalities).vision),
    toolCalls: boolean(object(root.chat_template_caps).supports_tool_calls),
  };
  return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined)) as ServerProps;
}

/** Parses the text of an answer; anything that is not JSON says nothing. */
export function serverPropsFromText(text: string): ServerProps {
  try {
    return parseServerProps(JSON.parse(text));
  } catch {
    return {};
  }
}
