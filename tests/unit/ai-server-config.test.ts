// Loading the ai-server settings: one router from AI_SERVER_* and the file's top level (as it
// always was), several from "servers" (each its own certificate files or the shared defaults),
// the provider names, and each broken entry skipped with its exact warning while the others load.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { loadAiServerSettings } from "../../src/ai-server/config.ts";
import { settingsProblemText } from "../../src/ai-server/messages.ts";
import { REPO_ROOT } from "../helpers/fake-llamafile.ts";

const HOME = "/home/me";
function load(file: unknown, env: Record<string, string> = {}) {
  const agentDir = mkdtempSync(join(tmpdir(), "ai-server-config-"));
  if (file !== undefined) writeFileSync(join(agentDir, "ai-server.json"), typeof file === "string" ? file : JSON.stringify(file));
  const result = loadAiServerSettings({ env, agentDir, home: HOME });
  return {
    ...result,
    agentDir,
    said: [...result.errors, ...result.warnings].map(settingsProblemText),
    providers: result.servers.map((server) => `${server.name} ${server.provider}`),
  };
}
const FILE = "~/.pi/agent/ai-server.json";

test("one router from the variables: named main, the provider ai-server, its settings named by their variables", () => {
  const { servers, said, agentDir } = load(undefined, { AI_SERVER_URL: "https://ai.example.org/", AI_SERVER_SSH_HOST: "ai@box" });
  expect(said).toEqual([]);
  expect(servers).toEqual([
    {
      name: "main",
      provider: "ai-server",
      amongSeveral: false,
      url: "https://ai.example.org",
      entry: undefined,
      ca: { value: join(agentDir, "certs", "root-ca.pem"), source: "AI_SERVER_CA (default ~/.pi/agent/certs/root-ca.pem)" },
      clientCert: { value: join(agentDir, "certs", "client.pem"), source: "AI_SERVER_CLIENT_CERT (default ~/.pi/agent/certs/client.pem)" },
      clientKey: {
        value: join(agentDir, "certs", "client-key.pem"),
        source: "AI_SERVER_CLIENT_KEY (default ~/.pi/agent/certs/client-key.pem)",
      },
      timeoutMs: 300_000,
      timeoutSource: "AI_SERVER_TIMEOUT_MS",
      sshHost: { value: "ai@box", source: "AI_SERVER_SSH_HOST" },
      presetPath: "~/.llama-models.ini",
      fallbackModels: [],
    },
  ]);
});

test("nothing configured: no router, nothing said", () => {
  expect(load(undefined)).toMatchObject({ servers: [], said: [] });
  expect(load({ models: [] })).toMatchObject({ servers: [], said: [] });
});

test("servers: each its own certificate files, or its certsDir, or the shared defaults; the first is ai-server, the others ai-server-<name>", () => {
  const { servers, said, providers } = load(
    {
      ca: "~/certs/shared-ca.pem",
      timeoutMs: 1000,
      presetPath: "~/presets.ini",
      servers: [
        { name: "box1", url: "https://box1.example.org", sshHost: "ai@box1", models: [{ id: "qwen" }] },
        { name: "box2", url: "https://box2.example.org", certsDir: "~/certs/box2", timeoutMs: 5000, presetPath: "~/other.ini" },
        { name: "box3", url: "https://box3.example.org", clientCert: "/etc/box3.pem" },
      ],
    },
    { AI_SERVER_CLIENT_KEY: "/keys/shared.key" },
  );
  expect(said).toEqual([]);
  expect(providers).toEqual(["box1 ai-server", "box2 ai-server-box2", "box3 ai-server-box3"]);
  expect(servers.every((server) => server.amongSeveral)).toBe(true);
  const [box1, box2, box3] = servers;
  expect(box1).toMatchObject({
    entry: 0,
    ca: { value: `${HOME}/certs/shared-ca.pem`, source: `"ca" in ${FILE}` },
    clientKey: { value: "/keys/shared.key", source: "AI_SERVER_CLIENT_KEY" },
    timeoutMs: 1000,
    timeoutSource: `"timeoutMs" in ${FILE}`,
    sshHost: { value: "ai@box1", source: `"sshHost" of box1 in ${FILE}` },
    presetPath: "~/presets.ini",
    fallbackModels: [{ id: "qwen" }],
  });
  expect(box2).toMatchObject({
    entry: 1,
    ca: { value: `${HOME}/certs/box2/root-ca.pem`, source: `"ca" of box2 in ${FILE} (default its "certsDir"/root-ca.pem)` },
    clientKey: { value: `${HOME}/certs/box2/client-key.pem` },
    timeoutMs: 5000,
    timeoutSource: `"timeoutMs" of box2 in ${FILE}`,
    sshHost: undefined,
    presetPath: "~/other.ini",
    fallbackModels: [],
  });
  expect(box3).toMatchObject({
    ca: { value: `${HOME}/certs/shared-ca.pem` },
    clientCert: { value: "/etc/box3.pem", source: `"clientCert" of box3 in ${FILE}` },
  });
});

test('the router of AI_SERVER_URL beside servers: listed first as ai-server, named by "name"', () => {
  const { providers, said } = load(
    { name: "home", servers: [{ name: "box2", url: "https://box2.example.org" }] },
    { AI_SERVER_URL: "https://ai.example.org" },
  );
  expect(said).toEqual([]);
  expect(providers).toEqual(["home ai-server", "box2 ai-server-box2"]);
});

test("a broken entry is skipped with its exact warning; the others load, and keep their providers", () => {
  const { providers, said } = load({
    servers: [
      { name: "box1", url: "http://box1.example.org" },
      { name: "Box 2", url: "https://admin:hunter2@box2.example.org" },
      { url: "https://box3.example.org", sshHost: "-oProxyCommand=sh" },
      { name: "box4", url: "https://box4.example.org", ca: "/etc/ca.pem\n/etc/shadow" },
      { name: "box5", url: "https://box5.example.org" },
      { name: "box5", url: "https://box5b.example.org" },
      { name: "box6", url: "https://box6.example.org", verifyTls: false },
    ],
  });
  expect(providers).toEqual(["box5 ai-server-box5"]);
  expect(said).toEqual([
    `ai-server: skipped servers[0] "box1": ${FILE}.servers[0].url must be an https:// URL, without a user name, password or control characters (got "http://box1.example.org"). The other routers load.`,
    `ai-server: skipped servers[1] "Box 2": ${FILE}.servers[1].name must be a short name: lower-case letters, digits and -, at most 24, not starting with - (got "Box 2"); ${FILE}.servers[1].url must be an https:// URL, without a user name, password or control characters (got "https://***@box2.example.org"). The other routers load.`,
    `ai-server: skipped servers[2]: ${FILE}.servers[2].name is missing (required); ${FILE}.servers[2].sshHost must be a plain ssh target like user@host (got "-oProxyCommand=sh"). The other routers load.`,
    `ai-server: skipped servers[3] "box4": ${FILE}.servers[3].ca must not contain control characters (got "/etc/ca.pem\\n/etc/shadow"). The other routers load.`,
    `ai-server: skipped servers[6] "box6": ${FILE}.servers[6] has an unknown field "verifyTls". The other routers load.`,
    `ai-server: skipped servers[5] "box5": servers[4] has that name already; each router needs its own (it becomes the provider ai-server-<name> and the prefix of <name>/<model>).`,
  ]);
  for (const text of said) expect(text).not.toContain("hunter2");
});

test("a problem outside servers (a shared setting) leaves nothing usable, as with one router", () => {
  const { servers, said } = load({ ca: "/x\u0007", servers: [{ name: "box1", url: "https://box1.example.org" }] });
  expect(servers).toEqual([]);
  expect(said).toEqual([`ai-server: ${FILE}.ca must not contain control characters (got "/x\\u0007").`]);
  expect(load({ servers: {} }).said).toEqual([`ai-server: ${FILE}.servers must be array (got {}).`]);
  expect(load({ servers: Array.from({ length: 17 }, (_, i) => ({ name: `b${i}`, url: "https://b.example.org" })) }).said[0]).toMatch(
    /servers must NOT have more than 16 items/,
  );
});

test("the router of a broken AI_SERVER_URL is skipped; servers still load and keep their providers", () => {
  const { providers, said } = load({ servers: [{ name: "box2", url: "https://box2.example.org" }] }, { AI_SERVER_URL: "http://plain" });
  expect(providers).toEqual(["box2 ai-server-box2"]);
  expect(said).toEqual(["ai-server: AI_SERVER_URL=http://plain is not an https:// URL (the router is reached over mTLS)."]);
  expect(
    load({ name: "box2", servers: [{ name: "box2", url: "https://b.example.org" }] }, { AI_SERVER_URL: "https://a.example.org" }).said,
  ).toEqual([
    'ai-server: skipped servers[0] "box2": the router of AI_SERVER_URL has that name already; each router needs its own (it becomes the provider ai-server-<name> and the prefix of <name>/<model>).',
  ]);
});

test("top-level models or sshHost with servers and no url: said, since nothing would use them", () => {
  const { providers, said } = load(
    { sshHost: "ai@box", models: [{ id: "a" }], servers: [{ name: "box1", url: "https://box1.example.org" }] },
    { AI_SERVER_SSH_HOST: "ai@other" },
  );
  expect(providers).toEqual(["box1 ai-server"]);
  expect(said).toEqual([
    `ai-server: "models", "sshHost" and AI_SERVER_SSH_HOST at the top of ${FILE} belong to the router of "url" (AI_SERVER_URL), and none is set; with "servers", give each server its own "models" and "sshHost".`,
  ]);
});

test("one server listed alone: the provider ai-server, and words without its name", () => {
  const { servers } = load({ servers: [{ name: "box1", url: "https://box1.example.org" }] });
  expect(servers.map((server) => [server.provider, server.amongSeveral])).toEqual([["ai-server", false]]);
});

test("README's ai-server.json examples load as written, without a word", () => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const examples = [...readme.matchAll(/<!-- example: ai-server\.json -->\n```jsonc\n([\s\S]*?)```/g)].map((match) => match[1]!);
  expect(examples).toHaveLength(2);
  expect(examples.map((text) => load(text).said)).toEqual([[], []]);
  expect(examples.map((text) => load(text).providers)).toEqual([["main ai-server"], ["box1 ai-server", "box2 ai-server-box2"]]);
});
