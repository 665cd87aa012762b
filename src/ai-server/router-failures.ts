/**
 * Failures of the mTLS proxy and the llama.cpp router as values: a code the router chart's
 * guards and the commands test, and the detail seen (src/ai-server/messages.ts words them).
 * Which error means what is in docs/llama-server-behaviour.md (TLS failures as seen by
 * Node and undici, the router's error bodies).
 */

export type RouterFailureCode =
  // TLS and transport, before any HTTP answer
  | "tls-client-refused"
  | "closed-before-answer"
  | "tls-untrusted-server"
  | "tls-server-cert-expired"
  | "tls-wrong-name"
  | "tls-no-site"
  | "tls-key-mismatch"
  | "tls-other"
  | "unreachable"
  | "unresolvable"
  | "no-answer-in-time"
  | "transport-other"
  // HTTP answers of the proxy and the router
  | "misdirected"
  | "router-down"
  | "not-found"
  | "worker-unreachable"
  | "autoload-off"
  | "already-loaded"
  | "not-loaded"
  | "unknown-model"
  | "http-other"
  | "not-json"
  // a chat answer that went wrong after it started
  | "stream-cut"
  | "stream-error-event"
  | "stream-incomplete"
  | "connection-lost"
  | "request-timeout";

export interface RouterFailure {
  code: RouterFailureCode;
  /** What was seen: the error text, the router's message, the raw line. */
  detail?: string;
  status?: number;
  /** What was being done, e.g. "load", "unload", "list models", "chat with". */
  action?: string;
  modelId?: string;
  knownIds?: readonly string[];
}

/**
 * Failures that say the router itself cannot be used now, whatever the model: nothing answers,
 * TLS fails, the proxy refuses the name or has no router behind it, the connection broke. Another
 * router that has the model may serve it instead (the words say which). Every code is classified:
 * a new code does not compile until it is.
 */
export const ROUTER_UNUSABLE: Readonly<Record<RouterFailureCode, boolean>> = {
  "tls-client-refused": true,
  "closed-before-answer": true,
  "tls-untrusted-server": true,
  "tls-server-cert-expired": true,
  "tls-wrong-name": true,
  "tls-no-site": true,
  "tls-key-mismatch": true,
  "tls-other": true,
  unreachable: true,
  unresolvable: true,
  "no-answer-in-time": true,
  "transport-other": true,
  misdirected: true,
  "router-down": true,
  "not-json": true,
  "connection-lost": true,
  // The router answered: it can be used, the model or the request is what went wrong.
  "not-found": false,
  "worker-unreachable": false,
  "autoload-off": false,
  "already-loaded": false,
  "not-loaded": false,
  "unknown-model": false,
  "http-other": false,
  "stream-cut": false,
  "stream-error-event": false,
  "stream-incomplete": false,
  "request-timeout": false,
};

/** A rejected router request: carries the failure value (`failure.code` is what code tests). */
export class RouterFailureError extends Error {
  readonly failure: RouterFailure;
  constructor(failure: RouterFailure) {
    super(`ai-server ${failure.code}${failure.detail ? `: ${failure.detail}` : ""}`);
    this.name = "RouterFailureError";
    this.failure = failure;
  }
}

/** The codes an error or its causes carry (undici nests the TLS error in `cause`). */
function codesOf(error: unknown): { codes: string[]; text: string } {
  const codes: string[] = [];
  const texts: string[] = [];
  for (
    let current = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    current && depth < 5;
    depth++
  ) {
    if (typeof current.code === "string") codes.push(current.code);
    if (typeof current.message === "string") texts.push(current.message);
    current = current.cause as typeof current;
  }
  return { codes, text: texts.join(" / ") };
}

/** A request that got no HTTP answer at all. */
export function classifyTransportError(error: unknown): RouterFailure {
  const { codes, text } = codesOf(error);
  const has = (...wanted: string[]) => wanted.some((code) => codes.includes(code));
  const failure = (code: RouterFailureCode): RouterFailure => ({ code, detail: text || String(error) });
  if (
    has(
      "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
      "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
      "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED",
      "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
    ) ||
    /alert (bad certificate|unknown ca|certificate required|certificate expired)|alert number (42|45|48|116)/i.test(text)
  ) {
    return failure("tls-client-refused");
  }
  // With TLS 1.3 a refused client certificate often shows only as a connection closed
  // before any answer (undici: "other side closed"; Node: "socket hang up").
  if (has("UND_ERR_SOCKET", "ECONNRESET", "EPIPE") || /other side closed|socket hang up/i.test(text))
    return failure("closed-before-answer");
  if (
    has(
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "UNABLE_TO_GET_ISSUER_CERT",
      "CERT_UNTRUSTED",
    )
  ) {
    return failure("tls-untrusted-server");
  }
  if (has("CERT_HAS_EXPIRED")) return failure("tls-server-cert-expired");
  if (has("ERR_TLS_CERT_ALTNAME_INVALID")) return failure("tls-wrong-name");
  if (/alert internal error|alert number 80/i.test(text)) return failure("tls-no-site");
  if (has("ERR_OSSL_X509_KEY_VALUES_MISMATCH")) return failure("tls-key-mismatch");
  if (has("ECONNREFUSED")) return failure("unreachable");
  if (has("ENOTFOUND", "EAI_AGAIN")) return failure("unresolvable");
  if (has("ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT") || /timeout|timed out/i.test(text)) return failure("no-answer-in-time");
  if (has("EPROTO")) return failure("tls-other");
  return failure("transport-other");
}

/** What an error and its causes say, in one line (undici: "terminated / other side closed"). */
export function errorDetail(error: unknown): string {
  return codesOf(error).text || String(error);
}

/** The message of a router error body: JSON `{"error":{"message"}}`, or plain text like `proxy error: …`. */
export function routerErrorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string };
    if (typeof parsed.error === "string") return parsed.error;
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    // plain text (the router's "proxy error: …" is sent as text despite its JSON content type)
  }
  return body.trim();
}

/** What the request was, for the words. */
export interface RequestContext {
  action: string;
  modelId?: string;
  knownIds?: readonly string[];
}

/** A non-2xx answer of the proxy or the router. */
export function classifyHttpFailure(status: number, body: string, context: RequestContext): RouterFailure {
  const message = routerErrorMessage(body);
  const failure = (code: RouterFailureCode): RouterFailure => ({ code, status, detail: message, ...context });
  if (status === 421) return failure("misdirected");
  if (status === 502 || status === 504) return failure("router-down");
  if (status === 404) return failure("not-found");
  if (/^proxy error/i.test(message)) return failure("worker-unreachable");
  if (message === "model is not loaded") return failure("autoload-off");
  if (message === "model is already running") return failure("already-loaded");
  if (message === "model is not running") return failure("not-loaded");
  if (message === "model is not found" || /^model '.*' not found$/.test(message)) return failure("unknown-model");
  return failure("http-other");
}
