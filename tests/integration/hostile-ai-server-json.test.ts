// Hostile or broken ai-server settings (ai-server.json and AI_SERVER_* variables): each gives
// its exact error, a password in a URL is never shown, nothing reaches the network, ssh or the
// file system, and pi keeps working.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, type PiHarness, startPi } from "../helpers/pi-harness.ts";

let testbed: AiServerTestbed | undefined;
afterEach(async () => {
  await cleanupAll();
  await testbed?.close();
  testbed = undefined;
});

const FILE = "~/.pi/agent/ai-server.json";
const errors = (pi: PiHarness) =>
  pi
    .notifications()
    .filter((n) => n.type === "error")
    .map((n) => n.message);

async function stillWorking(pi: PiHarness) {
  // No models.json and no model folder here: /llamafiles says where it looked (a user of the ai-server alone is told nothing at start).
  expect(await pi.command("/llamafiles")).toMatch(/^No llamafile server is running\nNo model discovered: ~\/models, /);
  expect(pi.runtime.services.modelRuntime.getModels("ai-server")).toEqual([]);
  for (const { message } of pi.notifications()) {
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain(String.fromCharCode(27));
  }
}

const fileCases: Array<[string, unknown, string]> = [
  [
    "a URL with a user name and password",
    { url: "https://admin:hunter2@router.example" },
    `ai-server: ${FILE}.url must be an https:// URL, without a user name, password or control characters (got "https://***@router.example").`,
  ],
  [
    "a plain http URL",
    { url: "http://router.example" },
    `ai-server: ${FILE}.url must be an https:// URL, without a user name, password or control characters (got "http://router.example").`,
  ],
  [
    "a URL with an escape sequence",
    { url: "https://router.example/\u001b[2J" },
    `ai-server: ${FILE}.url must be an https:// URL, without a user name, password or control characters (got "https://router.example/\\u001b[2J").`,
  ],
  [
    "an ssh target that ssh would read as an option",
    { url: "https://router.example", sshHost: "-oProxyCommand=sh" },
    `ai-server: ${FILE}.sshHost must be a plain ssh target like user@host (got "-oProxyCommand=sh").`,
  ],
  [
    "a preset path with a shell command in it",
    { url: "https://router.example", presetPath: "x; rm -rf ~" },
    `ai-server: ${FILE}.presetPath may only contain letters, digits and _ . ~ / + - (got "x; rm -rf ~").`,
  ],
  ["a negative timeout", { url: "https://router.example", timeoutMs: -5 }, `ai-server: ${FILE}.timeoutMs must be >= 1 (got -5).`],
  ["an unknown field", { url: "https://router.example", verifyTls: false }, `ai-server: ${FILE} has an unknown field "verifyTls".`],
  [
    "a fallback model id with a NUL byte",
    { url: "https://router.example", models: [{ id: "a\u0000b" }] },
    `ai-server: ${FILE}.models[0].id must not contain control characters (got "a\\u0000b").`,
  ],
  [
    "a certificate path with a newline",
    { url: "https://router.example", ca: "/etc/ca.pem\n/etc/shadow" },
    `ai-server: ${FILE}.ca must not contain control characters (got "/etc/ca.pem\\n/etc/shadow").`,
  ],
];

test.each(fileCases)("ai-server.json with %s: its exact error, nothing registered, pi keeps working", async (_what, file, message) => {
  const pi = await startPi({ setup: (agentDir) => writeFileSync(join(agentDir, "ai-server.json"), JSON.stringify(file)) });
  expect(errors(pi)).toEqual([message]);
  await stillWorking(pi);
});

test("a URL with credentials from AI_SERVER_URL is refused and shown without the password", async () => {
  testbed = await startAiServerTestbed();
  const url = testbed.router.url.replace("https://", "https://admin:hunter2@");
  const pi = await startPi({ aiServerEnv: { ...testbed.env, AI_SERVER_URL: url } });
  expect(errors(pi)).toEqual([
    `ai-server: AI_SERVER_URL=${testbed.router.url.replace("https://", "https://***@")} has a user name or password in it; the client certificate is the only credential, and pi never sends or shows URL credentials. Remove them from the URL.`,
  ]);
  await stillWorking(pi);
  expect(testbed.router.requests).toEqual([]);
});

test.each([
  ["AI_SERVER_URL", "https://router.example\n"],
  ["AI_SERVER_CLIENT_CERT", "/tmp/cert\u001b]0;x\u0007.pem"],
  ["AI_SERVER_SSH_HOST", "host\u001b-oProxyCommand=sh"],
])("%s with control characters is refused before it reaches a path, a URL or ssh", async (name, value) => {
  testbed = await startAiServerTestbed();
  const pi = await startPi({ aiServerEnv: { ...testbed.env, [name]: value } });
  expect(errors(pi)).toContain(`ai-server: ${name} contains control characters; pi does not pass such a value to a path, a URL or ssh.`);
  await stillWorking(pi);
  expect(testbed.router.requests).toEqual([]);
  expect(testbed.sshCalls()).toEqual([]);
});

test("an ai-server.json that is not JSON", async () => {
  const notJson = await startPi({ setup: (agentDir) => writeFileSync(join(agentDir, "ai-server.json"), "{ url: nope") });
  expect(errors(notJson)[0]).toMatch(/^ai-server: .*ai-server\.json is not valid JSON \(/);
  await stillWorking(notJson);
});
