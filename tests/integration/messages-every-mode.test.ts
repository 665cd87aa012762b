// Every start-up message reaches the user once, in every mode of the real pi CLI: in the
// TUI and RPC as a notification, in print and json mode and with --list-models on stderr,
// before pi's own "model not found"; what pi shows itself is not said twice.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { testPki } from "../helpers/certificates.ts";
import { makeHome } from "../helpers/pi-harness.ts";
import { killPiProcesses, type PiProcess, startPiProcess, writeModels } from "../helpers/pi-process.ts";
import { freePort } from "../helpers/processes.ts";

afterEach(killPiProcesses);

const SKIPPED = 'llamafiles: skipped models[1] "broken": providers.llamafiles.models[1].port must be integer (got "x").';
const times = (haystack: string, needle: string) => haystack.split(needle).length - 1;
const notifications = (pi: PiProcess) =>
  pi.records.filter((r) => r.type === "extension_ui_request" && r.method === "notify").map((r) => String(r.message));

/** A HOME with one good and one broken local model (its command never runs: nothing is selected). */
function homeWithSkippedModel(): string {
  const home = makeHome();
  writeModels(home, [
    { id: "good", command: "/bin/true", port: 18081 },
    { id: "broken", command: "/bin/true", port: "x" },
  ]);
  return home;
}

/** Every AI_SERVER_* variable, pointing at a closed port and certificate files that do not exist. */
async function aiServerWithoutCertificates(home: string) {
  return {
    AI_SERVER_URL: `https://localhost:${await freePort()}`,
    AI_SERVER_CERTS_DIR: join(home, "certs"),
    AI_SERVER_CA: join(home, "certs", "root-ca.pem"),
    AI_SERVER_CLIENT_CERT: join(home, "certs", "client.pem"),
    AI_SERVER_CLIENT_KEY: join(home, "certs", "client.key"),
    AI_SERVER_TIMEOUT_MS: "5000",
  };
}

async function run(home: string, args: string[], env?: Record<string, string>) {
  const pi = startPiProcess(home, args, { env });
  const { code } = await pi.exited;
  return { code, stdout: pi.records.map((r) => String(r.text ?? JSON.stringify(r))).join("\n"), stderr: pi.stderr() };
}

test("--list-models: a skipped model is said once on stderr; the good one is listed", async () => {
  const { code, stdout, stderr } = await run(homeWithSkippedModel(), ["--list-models"]);
  expect(code).toBe(0);
  expect(stdout).toMatch(/llamafiles\s+good/);
  expect(stdout).not.toContain("broken");
  expect(times(stderr, SKIPPED)).toBe(1);
});

test("print and json mode: a skipped model is said once on stderr", async () => {
  const [print, json] = await Promise.all([
    run(homeWithSkippedModel(), ["-p", "hi", "--model", "some/unknown"]),
    run(homeWithSkippedModel(), ["--mode", "json", "hi", "--model", "some/unknown"]),
  ]);
  expect(times(print.stderr, SKIPPED)).toBe(1);
  expect(times(json.stderr, SKIPPED)).toBe(1);
});

test("RPC mode: a skipped model is a notification, once, and nothing on stderr", async () => {
  const pi = startPiProcess(homeWithSkippedModel(), ["--mode", "rpc"]);
  pi.send({ id: "state", type: "get_state" });
  await pi.waitFor((r) => r.type === "response" && r.id === "state", "pi to be up");
  await pi.waitFor((r) => r.method === "notify", "the notification");
  expect(notifications(pi).filter((m) => m === SKIPPED)).toHaveLength(1);
  expect(pi.stderr()).not.toContain("llamafiles:");
});

test("a models.json pi cannot parse: pi says it with --list-models; in print mode the extension says it, once", async () => {
  const home = makeHome();
  writeFileSync(join(home, ".pi", "agent", "models.json"), '{"providers": {"llamafiles": {');
  const [listing, print] = await Promise.all([run(home, ["--list-models"]), run(home, ["-p", "hi"])]);
  expect(listing.stderr).toContain("Warning: errors loading models.json");
  expect(listing.stderr).not.toContain("llamafiles:");
  expect(times(print.stderr, "llamafiles: ")).toBe(1);
  expect(print.stderr).toMatch(/llamafiles: .*models\.json is not valid JSON/);
});

test("print mode: a missing certificate is said before pi's own 'model not found' (without fallback models)", async () => {
  const home = makeHome();
  const { code, stderr } = await run(home, ["-p", "hi", "--model", "ai-server/qwen"], await aiServerWithoutCertificates(home));
  expect(code).not.toBe(0);
  const ours = stderr.indexOf("ai-server: ");
  expect(ours).toBeGreaterThanOrEqual(0);
  expect(stderr).toMatch(/ai-server: .*root-ca\.pem/);
  const pis = stderr.search(/not found/i);
  expect(pis).toBeGreaterThan(ours);
});

test("an ai-server-only set-up is told nothing of local models; /llamafiles says where it looked when asked", async () => {
  const home = makeHome();
  mkdirSync(join(home, "certs"));
  const env = await aiServerWithoutCertificates(home);
  const print = await run(home, ["-p", "hi", "--model", "ai-server/qwen"], env);
  expect(print.stderr).not.toContain("llamafiles");
  const listing = await run(home, ["--list-models"], env);
  expect(listing.stderr).not.toContain("llamafiles");
  const asked = await run(home, ["-p", "/llamafiles"], env);
  expect(asked.stdout + asked.stderr).toMatch(
    /No llamafile server is running\nNo model discovered: ~\/models, ~\/\.cache\/llama\.cpp do not exist/,
  );
});

test("a router that cannot be reached: said once on stderr before pi's 'model not found' (print, json, --list-models), once as a notification in RPC", async () => {
  const pki = testPki();
  const port = await freePort(); // nothing listens: connection refused
  const env = {
    AI_SERVER_URL: `https://localhost:${port}`,
    AI_SERVER_CERTS_DIR: pki.dir,
    AI_SERVER_CA: pki.client.ca,
    AI_SERVER_CLIENT_CERT: pki.client.cert,
    AI_SERVER_CLIENT_KEY: pki.client.key,
    AI_SERVER_TIMEOUT_MS: "5000",
  };
  const UNREACHABLE = `ai-server: nothing answers at https://localhost:${port} (connection refused).`;
  const [print, json, listing] = await Promise.all([
    run(makeHome(), ["-p", "hi", "--model", "ai-server/qwen"], env),
    run(makeHome(), ["--mode", "json", "hi", "--model", "ai-server/qwen"], env),
    run(makeHome(), ["--list-models"], env),
  ]);
  for (const { stderr } of [print, json, listing]) expect(times(stderr, UNREACHABLE)).toBe(1);
  for (const { stderr } of [print, json]) expect(stderr.search(/not found/i)).toBeGreaterThan(stderr.indexOf(UNREACHABLE));

  const rpc = startPiProcess(makeHome(), ["--mode", "rpc"], { env });
  rpc.send({ id: "state", type: "get_state" });
  await rpc.waitFor((r) => r.type === "response" && r.id === "state", "pi to be up");
  await rpc.waitFor((r) => r.method === "notify" && String(r.message).includes(UNREACHABLE), "the notification");
  expect(notifications(rpc).filter((m) => m.includes(UNREACHABLE))).toHaveLength(1);
  expect(rpc.stderr()).not.toContain("ai-server:");
});
