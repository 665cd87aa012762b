/**
 * What pi should believe about a model once its server said what it serves: the server's
 * context size over the declared one (a request larger than the server's context fails, a
 * smaller declared one compacts too early), its image input unless the user declared the
 * input, and what the user should hear about the difference. Pure: the glue
 * (src/pi-session/served-models.ts) applies the result to pi's registry.
 */
import type { ServerProps } from "../../machines/server-props.ts";

/** Where a declared context size came from (so a notice can name it). */
export type DeclaredSource = "models.json" | "preset" | "fallback" | "discovery";

/** What the user (or the router's preset) told pi about a model. */
export interface DeclaredModel {
  contextWindow?: { value: number; source: DeclaredSource };
  /** Only when the user wrote `input` explicitly. */
  input?: ("text" | "image")[];
  maxTokens?: number;
}

/** What pi uses for the model. */
export interface ServedModel {
  contextWindow: number;
  input: ("text" | "image")[];
  maxTokens: number;
}

/** What the server's answer changes of the registered model: only what it said. */
export type ServedOverride = Partial<ServedModel>;

export type ModelFinding =
  | { kind: "context-differs"; declared: number; source: DeclaredSource; server: number }
  | { kind: "vision-differs"; declaredInput: ("text" | "image")[]; serverVision: boolean }
  | { kind: "no-tool-calls" };

export function reconcile(
  declared: DeclaredModel,
  defaults: { contextWindow: number; maxTokens: number },
  props: ServerProps | undefined,
): { model: ServedModel; override: ServedOverride; findings: ModelFinding[] } {
  const findings: ModelFinding[] = [];
  const server = props?.contextSize;
  const contextWindow = server ?? declared.contextWindow?.value ?? defaults.contextWindow;
  if (server !== undefined && declared.contextWindow && declared.contextWindow.value !== server)
    findings.push({ kind: "context-differs", declared: declared.contextWindow.value, source: declared.contextWindow.source, server });

  let input: ("text" | "image")[];
  if (declared.input) {
    input = declared.input;
    if (props?.vision !== undefined && declared.input.includes("image") !== props.vision)
      findings.push({ kind: "vision-differs", declaredInput: declared.input, serverVision: props.vision });
  } else input = props?.vision ? ["text", "image"] : ["text"];

  if (props?.toolCalls === false) findings.push({ kind: "no-tool-calls" });
  const maxTokens = Math.min(declared.maxTokens ?? defaults.maxTokens, contextWindow);
  const override: ServedOverride = {
    ...(server !== undefined ? { contextWindow, maxTokens } : {}),
    ...(props?.vision !== undefined && !declared.input ? { input } : {}),
  };
  return { model: { contextWindow, input, maxTokens }, override, findings };
}

/** pi-ai keeps this many tokens of a context free on every request (clampMaxTokensToContext). */
export const PI_SAFETY_TOKENS = 4096;
/** Less room than this for an answer, and pi's answers get cut short: worth a warning. */
export const USEFUL_ANSWER_TOKENS = 2048;

export interface ContextRoom {
  contextWindow: number;
  /** pi's system prompt and tool definitions, estimated as pi-ai does (4 characters a token). */
  promptTokens: number;
  /** Tokens left for an answer (pi-ai never asks for less than 1). */
  answerTokens: number;
  /** A context that would leave a useful answer room (a power of two). */
  suggested: number;
}

/** The room an answer has in `contextWindow` after pi's own prompt; undefined when it is enough. */
export function tooSmallContext(contextWindow: number, promptChars: number): ContextRoom | undefined {
  const promptTokens = Math.ceil(promptChars / 4);
  const room = contextWindow - promptTokens - PI_SAFETY_TOKENS;
  if (room >= USEFUL_ANSWER_TOKENS) return undefined;
  let suggested = 16384;
  while (suggested < promptTokens + PI_SAFETY_TOKENS + 4 * USEFUL_ANSWER_TOKENS) suggested *= 2;
  return { contextWindow, promptTokens, answerTokens: Math.max(1, room), suggested };
}
