// Several routers ("servers" in ai-server.json), each a loopback mTLS fake router with its own
// CA and client certificate: one provider per router, each discovered, streamed, loaded and
// unloaded on its own box; a failure stays on its router and is worded as with one router; a
// model on two routers is asked about (or refused without a UI), and when its router cannot
// be reached the error names the other; ssh goes to the right host; start-up with black holes
// among them costs one discovery bound, not one per router.
import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { aiServerTimeouts } from "../../src/timeouts.ts";
import { type RouterBoxes, startRouterBoxes } from "../helpers/ai-server-setup.ts";
import { cleanupAll, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { freePort } from "../helpers/processes.ts";
import { stderrWrites } from "../helpers/stderr-writes.ts";

const BOX2_PRESET = `[tiny-a]
model = /srv/llama/models/tiny-a.gguf
ctx-size = 8192

[tiny-c]
model = /srv/llama/models/tiny-c.gguf
ctx-size = 1024
`;

let boxes: RouterBoxes | undefined;
const blackHoles: Array<{ server: Server; sockets: Set<Socket> }> = [];
afterEach(async () => {
  await cleanupAll();
  await boxes?.close();
  boxes = undefined;
  for (const { server, sockets } of blackHoles.splice(0)) {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Accepts TCP on loopback and never says a word (no TLS handshake); `asked` gets when pi came. */
async function blackHole(asked: number[] = []): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    asked.push(performance.now());
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  blackHoles.push({ server, sockets });
  return `https://localhost:${(server.address() as { port: number }).port}`;
}

const writeServers =
  (servers: unknown[], extra: object = {}) =>
  (agentDir: string) =>
    writeFileSync(join(agentDir, "ai-server.json"), JSON.stringify({ servers, ...extra }));

/** box1 (provider ai-server: tiny-a, tiny-b, ghost) and box2 (ai-server-box2: tiny-a, tiny-c), each with its own certificates. */
async function twoBoxes(options: { noUi?: boolean; box2?: { reloadSupported?: boolean } } = {}) {
  boxes = await startRouterBoxes({ box1: {}, box2: { preset: BOX2_PRESET, ...options.box2 } });
  const pi = await startPi({
    noUi: options.noUi,
    settings: { retry: { enabled: false } },
    setup: writeServers([boxes.entry("box1"), boxes.entry("box2")]),
  });
  return { pi, box1: boxes.boxes.box1!, box2: boxes.boxes.box2! };
}

const models = (pi: PiHarness, provider: string) =>
  pi.runtime.services.modelRuntime.getModels(provider).map((model) => [model.id, model.contextWindow, model.baseUrl]);
const command = (pi: PiHarness, name: string) => pi.runtime.session.extensionRunner.getCommand(name)!;
const aiNotices = (pi: PiHarness) => pi.notifications().filter((n) => n.message.startsWith("ai-server"));

test("two routers with their own certificates: one provider each, the same id offered once per router, each box asked with its own client certificate", async () => {
  const { pi, box1, box2 } = await twoBoxes();
  expect(models(pi, "ai-server")).toEqual([
    ["tiny-a", 2048, `${box1.router.url}/v1`],
    ["tiny-b", 4096, `${box1.router.url}/v1`],
  ]);
  expect(models(pi, "ai-server-box2")).toEqual([
    ["tiny-a", 8192, `${box2.router.url}/v1`],
    ["tiny-c", 1024, `${box2.router.url}/v1`],
  ]);
  expect(box1.router.requests.map((r) => `${r.method} ${r.path} cn=${r.clientCn}`)).toEqual(["GET /models cn=pi-client-box1"]);
  expect(box2.router.requests.map((r) => `${r.method} ${r.path} cn=${r.clientCn}`)).toEqual(["GET /models cn=pi-client-box2"]);
  expect(aiNotices(pi)).toEqual([]);
  // Each command once, whatever the number of routers.
  expect(
    pi.runtime.session.extensionRunner
      .getRegisteredCommands()
      .filter((c) => c.name.startsWith("ai-server-"))
      .map((c) => c.name),
  ).toEqual([
    "ai-server-status",
    "ai-server-refresh",
    "ai-server-load",
    "ai-server-unload",
    "ai-server-ctx",
    "ai-server-preset",
    "ai-server-restart",
  ]);
});

test("streaming, load and unload go to the right box; the footer names the router of the model", async () => {
  const { pi, box1, box2 } = await twoBoxes();
  await pi.select("ai-server-box2/tiny-a");
  expect(await pi.prompt("hello")).toEqual({ text: "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7", error: undefined });
  const chats = (box: typeof box1) => box.router.requests.filter((r) => r.path === "/v1/chat/completions");
  expect(chats(box2).map((r) => r.clientCn)).toEqual(["pi-client-box2"]);
  expect(chats(box1)).toEqual([]);
  expect(pi.ui.statuses("ai-server-box2")).toContain("tiny-a loaded · box2");
  expect(pi.ui.statuses("ai-server-box2").at(-1)).toBe("tiny-a · 40 tok/s · prompt 1.0k tok/s · cache 0% · box2");
  expect(box1.router.models().every((m) => m.value === "unloaded")).toBe(true);

  // tiny-b is on box1 only: found there, without a question.
  expect(await pi.command("/ai-server-load tiny-b")).toMatch(/^ai-server box1: tiny-b is loaded \(\d+\.\d s, ctx 4096\)\.$/);
  expect(box1.router.models().find((m) => m.id === "tiny-b")!.value).toBe("loaded");
  expect(pi.ui.statuses("ai-server")).toContain("tiny-b loaded · box1");
  expect(await pi.command("/ai-server-unload box1/tiny-b")).toBe("ai-server box1: tiny-b is unloaded.");
  expect(box1.router.models().find((m) => m.id === "tiny-b")!.value).toBe("unloaded");
  // The provider's name works as the server's too.
  expect(await pi.command("/ai-server-load ai-server-box2/tiny-c")).toMatch(/^ai-server box2: tiny-c is loaded/);
  expect(box2.router.models().find((m) => m.id === "tiny-c")!.value).toBe("loaded");
  expect(pi.ui.confirms).toEqual([]);
});

test("an id on two routers: a select dialog with a UI, <server>/<id> without one; tab completion lists both forms", async () => {
  const { pi, box1, box2 } = await twoBoxes();
  const complete = (prefix: string) =>
    (command(pi, "ai-server-load").getArgumentCompletions!(prefix) as Array<{ value: string; description: string }> | null)?.map(
      (item) => `${item.value} (${item.description})`,
    );
  expect(complete("")).toEqual([
    "tiny-a (on box1, box2)",
    "tiny-b (on box1)",
    "ghost (on box1)",
    "tiny-c (on box2)",
    "box1/tiny-a (unloaded)",
    "box1/tiny-b (unloaded)",
    "box1/ghost (unloaded)",
    "box2/tiny-a (unloaded)",
    "box2/tiny-c (unloaded)",
  ]);
  expect(complete("box2/")).toEqual(["box2/tiny-a (unloaded)", "box2/tiny-c (unloaded)"]);
  expect(complete("tiny-a")).toEqual(["tiny-a (on box1, box2)"]);

  const asked: Array<{ title: string; options: string[] }> = [];
  pi.ui.ui.select = async (title: string, options: string[]) => {
    asked.push({ title, options });
    return options[1];
  };
  expect(await pi.command("/ai-server-load tiny-a")).toMatch(/^ai-server box2: tiny-a is loaded \(\d+\.\d s, ctx 8192\)\.$/);
  expect(asked).toEqual([
    { title: "/ai-server-load tiny-a: which router?", options: [`box1 · ${box1.router.url}`, `box2 · ${box2.router.url}`] },
  ]);
  expect(box1.router.models().find((m) => m.id === "tiny-a")!.value).toBe("unloaded");
  expect(box2.router.models().find((m) => m.id === "tiny-a")!.value).toBe("loaded");

  pi.ui.ui.select = async () => undefined;
  expect(await pi.command("/ai-server-unload tiny-a")).toBe("ai-server: /ai-server-unload cancelled.");
  expect(box2.router.models().find((m) => m.id === "tiny-a")!.value).toBe("loaded");

  expect(await pi.command("/ai-server-load box9/tiny-a")).toBe(
    'ai-server: no router is named "box9", and no router lists a model "box9/tiny-a". Routers: box1 (ai-server), box2 (ai-server-box2).',
  );
  expect(await pi.command("/ai-server-load tiny-z")).toBe(
    'ai-server: no router has a model "tiny-z". Known models: box1/tiny-a, box1/tiny-b, box1/ghost, box2/tiny-a, box2/tiny-c.',
  );
  expect(await pi.command("/ai-server-load box1/tiny-c")).toBe(
    'ai-server box1: the router has no model "tiny-c". Known models: tiny-a, tiny-b, ghost.',
  );
});

test("without a UI an ambiguous id is refused with the words to tell the routers apart, and nothing is loaded", async () => {
  const { pi, box1, box2 } = await twoBoxes({ noUi: true });
  const writes = await stderrWrites(async () => {
    await pi.runtime.session.prompt("/ai-server-load tiny-a");
    await pi.runtime.session.prompt("/ai-server-preset");
  });
  expect(writes).toEqual([
    "ai-server: tiny-a is on box1 and box2: say which, e.g. /ai-server-load box1/tiny-a or /ai-server-load box2/tiny-a.\n",
    "ai-server: /ai-server-preset acts on one router: say which, e.g. /ai-server-preset box1 (routers: box1, box2).\n",
  ]);
  for (const box of [box1, box2]) expect(box.router.requests.filter((r) => r.path === "/models/load")).toEqual([]);
  expect(boxes!.sshCalls()).toEqual([]);
});

test("ssh commands go to the box of the router named, asked for, or holding the model", async () => {
  const { pi, box1, box2 } = await twoBoxes({ box2: { reloadSupported: true } });
  const host = () => boxes!.sshCalls().at(-1)!.at(5);
  expect(await pi.command("/ai-server-preset box2")).toBe(`~/.llama-models.ini on ai-server@box2.test:\n${BOX2_PRESET.trimEnd()}`);
  expect(host()).toBe("ai-server@box2.test");

  pi.ui.ui.select = async (_title: string, options: string[]) => options[0];
  expect(await pi.command("/ai-server-preset")).toMatch(/^~\/\.llama-models\.ini on ai-server@box1\.test:\n; router presets \(test\)/);
  expect(host()).toBe("ai-server@box1.test");

  pi.ui.answerConfirm(true);
  expect(await pi.command("/ai-server-restart box2")).toMatch(
    /^ai-server box2: router restarted and healthy after \d+\.\d s; 2 model\(s\) registered\.$/,
  );
  expect(pi.ui.confirms.at(-1)!.message).toBe(
    "Run systemctl --user restart llama-server.service on ai-server@box2.test? Every loaded model is unloaded.",
  );
  expect([box1.router.restarts(), box2.router.restarts()]).toEqual([0, 1]);
  expect(box2.systemctlCalls()).toEqual(["--user restart llama-server.service"]);
  expect(box1.systemctlCalls()).toEqual([]);

  // tiny-c is on box2 only: its preset is edited there, box1's is left alone.
  expect(await pi.command("/ai-server-ctx tiny-c 2048")).toBe("ai-server box2: the router now runs tiny-c with ctx 2048.");
  expect(host()).toBe("ai-server@box2.test");
  expect(boxes!.sshCalls().every((argv) => argv.includes("ai-server@box1.test") || argv.includes("ai-server@box2.test"))).toBe(true);
  expect(pi.runtime.services.modelRuntime.getModel("ai-server-box2", "tiny-c")?.contextWindow).toBe(2048);
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-a")?.contextWindow).toBe(2048);
});

test("three routers that fail three ways beside one that works: each failure stays on its router, worded as with one router", async () => {
  boxes = await startRouterBoxes({ box1: {}, byip: {}, wrongca: {} });
  const closed = await freePort();
  const { byip, wrongca } = boxes.boxes;
  const pi = await startPi({
    settings: { retry: { enabled: false } },
    setup: writeServers([
      boxes.entry("box1"),
      { ...boxes.entry("box1", { url: `https://localhost:${closed}`, models: [{ id: "tiny-a" }] }), name: "down", sshHost: undefined },
      boxes.entry("byip", { url: byip!.router.ipUrl }),
      boxes.entry("wrongca", { ca: wrongca!.pki.otherCa }),
    ]),
  });
  expect(models(pi, "ai-server").map(([id]) => id)).toEqual(["tiny-a", "tiny-b"]);
  expect(models(pi, "ai-server-down").map(([id]) => id)).toEqual(["tiny-a"]);
  expect(models(pi, "ai-server-byip")).toEqual([]);
  expect(models(pi, "ai-server-wrongca")).toEqual([]);
  const file = "~/.pi/agent/ai-server.json";
  expect(aiNotices(pi)).toEqual([
    {
      type: "warning",
      message: `ai-server down: nothing answers at https://localhost:${closed} (connection refused). Is the proxy running, and is the port right?\nai-server down: using the 1 fallback model(s) from ${file}; run /ai-server-refresh down once the router is reachable.`,
    },
    {
      type: "warning",
      message: `ai-server byip: the proxy refused the host name (HTTP 421 Misdirected Request). Connecting by IP address sends no TLS server name; use the host name of its certificate in "url" of byip in ${file} (now ${byip!.router.ipUrl}).\nai-server byip: no models registered; run /ai-server-refresh byip once the router is reachable.`,
    },
    {
      type: "warning",
      message: `ai-server wrongca: the server certificate of localhost:${wrongca!.router.port} is not signed by the CA in ${wrongca!.pki.otherCa} ("ca" of wrongca in ${file}). Copy the proxy's root CA there.\nai-server wrongca: no models registered; run /ai-server-refresh wrongca once the router is reachable.`,
    },
  ]);

  // /ai-server-status: box1's table, and each other router's own failure in its place.
  const status = (await pi.command("/ai-server-status"))!.split("\n\n");
  expect(status[0]).toMatch(/^ai-server box1 https:\/\/localhost:\d+: 3 model\(s\)\nmodel {3}status/);
  expect(status.slice(1)).toEqual([
    `ai-server down: nothing answers at https://localhost:${closed} (connection refused). Is the proxy running, and is the port right?`,
    expect.stringMatching(/^ai-server byip: the proxy refused the host name \(HTTP 421/),
    expect.stringMatching(/^ai-server wrongca: the server certificate of .* is not signed by the CA/),
  ]);
  expect(pi.notifications().at(-1)!.type).toBe("warning");
  expect(await pi.command("/ai-server-status box1")).toMatch(/^ai-server box1 https:\/\/localhost:\d+: 3 model\(s\)\n/);
  expect(await pi.command("/ai-server-preset down")).toBe(
    'ai-server down: this command runs over SSH: set "sshHost" of down in ~/.pi/agent/ai-server.json (e.g. ai-server@llama-box).',
  );

  // A prompt on the box that works streams; on the one that is down, the error names box1, which has tiny-a too.
  await pi.select("ai-server/tiny-a");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  await pi.select("ai-server-down/tiny-a");
  expect((await pi.prompt("hi")).error).toBe(
    `ai-server down: nothing answers at https://localhost:${closed} (connection refused). Is the proxy running, and is the port right? tiny-a is also on box1: pick ai-server/tiny-a with /model.`,
  );
  expect(pi.ui.statuses("ai-server-down").at(-1)).toBe("tiny-a: router unreachable · down");
});

test("the router of the chosen model gone at prompt time: the error says which other router has the model", async () => {
  const { pi, box1 } = await twoBoxes();
  await pi.select("ai-server/tiny-a");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  box1.router.mode.down = true;
  expect((await pi.prompt("again")).error).toBe(
    `ai-server box1: the proxy at ${box1.router.url} is up but the llama-server router behind it does not answer (HTTP 502). Check the service: systemctl --user status llama-server.service (or /ai-server-restart box1). tiny-a is also on box2: pick ai-server-box2/tiny-a with /model.`,
  );
  // tiny-b is on box1 alone: nothing to suggest.
  await pi.select("ai-server/tiny-b");
  expect((await pi.prompt("and b?")).error).toMatch(/\(or \/ai-server-restart box1\)\.$/);
});

test("start-up with three routers, two of them black holes: one discovery bound, not one per router; the working one's models are listed", async () => {
  boxes = await startRouterBoxes({ box1: {} });
  const [asked1, asked2]: number[][] = [[], []];
  const holes = [await blackHole(asked1), await blackHole(asked2)];
  const hole = (name: string, url: string) => ({ ...boxes!.entry("box1", { url }), name, sshHost: undefined });
  const pi = await startPi({ setup: writeServers([hole("hole1", holes[0]!), boxes.entry("box1"), hole("hole2", holes[1]!)]) });
  // Both were asked at once: one discovery bound for all, not one per router (asked one after the
  // other, hole2 would be asked only once pi gave up on hole1, a whole bound later).
  expect(asked1.length * asked2.length).toBeGreaterThan(0);
  expect(Math.abs(asked1[0]! - asked2[0]!)).toBeLessThan(aiServerTimeouts.discoveryMs);
  expect(models(pi, "ai-server-box1").map(([id]) => id)).toEqual(["tiny-a", "tiny-b"]);
  expect(aiNotices(pi).map((n) => n.message.split("\n")[0])).toEqual([
    `ai-server hole1: no answer from ${holes[0]} in time. Is the host reachable (VPN, firewall)?`,
    `ai-server hole2: no answer from ${holes[1]} in time. Is the host reachable (VPN, firewall)?`,
  ]);
});

test("a broken servers entry is reported and skipped; the others load, each under its own provider", async () => {
  boxes = await startRouterBoxes({ box1: {}, box2: { preset: BOX2_PRESET } });
  const pi = await startPi({
    setup: writeServers([{ name: "box0", url: "http://box0.example.org" }, boxes.entry("box1"), boxes.entry("box2")]),
  });
  expect(aiNotices(pi)).toEqual([
    {
      type: "warning",
      message:
        'ai-server: skipped servers[0] "box0": ~/.pi/agent/ai-server.json.servers[0].url must be an https:// URL, without a user name, password or control characters (got "http://box0.example.org"). The other routers load.',
    },
  ]);
  // The broken first entry keeps its place: the others keep their providers (a saved model ref stays valid).
  expect(models(pi, "ai-server")).toEqual([]);
  expect(models(pi, "ai-server-box1").map(([id]) => id)).toEqual(["tiny-a", "tiny-b"]);
  expect(models(pi, "ai-server-box2").map(([id]) => id)).toEqual(["tiny-a", "tiny-c"]);
});
