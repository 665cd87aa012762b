// The ai-server slash commands, in a real pi runtime against the loopback mTLS
// router, with the stand-in ssh/systemctl running the "remote" side in a temp folder.
import { readFileSync } from "node:fs";
import { afterEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { waitFor } from "../helpers/processes.ts";
import { stderrWrites } from "../helpers/stderr-writes.ts";

let testbed: AiServerTestbed;
afterEach(async () => {
  await cleanupAll();
  await testbed.close();
});

async function piWithRouter(options: { reloadSupported?: boolean; noUi?: boolean; preset?: string } = {}): Promise<PiHarness> {
  testbed = await startAiServerTestbed({ reloadSupported: options.reloadSupported, preset: options.preset });
  return startPi({ aiServerEnv: testbed.env, noUi: options.noUi });
}

const command = (pi: PiHarness, name: string) => pi.runtime.session.extensionRunner.getCommand(name)!;

test("/ai-server-status: a table with status, ctx size and [no model path] for placeholders", async () => {
  const pi = await piWithRouter();
  await pi.command("/ai-server-load tiny-b");
  expect(await pi.command("/ai-server-status")).toBe(
    [
      `ai-server ${testbed.router.url}: 3 model(s)`,
      "model   status    ctx",
      "tiny-a  unloaded  2048",
      "tiny-b  loaded    4096",
      "ghost   unloaded  8192  [no model path]",
      "pi's model on the router: tiny-b, context 4,096 tokens per request (from the server)",
    ].join("\n"),
  );
});

test("<id> arguments complete from the live list, filtered by the typed prefix", async () => {
  const pi = await piWithRouter();
  const complete = (name: string, prefix: string) => command(pi, name).getArgumentCompletions!(prefix) as Array<{ value: string }> | null;
  expect(complete("ai-server-load", "tiny-")!.map((i) => i.value)).toEqual(["tiny-a", "tiny-b"]);
  expect(complete("ai-server-unload", "tiny-b")!.map((i) => i.value)).toEqual(["tiny-b"]);
  expect(complete("ai-server-ctx", "")!.map((i) => i.value)).toEqual(["tiny-a", "tiny-b", "ghost"]);
  expect(complete("ai-server-ctx", "tiny-a 40")).toBeNull();
  expect(complete("ai-server-load", "zzz")).toBeNull();
});

test("/ai-server-load and /ai-server-unload go through the machine and report the result", async () => {
  const pi = await piWithRouter();
  expect(await pi.command("/ai-server-load tiny-a")).toMatch(/^ai-server: tiny-a is loaded \(\d+\.\d s, ctx 2048\)\.$/);
  expect(pi.ui.statuses("ai-server")).toContain("tiny-a loaded");
  expect(testbed.router.models().find((m) => m.id === "tiny-a")!.value).toBe("loaded");
  expect(await pi.command("/ai-server-unload tiny-a")).toBe("ai-server: tiny-a is unloaded.");
  expect(testbed.router.models().find((m) => m.id === "tiny-a")!.value).toBe("unloaded");
  expect(pi.ui.statuses("ai-server").at(-1)).toBeUndefined();
  expect(await pi.command("/ai-server-unload tiny-a")).toBe("ai-server: tiny-a is unloaded.");
});

test("unknown ids list the known ones; a bad size is refused; usage is shown", async () => {
  const pi = await piWithRouter();
  expect(await pi.command("/ai-server-load tiny-c")).toBe(
    'ai-server: the router has no model "tiny-c". Known models: tiny-a, tiny-b, ghost.',
  );
  expect(await pi.command("/ai-server-ctx tiny-a -5")).toMatch(
    /^ai-server: the context size must be a positive whole number of tokens \(got "-5"\)/,
  );
  expect(await pi.command("/ai-server-ctx tiny-a;reboot 4096")).toMatch(/is not a model id/);
  expect(await pi.command("/ai-server-load")).toBe("usage: /ai-server-load <id>");
  expect(testbed.sshCalls()).toEqual([]);
});

test("/ai-server-refresh re-discovers, re-registers and re-selects the current model", async () => {
  const pi = await piWithRouter();
  await pi.select("ai-server/tiny-a");
  const before = pi.runtime.session.model;
  const { writeFileSync } = await import("node:fs");
  writeFileSync(testbed.presetPath, `${readFileSync(testbed.presetPath, "utf8")}\n[tiny-c]\nmodel = /m/c.gguf\nctx-size = 1024\n`);
  testbed.router.restart();
  expect(await pi.command("/ai-server-refresh")).toBe(
    "ai-server: 3 model(s) registered; new: tiny-c; 1 placeholder(s) without a model path left out.",
  );
  expect(pi.runtime.services.modelRuntime.getModels("ai-server").map((m) => m.id)).toEqual(["tiny-a", "tiny-b", "tiny-c"]);
  expect(pi.runtime.session.model).not.toBe(before);
  expect(pi.runtime.session.model?.id).toBe("tiny-a");
});

test("/ai-server-preset prints the remote preset over ssh", async () => {
  const pi = await piWithRouter();
  const shown = await pi.command("/ai-server-preset");
  expect(shown).toBe(`~/.llama-models.ini on ai-server@router.test:\n${readFileSync(testbed.presetPath, "utf8").trimEnd()}`);
  expect(testbed.sshCalls()[0]).toEqual([
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "--",
    "ai-server@router.test",
    "'sh'",
    "'-s'",
    "'--'",
    "'~/.llama-models.ini'",
  ]);
});

test("/ai-server-ctx on the b8942 router: edits the preset, sees the old size after reload, restarts on a second yes, verifies", async () => {
  const pi = await piWithRouter();
  pi.ui.answerConfirm(true);
  await pi.command("/ai-server-load tiny-a");
  const said = await pi.command("/ai-server-ctx tiny-a 8192");

  expect(pi.ui.confirms.map((c) => c.title)).toEqual(["Change context size", "Restart the router"]);
  expect(pi.ui.confirms[0]!.message).toBe(
    "Set ctx-size of tiny-a to 8192 (now 2048) in ~/.llama-models.ini on ai-server@router.test, then unload and load tiny-a?",
  );
  const messages = pi.notifications().map((n) => n.message);
  expect(messages).toContain(
    "ai-server: ~/.llama-models.ini on ai-server@router.test: ctx-size of tiny-a 2048 → 8192 (backup: ~/.llama-models.ini.bak). Reloading tiny-a…",
  );
  expect(messages).toContain(
    "ai-server: after unload and load the router still shows ctx 2048 for tiny-a: it reads its preset only when it starts.",
  );
  expect(said).toBe("ai-server: the router now runs tiny-a with ctx 8192.");
  expect(testbed.systemctlCalls()).toEqual(["--user restart llama-server.service"]);
  expect(readFileSync(testbed.presetPath, "utf8")).toContain("[tiny-a]\nmodel = /srv/llama/models/tiny-a.gguf\nctx-size = 8192\n");
  expect(readFileSync(`${testbed.presetPath}.bak`, "utf8")).toContain("ctx-size = 2048");
  expect(pi.runtime.services.modelRuntime.getModels("ai-server").find((m) => m.id === "tiny-a")!.contextWindow).toBe(8192);
});

test("/ai-server-ctx on a router that re-reads presets (?reload=1): no restart needed", async () => {
  const pi = await piWithRouter({ reloadSupported: true });
  pi.ui.answerConfirm(true);
  expect(await pi.command("/ai-server-ctx tiny-b 16384")).toBe("ai-server: the router now runs tiny-b with ctx 16384.");
  expect(pi.ui.confirms).toHaveLength(1);
  expect(testbed.systemctlCalls()).toEqual([]);
});

test("/ai-server-ctx declined at the second question: says the size stays until a restart", async () => {
  const pi = await piWithRouter();
  let answers = [true, false];
  pi.ui.ui.confirm = async (title: string, message: string) => {
    const answer = answers[0]!;
    answers = answers.slice(1);
    pi.ui.confirms.push({ title, message, answer });
    return answer;
  };
  expect(await pi.command("/ai-server-ctx tiny-a 4096")).toBe(
    "ai-server: tiny-a keeps ctx 2048 until the router restarts (/ai-server-restart).",
  );
  expect(testbed.systemctlCalls()).toEqual([]);
});

test("/ai-server-restart asks first, restarts over ssh, waits for /health, re-discovers", async () => {
  const pi = await piWithRouter();
  pi.ui.answerConfirm(false);
  expect(await pi.command("/ai-server-restart")).toBe("ai-server: /ai-server-restart cancelled.");
  expect(testbed.systemctlCalls()).toEqual([]);
  pi.ui.answerConfirm(true);
  expect(await pi.command("/ai-server-restart")).toMatch(
    /^ai-server: router restarted and healthy after \d+\.\d s; 2 model\(s\) registered\.$/,
  );
  expect(testbed.router.restarts()).toBe(1);
});

test("Esc stops waiting for a restarted router: the command says so, the restart goes on, and the chart follows it", async () => {
  const pi = await piWithRouter();
  pi.ui.answerConfirm(true);
  await pi.command("/ai-server-load tiny-a");
  testbed.router.mode.down = true; // /health answers 502 until the test lets the router up
  const answer = pi.command("/ai-server-restart");
  await waitFor(() => testbed.systemctlCalls().length === 1, "the restart over ssh");
  pi.ui.press("\x1b");
  expect(await answer).toBe(
    "ai-server: stopped waiting for the router on ai-server@router.test (Esc); its restart goes on, and /ai-server-status shows when it answers again.",
  );
  expect(pi.ui.statuses("ai-server").at(-1)).toBe("Unloading tiny-a…");
  testbed.router.mode.down = false;
  await waitFor(() => pi.ui.statuses("ai-server").at(-1) === undefined, "the chart to see the router answer again");
});

test("/ai-server-restart goes through the chart: the footer shows the model going, then pi knows none loaded; an ssh failure says why", async () => {
  const pi = await piWithRouter();
  pi.ui.answerConfirm(true);
  await pi.command("/ai-server-load tiny-a");
  expect(pi.ui.statuses("ai-server").at(-1)).toBe("tiny-a loaded");
  expect(await pi.command("/ai-server-restart")).toMatch(/^ai-server: router restarted and healthy after/);
  expect(pi.ui.statuses("ai-server").slice(-2)).toEqual(["Unloading tiny-a…", undefined]);
  expect(await pi.command("/ai-server-status")).not.toContain("pi's model on the router");

  process.env.FAKE_SSH_DENY = "1";
  try {
    expect(await pi.command("/ai-server-restart")).toBe(
      "ai-server: systemctl --user restart llama-server.service over ssh on ai-server@router.test failed: ai-server@router.test: Permission denied (publickey). (ssh could not log in to ai-server@router.test: set up key authentication, e.g. ssh-copy-id ai-server@router.test; BatchMode allows no password prompt)",
    );
  } finally {
    delete process.env.FAKE_SSH_DENY;
  }
  expect(testbed.router.restarts()).toBe(1);
  // The chart is ready for the next selection.
  expect(await pi.command("/ai-server-load tiny-b")).toMatch(/^ai-server: tiny-b is loaded/);
});

test("without a UI, mutating commands say plainly that they cannot ask, and do nothing", async () => {
  const pi = await piWithRouter({ noUi: true });
  const writes = await stderrWrites(async () => {
    await pi.runtime.session.prompt("/ai-server-restart");
    await pi.runtime.session.prompt("/ai-server-ctx tiny-a 4096");
  });
  expect(writes).toEqual([
    "ai-server: /ai-server-restart needs a confirmation, and this mode has no UI to ask in. Run it in pi's TUI (or over RPC).\n",
    "ai-server: /ai-server-ctx needs a confirmation, and this mode has no UI to ask in. Run it in pi's TUI (or over RPC).\n",
  ]);
  expect(testbed.sshCalls()).toEqual([]);
});

test("without AI_SERVER_SSH_HOST the SSH commands say what to set", async () => {
  testbed = await startAiServerTestbed();
  const { AI_SERVER_SSH_HOST: _host, ...env } = testbed.env;
  const pi = await startPi({ aiServerEnv: env });
  expect(await pi.command("/ai-server-preset")).toBe(
    'ai-server: this command runs over SSH: set AI_SERVER_SSH_HOST (e.g. ai-server@llama-box) or "sshHost" in ~/.pi/agent/ai-server.json.',
  );
});

test("an ssh login failure says how to set up key authentication", async () => {
  const pi = await piWithRouter();
  process.env.FAKE_SSH_DENY = "1";
  try {
    expect(await pi.command("/ai-server-preset")).toBe(
      "ai-server: reading ~/.llama-models.ini over ssh on ai-server@router.test failed: ai-server@router.test: Permission denied (publickey). (ssh could not log in to ai-server@router.test: set up key authentication, e.g. ssh-copy-id ai-server@router.test; BatchMode allows no password prompt)",
    );
  } finally {
    delete process.env.FAKE_SSH_DENY;
  }
});

test("/ai-server-ctx with a router that lists no models, or cannot be reached, says so", async () => {
  const pi = await piWithRouter({ preset: "; no models yet\n" });
  pi.ui.answerConfirm(true);
  expect(await pi.command("/ai-server-ctx tiny-a 4096")).toBe('ai-server: the router has no model "tiny-a". Known models: none.');
  testbed.router.mode.down = true;
  expect(await pi.command("/ai-server-ctx tiny-a 4096")).toMatch(
    /^ai-server: the proxy at https:\/\/localhost:\d+ is up but the llama-server router behind it does not answer \(HTTP 502\)/,
  );
  expect(pi.ui.confirms).toEqual([]);
  expect(testbed.sshCalls()).toEqual([]);
});

test("Esc cancels /ai-server-ctx at any step and says how far it got", async () => {
  const pi = await piWithRouter();
  await pi.command("/ai-server-load tiny-a");
  // Esc while the first question is open: nothing is changed.
  pi.ui.ui.confirm = async (title: string, message: string) => {
    pi.ui.confirms.push({ title, message, answer: true });
    pi.ui.press("\x1b");
    return true;
  };
  expect(await pi.command("/ai-server-ctx tiny-a 8192")).toBe(
    "ai-server: /ai-server-ctx tiny-a cancelled (Esc) while editing; nothing was changed.",
  );
  expect(testbed.sshCalls()).toEqual([]);
  expect(readFileSync(testbed.presetPath, "utf8")).toContain("ctx-size = 2048");

  // Esc at the restart question, after the preset was edited: the report says what is written.
  pi.ui.ui.confirm = async (title: string, message: string) => {
    pi.ui.confirms.push({ title, message, answer: true });
    if (title === "Restart the router") pi.ui.press("\x1b");
    return true;
  };
  expect(await pi.command("/ai-server-ctx tiny-a 8192")).toBe(
    "ai-server: /ai-server-ctx tiny-a cancelled (Esc) while restarting; the preset already says ctx-size = 8192 (the router uses it from its next start; /ai-server-restart applies it now).",
  );
  expect(testbed.systemctlCalls()).toEqual([]);
  expect(readFileSync(testbed.presetPath, "utf8")).toContain("ctx-size = 8192");
});
