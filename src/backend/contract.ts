/**
 * What a backend is: the contract every kind of llama.cpp server this extension offers in pi
 * implements (local servers it starts, `src/llamafiles/`; a remote router, `src/ai-server/`).
 * The generic provider feature (src/backend/feature.ts) does everything else the same way for
 * all of them: pi's hooks, loading the statechart on first use, the readiness gate before a
 * request, the request itself, learning what a server serves, the footer, the notices.
 * docs/architecture.md, "Adding a backend", walks through a third one.
 */
import type { Api, AssistantMessageEventStream, Model } from "@earendil-works/pi-ai";
import type { InspectionEvent, Observer } from "xstate";
import type { ServerPhase } from "../../machines/lifecycle.ts";
import type { ServerProps } from "../../machines/server-props.ts";
import type { LastAnswer } from "../llama-cpp/answer-meter.ts";
import type { ContextFix } from "../llama-cpp/messages.ts";
import type { DeclaredModel, ServedOverride } from "../llama-cpp/model-facts.ts";
import type { AnswerTail } from "../llama-cpp/timings.ts";
import type { NoticeLevel } from "../pi-session/notify.ts";
import type { StatusSource } from "../pi-session/status-channel.ts";

export type { ServerPhase };

/** One model of a backend as the generic feature follows it: where its server is in the lifecycle. */
export interface ModelServing {
  modelId: string;
  phase: ServerPhase;
  /** What the server said it serves, once it is ready (`{}` when it said nothing). */
  props: ServerProps | undefined;
}

/** How an answer ended, for the supervisor (a failed answer may mean the server is gone). */
export type AnswerEnd = "done" | "error" | "aborted";

/**
 * The facade over a backend's statechart: a few verbs, and the status the chart emits. pi's
 * hooks reach the chart only through these, and readers follow `status`, never the snapshot.
 */
export interface Supervisor<Status, Notice> {
  /**
   * pi's session started or was replaced (`restored`: this backend's model pi starts with, if
   * any). Called on every session_start: twice in a row must change nothing.
   */
  sessionStarted(restored: string | undefined): void;
  select(modelId: string): void;
  /** pi switched to a model of another provider. */
  deselect(): void;
  /**
   * Resolves once the model can answer, bringing it up if needed; rejects with the words to show
   * when it cannot. `signal` (Esc) ends the wait, never the start.
   */
  ensureReady(modelId: string, signal?: AbortSignal): Promise<void>;
  /** An answer of `modelId` starts streaming; the returned function is called once when it ends. */
  answering(modelId: string): (end: AnswerEnd) => void;
  /** "quit": pi exits, stop what pi owns and resolve when done. "detach": the session is replaced, keep it running. */
  end(how: "quit" | "detach"): Promise<void>;
  status: StatusSource<Status>;
  onNotice(listener: (notice: Notice) => void): () => void;
}

/** A notice in words, and where it goes. */
export interface Message {
  text: string;
  level: NoticeLevel;
  /**
   * A notification; a line on stderr (while pi quits its UI is gone); or "tell": a notification
   * where pi has a UI and a line on stderr where it has none (print and json mode), for what pi
   * did to a process that the user must hear of in every mode.
   */
  channel: "notify" | "stderr" | "tell";
}

/** Everything a backend says, loaded after pi's start-up (not during it). */
export interface BackendWords<Status, Notice> {
  /** The footer entry: what the shown model's server does; `last` gives a model's last answer figures. */
  footer(status: Status, view: { now: number; phaseSinceMs: number; last(modelId: string): LastAnswer | undefined }): string | undefined;
  /** Whether the footer text changes with time alone (an elapsed count): it is then redrawn every second. */
  footerTicks(status: Status): boolean;
  /** The working indicator's phrase while pi waits for this backend, or undefined. */
  activity(status: Status | undefined, requested: string | undefined): string | undefined;
  /** What to say of a notice (nothing, one message, or several). */
  notice(notice: Notice): Message[];
  /** How a user changes a model's context, in this backend's terms. */
  contextFix: ContextFix;
}

/** What one request is sent with, once the model is ready. */
export interface RequestPlan {
  /** pi's model as the backend serves it (its URL, the context its server serves, …). */
  model: Model<Api>;
  /** The fetch pi-ai streams with; it must pass every byte of an event stream through `tail`. */
  fetch: typeof globalThis.fetch;
  /** A failure the fetch recorded, in this backend's words: it replaces pi-ai's generic error text. */
  failureText(): string | undefined;
}

/** Starts pi-ai's streaming of a request with the planned model and fetch (streamSimple or stream, as pi called). */
export type StartStream = (
  model: Model<Api>,
  apis: typeof import("@earendil-works/pi-ai/compat"),
  fetch: typeof globalThis.fetch,
) => AssistantMessageEventStream;

/** A backend: one pi provider and the servers behind it. */
export interface Backend<Status, Notice> {
  /** The pi provider's name ("llamafiles", "ai-server", …); also its footer key and the answer meter's prefix. */
  provider: string;
  /**
   * Whether a session's start needs the supervisor (a local backend takes over the servers an
   * earlier extension instance held); else it loads with the first selection or prompt.
   */
  supervisedFromSessionStart: boolean;
  /** The statechart and its effects, loaded on first use. */
  loadSupervisor(inspect: Observer<InspectionEvent> | undefined): Promise<Supervisor<Status, Notice>>;
  loadWords(): Promise<BackendWords<Status, Notice>>;
  /** The model the footer is about, and every model the backend follows (what their servers serve is learned from these). */
  shown(status: Status): ModelServing | undefined;
  servings(status: Status): ModelServing[];
  /** What the user declared of a model (its name, context, input), before any server said anything. */
  declared(modelId: string): { name: string; declared: DeclaredModel } | undefined;
  /** What pi assumes of a model nobody declared anything of. */
  defaults: { contextWindow: number; maxTokens: number };
  /** How a request of `model` is sent (`served`: what its server said it serves). */
  planRequest(model: Model<Api>, served: ServedOverride | undefined, tail: AnswerTail): RequestPlan;
  /** Registers the provider again: what a server said it serves changed the models. */
  reregister(): void;
  /** pi quits or replaces the session, whether or not the supervisor ever loaded (close connections). */
  close?(): Promise<void>;
}
