/**
 * Every word said about what a llama.cpp server reported: the figures of an answer, the
 * differences between what was declared and what the server serves, a context too small
 * for pi. Both providers use these; `fix` says what to change where the model is configured.
 */
import type { ServerProps } from "../../machines/server-props.ts";
import type { LiveAnswer } from "./answer-meter.ts";
import type { ContextRoom, DeclaredSource, ModelFinding } from "./model-facts.ts";
import type { AnswerFigures, TokenCount } from "./timings.ts";

/** How the user changes a model's context, in the provider's terms. */
export interface ContextFix {
  /** e.g. `add "-c", "16384" to its "args" in models.json`, `/ai-server-ctx tiny-a 16384`. */
  setContext(tokens: number, modelId: string): string;
  /** Where the model's input is declared, e.g. `models.json`, `the fallback entry in ai-server.json`. */
  declaredIn: string;
}

const thousands = (n: number) => n.toLocaleString("en-US");

/** 48 tok/s, 7.5 tok/s, 1.9k tok/s. */
export function rateText(perSecond: number): string {
  if (perSecond >= 999.5) return `${(perSecond / 1000).toFixed(perSecond >= 9_950 ? 0 : 1)}k tok/s`;
  return `${perSecond >= 10 ? Math.round(perSecond) : perSecond.toFixed(1)} tok/s`;
}

const tokensText = (tokens: number) => `${thousands(tokens)} token${tokens === 1 ? "" : "s"}`;

/** The rate where it was measured, else the count: `48 tok/s`, `1 token`. */
const rateOrCount = (count: TokenCount) => (count.perSecond === undefined ? tokensText(count.tokens) : rateText(count.perSecond));

/** `6 tokens at 48 tok/s`, `1 token`. */
const countAndRate = (count: TokenCount) =>
  count.perSecond === undefined ? tokensText(count.tokens) : `${tokensText(count.tokens)} at ${rateText(count.perSecond)}`;

/** `48 tok/s · prompt 1.9k tok/s · cache 96%`: only the figures the server sent. */
export function figuresText(figures: AnswerFigures): string {
  const parts: string[] = [];
  if (figures.generated) parts.push(rateOrCount(figures.generated));
  if (figures.prompt) parts.push(`prompt ${rateOrCount(figures.prompt)}`);
  if (figures.cacheShare !== undefined) parts.push(`cache ${Math.round(figures.cacheShare * 100)}%`);
  return parts.join(" · ");
}

/** The longer form for the status commands. */
export function figuresDetailText(figures: AnswerFigures): string {
  const parts: string[] = [];
  if (figures.generated) parts.push(countAndRate(figures.generated));
  if (figures.prompt) parts.push(`prompt ${countAndRate(figures.prompt)}`);
  if (figures.cacheShare !== undefined) parts.push(`${Math.round(figures.cacheShare * 100)}% of the prompt from the cache`);
  return parts.join(", ");
}

/** The working indicator's phrase while an answer streams: `generating · 57 tok · 48 tok/s`. */
export function liveAnswerText(live: LiveAnswer): string {
  return ["generating", `${thousands(live.tokens)} tok`, ...(live.perSecond ? [rateText(live.perSecond)] : [])].join(" · ");
}

/** `context 8,192 tokens (from the server)`. */
export function contextText(contextWindow: number, props: ServerProps | undefined): string {
  const slots = props?.slots && props.slots > 1 ? `, ${props.slots} parallel slots` : "";
  return `context ${thousands(contextWindow)} tokens per request (${props?.contextSize ? `from the server${slots}` : "declared"})`;
}

const sourceText: Record<DeclaredSource, string> = {
  "models.json": "models.json says",
  preset: "its preset's ctx-size says",
  fallback: "its fallback entry says",
  discovery: "pi started it with -c",
};

export function findingText(model: string, finding: ModelFinding, fix: ContextFix, props: ServerProps | undefined): string {
  switch (finding.kind) {
    case "context-differs": {
      const slots =
        props?.slots && props.slots > 1
          ? ` (the server divides its context among ${props.slots} parallel slots; one request gets ${thousands(finding.server)})`
          : "";
      return `${model}: the server's context is ${thousands(finding.server)} tokens per request${slots}; ${sourceText[finding.source]} ${thousands(finding.declared)}. pi uses ${thousands(finding.server)}.`;
    }
    case "vision-differs":
      return finding.serverVision
        ? `${model}: the server accepts images, but ${fix.declaredIn} declares "input": ${JSON.stringify(finding.declaredInput)}; pi keeps what you declared (add "image" to use them).`
        : `${model}: ${fix.declaredIn} declares image input, but the server has no vision support (no --mmproj); pi keeps what you declared, and images will fail.`;
    case "no-tool-calls":
      return `${model}: the server's chat template cannot render tool calls, so pi's tools (read, edit, bash, …) will not work with it. Start llama-server with --jinja, or give it a chat template that supports tools (--chat-template-file).`;
  }
}

export function smallContextText(model: string, modelId: string, room: ContextRoom, fix: ContextFix): string {
  return `${model}: a context of ${thousands(room.contextWindow)} tokens is too small for pi: its system prompt and tools take about ${thousands(room.promptTokens)} tokens and pi keeps 4,096 free, which leaves ${thousands(room.answerTokens)} token${room.answerTokens === 1 ? "" : "s"} for an answer. Give the model a larger context: ${fix.setContext(room.suggested, modelId)}.`;
}
