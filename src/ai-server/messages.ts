/**
 * Failures of the mTLS proxy and the llama.cpp router, told for people: what failed, with
 * the value, and what to check. Facts behind each case: ../shared/docs/llama-server-facts.md §2, §4.
 */
import type { AiServerSettings } from "./config.ts";

type Where = Pick<AiServerSettings, "url" | "ca" | "clientCert" | "clientKey">;

/** The codes an error or its causes carry (undici nests the TLS error in `cause`). */
function codesOf(error: unknown): { codes: string[]; text: string } {
  const codes: string[] = [];
  const texts: string[] = [];
  for (let current = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === "string") codes.push(current.code);
    if (typeof current.message === "string") texts.push(current.message);
    current = current.cause as typeof current;
  }
  return { codes, text: texts.join(" / ") };
}

export function explainTransportError(error: unknown, where: Where): string {
  const { codes, text } = codesOf(error);
  const has = (...wanted: string[]) => wanted.some((code) => codes.includes(code));
  const host = new URL(where.url).host;
  const checkCert = `Check that it is signed by the CA the proxy trusts and not expired: openssl verify -CAfile <the proxy's CA> ${where.clientCert.value}; openssl x509 -noout -enddate -in ${where.clientCert.value}`;
  if (has("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED", "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED") ||
      /alert (bad certificate|unknown ca|certificate required|certificate expired)|alert number (42|45|48|116)/i.test(text)) {
    return `ai-server: ${host} rejected the client certificate ${where.clientCert.value} (TLS alert). ${checkCert}`;
  }
  // With TLS 1.3 a refused client certificate often shows only as a connection closed
  // before any answer (undici: "other side closed"; Node: "socket hang up").
  if (has("UND_ERR_SOCKET", "ECONNRESET", "EPIPE") || /other side closed|socket hang up/i.test(text)) {
    return `ai-server: ${host} closed the connection before answering: it most likely refused the client certificate ${where.clientCert.value}. ${checkCert}`;
  }
  if (has("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT", "CERT_UNTRUSTED")) {
    return `ai-server: the server certificate of ${host} is not signed by the CA in ${where.ca.value} (${where.ca.source}). Copy the proxy's root CA there.`;
  }
  if (has("CERT_HAS_EXPIRED")) return `ai-server: the server certificate of ${host} has expired; renew it on the proxy.`;
  if (has("ERR_TLS_CERT_ALTNAME_INVALID")) {
    return `ai-server: the server certificate of ${host} is not issued for that name. Use the host name in the certificate in AI_SERVER_URL (now ${where.url}).`;
  }
  if (/alert internal error|alert number 80/i.test(text)) {
    return `ai-server: the proxy has no site for the name ${host} (TLS alert "internal error" on SNI). Check the host name in AI_SERVER_URL (now ${where.url}).`;
  }
  if (has("ERR_OSSL_X509_KEY_VALUES_MISMATCH")) {
    return `ai-server: the client certificate ${where.clientCert.value} and the key ${where.clientKey.value} do not belong together.`;
  }
  if (has("ECONNREFUSED")) return `ai-server: nothing answers at ${where.url} (connection refused). Is the proxy running, and is the port right?`;
  if (has("ENOTFOUND", "EAI_AGAIN")) return `ai-server: cannot resolve the host ${new URL(where.url).hostname} of AI_SERVER_URL (${where.url}).`;
  if (has("ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT") || /timeout|timed out/i.test(text)) {
    return `ai-server: no answer from ${where.url} in time. Is the host reachable (VPN, firewall)?`;
  }
  if (has("EPROTO")) return `ai-server: TLS with ${host} failed (${text}). Check AI_SERVER_URL and the certificate files.`;
  return `ai-server: request to ${where.url} failed: ${text || String(error)}`;
}

export interface FailureContext {
  /** e.g. "load", "unload", "list models", "chat". */
  action: string;
  modelId?: string;
  knownIds?: readonly string[];
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

export function explainHttpFailure(status: number, body: string, context: FailureContext, where: Where): string {
  const message = routerErrorMessage(body);
  const model = context.modelId ? ` ${context.modelId}` : "";
  const known = context.knownIds?.length ? ` Known models: ${context.knownIds.join(", ")}.` : "";
  if (status === 421) {
    return `ai-server: the proxy refused the host name (HTTP 421 Misdirected Request). Connecting by IP address sends no TLS server name; use the host name of its certificate in AI_SERVER_URL (now ${where.url}).`;
  }
  if (status === 502 || status === 504) {
    return `ai-server: the proxy at ${where.url} is up but the llama-server router behind it does not answer (HTTP ${status}). Check the service: systemctl --user status llama-server.service (or /ai-server-restart).`;
  }
  if (status === 404) {
    return `ai-server: ${context.action}${model}: the router does not know this model, or it is not in router mode (HTTP 404 "${message || "File Not Found"}").${known}`;
  }
  if (/^proxy error/i.test(message)) {
    return `ai-server: ${context.action}${model}: the router could not reach the model's worker (HTTP ${status} "${message}"); the worker probably died. Unload and load it again: /ai-server-unload${model} then /ai-server-load${model}.`;
  }
  if (message === "model is not loaded") {
    return `ai-server: ${context.action}${model}: the model is not loaded and the router does not autoload. Load it first: /ai-server-load${model}.`;
  }
  if (message === "model is already running") return `ai-server: ${context.action}${model}: already loaded.`;
  if (message === "model is not running") return `ai-server: ${context.action}${model}: it is not loaded.`;
  if (message === "model is not found" || /^model '.*' not found$/.test(message)) {
    return `ai-server: ${context.action}${model}: the router does not know this model (HTTP ${status} "${message}").${known}`;
  }
  return `ai-server: ${context.action}${model} failed: HTTP ${status}${message ? ` "${message}"` : ""}.`;
}
