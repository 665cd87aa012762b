// Failures of the proxy and the router, classified into codes and told for people, fed with
// the errors and bodies recorded from the real Caddy + llama.cpp router
// (tests/fixtures/llama-server/C03, C04, B03, B05, C06).
import { describe, expect, test } from "vitest";
import { routerFailureText, type SettingsForWords } from "../../src/ai-server/messages.ts";
import {
  classifyHttpFailure,
  classifyTransportError,
  type RequestContext,
  routerErrorMessage,
} from "../../src/ai-server/router-failures.ts";
import { concatenatedJson, fixture } from "../helpers/fixtures.ts";

const explainTransportError = (error: unknown, w: SettingsForWords) => routerFailureText(classifyTransportError(error), w);
const explainHttpFailure = (status: number, body: string, context: RequestContext, w: SettingsForWords) =>
  routerFailureText(classifyHttpFailure(status, body, context), w);

const where = {
  url: "https://localhost:8443",
  ca: { value: "/c/root-ca.pem", source: "AI_SERVER_CA" },
  clientCert: { value: "/c/client.pem", source: "AI_SERVER_CLIENT_CERT" },
  clientKey: { value: "/c/client-key.pem", source: "AI_SERVER_CLIENT_KEY" },
};

type Recorded = { label: string; error?: { code?: string; message: string; cause?: { code?: string; message: string } } };
const asError = (recorded: NonNullable<Recorded["error"]>) =>
  Object.assign(new Error(recorded.message), {
    code: recorded.code,
    cause: recorded.cause && Object.assign(new Error(recorded.cause.message), { code: recorded.cause.code }),
  });

describe("TLS failures recorded through Caddy", () => {
  const node = concatenatedJson<Recorded>(fixture("C03-node-mtls-results.json")).filter((r) => r.error);
  const undici = fixture("C04-node-undici-mtls-results.jsonl")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Recorded)
    .filter((r) => r.error);

  test.each(node.filter((r) => /no client cert|other \(untrusted\) CA|self-signed/i.test(r.label)).map((r) => [r.label, r] as const))(
    "node: %s → the client certificate was rejected",
    (_label, recorded) => {
      expect(explainTransportError(asError(recorded.error!), where)).toMatch(
        /^ai-server: localhost:8443 rejected the client certificate \/c\/client\.pem \(TLS alert\)\. Check that it is signed by the CA/,
      );
    },
  );

  test("undici: a refused certificate shows only as 'other side closed'", () => {
    const refused = undici.filter((r) => /no client cert|other CA/.test(r.label));
    expect(refused.length).toBeGreaterThan(0);
    for (const recorded of refused) {
      expect(explainTransportError(asError(recorded.error!), where)).toMatch(
        /^ai-server: localhost:8443 closed the connection before answering: it most likely refused the client certificate \/c\/client\.pem\./,
      );
    }
  });

  test("server CA not trusted (node and undici)", () => {
    const untrusted = [...node, ...undici].filter((r) => /CA not trusted|does not trust/i.test(r.label));
    expect(untrusted.length).toBeGreaterThan(0);
    for (const recorded of untrusted) {
      expect(explainTransportError(asError(recorded.error!), where)).toBe(
        "ai-server: the server certificate of localhost:8443 is not signed by the CA in /c/root-ca.pem (AI_SERVER_CA). Copy the proxy's root CA there.",
      );
    }
  });

  test("unknown SNI (alert internal error)", () => {
    const sni = node.filter((r) => /internal error/i.test(r.error!.message));
    for (const recorded of sni)
      expect(explainTransportError(asError(recorded.error!), where)).toMatch(/the proxy has no site for the name/);
  });

  test("cert/key mismatch, refused, unknown host", () => {
    const mismatch = Object.assign(new Error("key values mismatch"), { code: "ERR_OSSL_X509_KEY_VALUES_MISMATCH" });
    expect(explainTransportError(mismatch, where)).toBe(
      "ai-server: the client certificate /c/client.pem and the key /c/client-key.pem do not belong together.",
    );
    expect(explainTransportError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), where)).toBe(
      "ai-server: nothing answers at https://localhost:8443 (connection refused). Is the proxy running, and is the port right?",
    );
    expect(explainTransportError(Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }), where)).toBe(
      "ai-server: cannot resolve the host localhost of AI_SERVER_URL (https://localhost:8443).",
    );
  });
});

describe("HTTP failures with the router's own bodies", () => {
  const body = (status: number, message: string, type = "invalid_request_error") =>
    JSON.stringify({ error: { code: status, message, type } });

  test("bodies: JSON error message, or plain text", () => {
    expect(routerErrorMessage(body(400, "model is not loaded"))).toBe("model is not loaded");
    expect(routerErrorMessage("proxy error: Could not establish connection")).toBe("proxy error: Could not establish connection");
  });

  test.each([
    [421, "", { action: "list models" }, /HTTP 421 Misdirected Request\)\. Connecting by IP address sends no TLS server name/],
    [
      502,
      "",
      { action: "chat with", modelId: "tiny-a" },
      /is up but the llama-server router behind it does not answer \(HTTP 502\)\. Check the service: systemctl --user status llama-server\.service/,
    ],
    [
      404,
      JSON.stringify({ error: { message: "File Not Found", type: "not_found_error", code: 404 } }),
      { action: "load", modelId: "nope", knownIds: ["tiny-a", "tiny-b"] },
      /^ai-server: load nope: the router does not know this model, or it is not in router mode \(HTTP 404 "File Not Found"\)\. Known models: tiny-a, tiny-b\.$/,
    ],
    [
      400,
      body(400, "model is not loaded"),
      { action: "chat with", modelId: "tiny-b" },
      /the model is not loaded and the router does not autoload\. Load it first: \/ai-server-load tiny-b\./,
    ],
    [
      500,
      "proxy error: Could not establish connection",
      { action: "chat with", modelId: "tiny-b" },
      /could not reach the model's worker \(HTTP 500 "proxy error: Could not establish connection"\)/,
    ],
    [
      400,
      body(400, "model 'nope' not found"),
      { action: "chat with", modelId: "nope" },
      /the router does not know this model \(HTTP 400 "model 'nope' not found"\)/,
    ],
    [
      500,
      body(500, "model name=tiny-b failed to load", "server_error"),
      { action: "chat with", modelId: "tiny-b" },
      /failed: HTTP 500 "model name=tiny-b failed to load"/,
    ],
  ] as const)("HTTP %i", (status, text, context, expected) => {
    expect(explainHttpFailure(status, text, context, where)).toMatch(expected);
  });

  test("the codes the router chart's guards test come from the router's recorded bodies", () => {
    expect(classifyHttpFailure(400, body(400, "model is already running"), { action: "load" }).code).toBe("already-loaded");
    expect(classifyHttpFailure(400, body(400, "model is not running"), { action: "unload" }).code).toBe("not-loaded");
    expect(classifyHttpFailure(400, body(400, "model is not found"), { action: "unload" }).code).toBe("unknown-model");
    expect(classifyHttpFailure(502, "", { action: "load" }).code).toBe("router-down");
  });

  test("the recorded bodies are the ones these cases quote", () => {
    const b03 = fixture("B03-router-models-list-and-load.txt");
    for (const message of ["File Not Found", "model is not running", "model is not found"]) expect(b03).toContain(message);
    expect(fixture("B04-router-load-poll-transitions.txt")).toContain("model is already running");
    expect(fixture("B08b-router-sigterm-and-crash-mid-stream.txt")).toContain("proxy error: Could not establish connection");
    expect(fixture("C06-caddy-upstream-down.txt")).toContain("HTTP/2 502");
  });
});
