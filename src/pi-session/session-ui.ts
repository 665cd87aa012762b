/**
 * The pi session running now. pi replaces sessions (/new, /resume, /fork) and re-evaluates
 * the extension on /reload; a ctx captured earlier throws once it is stale, so everything
 * that draws, tells or looks at the session goes through this holder, set on session_start
 * and cleared on session_shutdown.
 */
import type { Api, Model } from "@earendil-works/pi-ai";
import type { ExtensionContext, ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import { type NoticeLevel, notify, printError } from "./notify.ts";

type SessionContext = Pick<ExtensionContext, "ui" | "hasUI"> &
  Partial<Pick<ExtensionContext, "model" | "modelRegistry" | "getSystemPrompt" | "sessionManager">>;

/** A pi session as a conversation: pi's session id, and its session file when it has one (not an in-memory session). */
export interface Conversation {
  id: string;
  file: string | undefined;
}

export interface SessionUi {
  attach(ctx: SessionContext): void;
  detach(): void;
  /** The session's UI (its calls are no-ops in print and json mode), or undefined between sessions. */
  ui(): ExtensionUIContext | undefined;
  hasUI(): boolean;
  /** A notification with a UI; without one (print, json), a line on stderr. */
  tell(text: string, level: NoticeLevel): void;
  /** The session's model now. */
  model(): Model<Api> | undefined;
  /** pi's registry entry for a model, as registered now. */
  findModel(provider: string, id: string): Model<Api> | undefined;
  /** pi's effective system prompt now. */
  systemPrompt(): string | undefined;
  /** The conversation of the session now (whose prompt cache the servers keep). */
  conversation(): Conversation | undefined;
}

export function sessionUi(): SessionUi {
  let current: SessionContext | undefined;
  // A ctx pi has retired throws on use: nothing is known then.
  const ask = <T>(read: (ctx: SessionContext) => T): T | undefined => {
    try {
      return current ? read(current) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    attach(ctx) {
      current = ctx;
    },
    detach() {
      current = undefined;
    },
    ui: () => ask((ctx) => ctx.ui),
    hasUI: () => ask((ctx) => ctx.hasUI) ?? false,
    tell(text, level) {
      if (ask((ctx) => ctx.hasUI)) notify(current?.ui, text, level);
      else printError(text);
    },
    model: () => ask((ctx) => ctx.model),
    findModel: (provider, id) => ask((ctx) => ctx.modelRegistry?.find(provider, id)),
    systemPrompt: () => ask((ctx) => ctx.getSystemPrompt?.()),
    conversation: () =>
      ask((ctx) => {
        const id = ctx.sessionManager?.getSessionId();
        return id ? { id, file: ctx.sessionManager?.getSessionFile() } : undefined;
      }),
  };
}
