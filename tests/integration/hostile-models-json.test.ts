// Hostile or broken models.json files: each gives its exact warning (or, for a model that can
// only fail when started, its exact error), nothing crashes pi, and pi keeps working: the next
// command runs, and a good model beside the bad one still answers.
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { freePort } from "../helpers/processes.ts";

afterEach(cleanupAll);

const ESC = "\u001b";
const entry = (extra: Record<string, unknown>) => ({ id: "bad", command: "/bin/true", ...extra });
/** The warning for the entry "bad", named by its index and id. */
const skipped = (problem: string) => `llamafiles: skipped models[0] "bad": providers.llamafiles.models[0].${problem}.`;
/** The warning for an entry whose id is what is wrong: the violation quotes it; it is not named twice. */
const skippedForItsId = (problem: string) => `llamafiles: skipped models[0]: providers.llamafiles.models[0].${problem}.`;

/** Keeps working: a command answers and nothing was shown raw (no escape character reached the UI). */
async function stillWorking(pi: PiHarness) {
  expect(await pi.command("/llamafiles")).toMatch(/^No llamafile server is running(\n|$)/);
  for (const { message } of pi.notifications()) expect(message).not.toContain(ESC);
}

const warnings = (pi: PiHarness) =>
  pi
    .notifications()
    .filter((n) => n.type === "warning")
    .map((n) => n.message);

const atLoad: Array<[string, Record<string, unknown>, string]> = [
  ["an id with a NUL byte", entry({ id: "a\u0000b" }), skippedForItsId('id must not contain control characters (got "a\\u0000b")')],
  [
    "an id with a terminal escape sequence",
    entry({ id: `${ESC}[2Jwipe` }),
    skippedForItsId('id must not contain control characters (got "\\u001b[2Jwipe")'),
  ],
  [
    "a name that sets the terminal title",
    entry({ name: `${ESC}]0;pwned\u0007B` }),
    skipped('name must not contain control characters (got "\\u001b]0;pwned\\u0007B")'),
  ],
  [
    "a command with a NUL byte",
    entry({ command: "/bin/sh\u0000-c" }),
    skipped('command must not contain control characters (got "/bin/sh\\u0000-c")'),
  ],
  [
    "an argument with a NUL byte",
    entry({ args: ["--port", "1\u00002"] }),
    skipped('args[1] must not contain a NUL character (got "1\\u00002")'),
  ],
  [
    "an environment value with a NUL byte",
    entry({ env: { A: "x\u0000y" } }),
    skipped('env.A must not contain a NUL character (got "x\\u0000y")'),
  ],
  [
    "an environment name with '='",
    entry({ env: { "A=B": "x" } }),
    'llamafiles: skipped models[0] "bad": providers.llamafiles.models[0].env has "A=B", which is not a valid environment variable name (letters, digits, _; not starting with a digit).',
  ],
  [
    "pi's own marker variable in env",
    entry({ env: { PI_LLAMA_SERVER: "x" } }),
    `llamafiles: skipped models[0] "bad": providers.llamafiles.models[0].env.PI_LLAMA_SERVER is pi's own variable and cannot be set here.`,
  ],
  ["a cwd with a newline", entry({ cwd: "/tmp\n/etc" }), skipped('cwd must not contain control characters (got "/tmp\\n/etc")')],
  ["a blank command", entry({ command: "   " }), skipped('command must not be blank (got "   ")')],
  [
    "an id of 300 characters",
    entry({ id: "x".repeat(300) }),
    skippedForItsId(`id must NOT have more than 200 characters (got "${"x".repeat(300)}")`),
  ],
  [
    "a port fetch refuses (6000, X11)",
    entry({ port: 6000 }),
    'llamafiles: skipped models[0] "bad": port 6000 is one that fetch refuses to connect to (a "bad port"), so pi could never reach a server there; give it another "port", e.g. 8081.',
  ],
  [
    "a port fetch refuses (22, ssh)",
    entry({ port: 22 }),
    'llamafiles: skipped models[0] "bad": port 22 is one that fetch refuses to connect to (a "bad port"), so pi could never reach a server there; give it another "port", e.g. 8081.',
  ],
  ["port 0", entry({ port: 0 }), skipped("port must be >= 1 (got 0)")],
  ["a port above 65535", entry({ port: 70000 }), skipped("port must be <= 65535 (got 70000)")],
  ["a port given as text", entry({ port: "8080" }), skipped('port must be integer (got "8080")')],
  ["args given as one string", entry({ args: "--port {{port}}" }), skipped('args must be array (got "--port {{port}}")')],
  ["an unknown input kind", entry({ input: ["audio"] }), skipped('input[0] must be equal to one of the allowed values (got "audio")')],
  [
    "a name of 300 characters",
    entry({ name: "n".repeat(300) }),
    skipped(`name must NOT have more than 200 characters (got "${"n".repeat(300)}")`),
  ],
  ["env given as a list", entry({ env: ["A=1"] }), skipped('env must be object (got ["A=1"])')],
];

test.each(atLoad)("%s: the model is skipped with its exact warning; a good model beside it is offered", async (_what, bad, warning) => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [bad, fakeModelEntry({ id: "good", name: "Good", port })] });
  expect(warnings(pi)).toEqual([warning]);
  await stillWorking(pi);
  expect(pi.runtime.services.modelRuntime.getModels("llamafiles").map((model) => model.id)).toEqual(["good"]);
});

test("beside every kind of bad entry at once, the good model still answers", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: [
      ...atLoad.map(([, bad], index) => ({ ...bad, id: `${String(bad.id)}-${index}` })),
      fakeModelEntry({ id: "good", name: "Good", port, flags: ["--reply", "still fine"] }),
    ],
  });
  expect(warnings(pi).length).toBeGreaterThanOrEqual(atLoad.length - 2); // the bad-id entries differ only by their ids
  await pi.select("llamafiles/good");
  expect(await pi.prompt("hi")).toEqual({ text: "still fine", error: undefined });
  expect(await pi.command("/llamafiles")).toMatch(/^Running: Good \(id=good, /);
});

/**
 * Each broken file, the warning that names it, and whether it is said at start in pi's TUI:
 * pi shows a models.json it cannot parse itself there. A file without a llamafiles block
 * declares nothing and is no problem (discovery needs none). /llamafiles always says it.
 */
const fileCases: Array<[string, string, RegExp | undefined, "said" | "pi says it" | "nothing to say"]> = [
  ["a top-level array", "[1, 2, 3]", undefined, "nothing to say"],
  [
    "providers.llamafiles is null",
    JSON.stringify({ providers: { llamafiles: null } }),
    /^llamafiles: providers\.llamafiles in ~\/\.pi\/agent\/models\.json must be an object \(got null\)/,
    "said",
  ],
  [
    "models is a string",
    JSON.stringify({ providers: { llamafiles: { models: "all of them" } } }),
    /is not a non-empty array \(got "all of them"\)/,
    "said",
  ],
  ["binary garbage", "\u0000\u0001\u0002{{{", /is not valid JSON/, "pi says it"],
  ["two megabytes of nonsense", "x".repeat(2 * 1024 * 1024), /is not valid JSON/, "pi says it"],
];

test.each(fileCases)(
  "a models.json that is %s: its warning where it belongs, nothing registered, pi keeps working",
  async (what, text, warning, when) => {
    const pi = await startPi({ modelsJsonText: text });
    const shown = warnings(pi).filter((message) => message.startsWith("llamafiles"));
    expect(shown).toHaveLength(when === "said" ? 1 : 0);
    if (when === "said") expect(shown[0]).toMatch(warning!);
    const report = (await pi.command("/llamafiles"))!.split("\n");
    expect(report[0]).toBe("No llamafile server is running");
    // Then the problem, if any, then what discovery found (nothing: this HOME has no model folder),
    // unless the block itself is unusable: pi would refuse anything registered under it.
    if (warning) expect(report[1]).toMatch(warning);
    if (!/models is/.test(what)) expect(report.at(-1)).toMatch(/^No model discovered: ~\/models, ~\/\.cache\/llama\.cpp do not exist/);
    else expect(report).toHaveLength(2);
    expect(pi.runtime.services.modelRuntime.getModels("llamafiles")).toEqual([]);
    await stillWorking(pi);
  },
);

test("a cwd that is a file: selecting says so, nothing crashes", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: [{ id: "c", name: "C", command: process.execPath, args: ["-e", "0"], port, cwd: process.execPath }],
  });
  await pi.select("llamafiles/c");
  const { error } = await pi.prompt("hi");
  expect(error).toBe(
    `C could not be started: working directory "${process.execPath}" is not a folder (check "cwd"). Log: ${join(pi.home, ".pi", "llamafile_logs", "c.log")}`,
  );
  await stillWorking(pi);
});

test("a command that is a folder: selecting says it cannot run, nothing crashes", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [{ id: "d", name: "D", command: "/tmp", port }] });
  await pi.select("llamafiles/d");
  const { error } = await pi.prompt("hi");
  expect(error).toMatch(/^D could not be started: command "\/tmp" is not executable \(chmod \+x it\)\. Log: /);
  await stillWorking(pi);
});

test("an id that climbs out of the logs folder keeps its log inside it", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [{ id: "../../outside", name: "Out", command: "/nonexistent/x", port }] });
  await pi.select("llamafiles/../../outside");
  const { error } = await pi.prompt("hi");
  expect(error).toMatch(new RegExp(`Log: ${join(pi.home, ".pi", "llamafile_logs")}/[^/]+\\.log$`));
  await stillWorking(pi);
});
