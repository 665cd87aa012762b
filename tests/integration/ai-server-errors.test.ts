// ai-server failures told for people: certificate files, a refused client
// certificate, an untrusted server CA, a wrong host (421), the router down behind the
// proxy (502), a dead worker (500 proxy error). Each message says what to check.
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";

let testbed: AiServerTestbed;
beforeEach(async () => {
  testbed = await startAiServerTestbed();
});
afterEach(async () => {
  await cleanupAll();
  await testbed.close();
});

const fallback = (agentDir: string) => writeFileSync(join(agentDir, "ai-server.json"), JSON.stringify({ models: [{ id: "tiny-a" }] }));
const aiNotices = (pi: Awaited<ReturnType<typeof startPi>>) => pi.notifications().filter((n) => n.message.startsWith("ai-server"));

test("a client certificate the proxy does not trust: discovery and chat both say so, naming the file", async () => {
  const env = { ...testbed.env, AI_SERVER_CLIENT_CERT: testbed.pki.rogue.cert, AI_SERVER_CLIENT_KEY: testbed.pki.rogue.key };
  const pi = await startPi({ aiServerEnv: env, setup: fallback });
  const expected = `ai-server: localhost:${testbed.router.port} closed the connection before answering: it most likely refused the client certificate ${testbed.pki.rogue.cert}. Check that it is signed by the CA the proxy trusts and not expired: openssl verify -CAfile <the proxy's CA> ${testbed.pki.rogue.cert}; openssl x509 -noout -enddate -in ${testbed.pki.rogue.cert}`;
  expect(aiNotices(pi)[0]?.message.split("\n")[0]).toBe(expected);
  await pi.select("ai-server/tiny-a");
  expect((await pi.prompt("hi")).error).toBe(expected);
});

test("a server certificate not signed by AI_SERVER_CA", async () => {
  const pi = await startPi({ aiServerEnv: { ...testbed.env, AI_SERVER_CA: testbed.pki.otherCa } });
  expect(aiNotices(pi)[0]?.message.split("\n")[0]).toBe(
    `ai-server: the server certificate of localhost:${testbed.router.port} is not signed by the CA in ${testbed.pki.otherCa} (AI_SERVER_CA). Copy the proxy's root CA there.`,
  );
});

test("a missing certificate file: an error naming the variable and the path; nothing registered", async () => {
  const pi = await startPi({ aiServerEnv: { ...testbed.env, AI_SERVER_CLIENT_CERT: "/nonexistent/client.pem" } });
  expect(aiNotices(pi)).toEqual([
    {
      type: "error",
      message: `ai-server: cannot read the client certificate /nonexistent/client.pem (the file does not exist); set by AI_SERVER_CLIENT_CERT. See README "Client set-up".`,
    },
  ]);
  expect(pi.runtime.services.modelRuntime.getModels("ai-server")).toEqual([]);
  expect(testbed.router.requests).toEqual([]);
});

test("default paths under AI_SERVER_CERTS_DIR are named with their rule", async () => {
  const { AI_SERVER_CA: _a, AI_SERVER_CLIENT_CERT: _c, AI_SERVER_CLIENT_KEY: _k, ...env } = testbed.env;
  const dir = mkdtempSync(join(tmpdir(), "certs-"));
  copyFileSync(testbed.pki.client.ca, join(dir, "root-ca.pem"));
  copyFileSync(testbed.pki.client.cert, join(dir, "client.pem"));
  const pi = await startPi({ aiServerEnv: { ...env, AI_SERVER_CERTS_DIR: dir } });
  expect(aiNotices(pi).map((n) => n.message)).toEqual([
    `ai-server: cannot read the client private key ${join(dir, "client-key.pem")} (the file does not exist); set by AI_SERVER_CLIENT_KEY (default $AI_SERVER_CERTS_DIR/client-key.pem). See README "Client set-up".`,
  ]);
});

test("a certificate and a key that do not belong together", async () => {
  const pi = await startPi({ aiServerEnv: { ...testbed.env, AI_SERVER_CLIENT_KEY: testbed.pki.rogue.key } });
  expect(aiNotices(pi).map((n) => n.message)).toEqual([
    `ai-server: the client certificate ${testbed.pki.client.cert} and the key ${testbed.pki.rogue.key} do not belong together (set by AI_SERVER_CLIENT_CERT and AI_SERVER_CLIENT_KEY).`,
  ]);
});

test("a private key readable by others: a warning, as ssh gives", async () => {
  const dir = mkdtempSync(join(tmpdir(), "key-"));
  const key = join(dir, "client-key.pem");
  copyFileSync(testbed.pki.client.key, key);
  chmodSync(key, 0o644);
  const pi = await startPi({ aiServerEnv: { ...testbed.env, AI_SERVER_CLIENT_KEY: key } });
  expect(aiNotices(pi)).toContainEqual({
    type: "warning",
    message: `ai-server: the private key ${key} is readable by group or others (mode 0644); it is the only credential for the router: chmod 600 ${key}`,
  });
  expect(pi.runtime.services.modelRuntime.getModels("ai-server")).toHaveLength(2);
});

test("connecting by IP address: the proxy answers 421, and the message says to use the host name", async () => {
  const pi = await startPi({ aiServerEnv: { ...testbed.env, AI_SERVER_URL: testbed.router.ipUrl } });
  expect(aiNotices(pi)[0]?.message.split("\n")[0]).toBe(
    `ai-server: the proxy refused the host name (HTTP 421 Misdirected Request). Connecting by IP address sends no TLS server name; use the host name of its certificate in AI_SERVER_URL (now ${testbed.router.ipUrl}).`,
  );
});

// pi retries 5xx answers by itself (settings retry.*); off here, to read the final message at once.
const noRetry = { retry: { enabled: false } };

test("the router down behind the proxy (502): chat and /ai-server-status say so", async () => {
  const pi = await startPi({ aiServerEnv: testbed.env, settings: noRetry });
  await pi.select("ai-server/tiny-a");
  await pi.prompt("warm up");
  testbed.router.mode.down = true;
  const expected = `ai-server: the proxy at ${testbed.router.url} is up but the llama-server router behind it does not answer (HTTP 502). Check the service: systemctl --user status llama-server.service (or /ai-server-restart).`;
  expect(await pi.command("/ai-server-status")).toBe(expected);
  const result = await pi.prompt("and now?");
  expect(result.error).toBe(expected);
});

test("a dead worker still marked loaded (500 proxy error): unload and load again", async () => {
  const pi = await startPi({ aiServerEnv: testbed.env, settings: noRetry });
  await pi.select("ai-server/tiny-a");
  await pi.prompt("warm up");
  testbed.router.mode.deadWorker = true;
  expect((await pi.prompt("hi")).error).toBe(
    `ai-server: chat with tiny-a: the router could not reach the model's worker (HTTP 500 "proxy error: Could not establish connection"); the worker probably died. Unload and load it again: /ai-server-unload tiny-a then /ai-server-load tiny-a.`,
  );
});
