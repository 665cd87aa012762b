// Loading providers.llamafiles from models.json. Each malformed or edge-case config asserts
// the problem found and the exact warning a user would read.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { loadLlamafilesConfig } from "../../src/llamafiles/config.ts";
import { configProblemText } from "../../src/llamafiles/messages.ts";

const dir = mkdtempSync(join(tmpdir(), "llamafiles-config-"));
let n = 0;
function load(text: string | undefined) {
  const modelsPath = join(dir, `models-${n++}.json`);
  if (text !== undefined) writeFileSync(modelsPath, text);
  const { config, problems } = loadLlamafilesConfig({ modelsPath, cwd: "/home/me/project", logPathFor: (id) => `/logs/${id}.log` });
  // The loader hands over values; the warnings asserted are the words the user reads.
  return { config, problems, warnings: problems.map(configProblemText), modelsPath };
}
const withModels = (models: unknown, extra: object = {}) => JSON.stringify({ providers: { llamafiles: { ...extra, models } } });
const good = { id: "a", command: "/bin/a" };

test("a minimal entry gets every documented default", () => {
  const { config, warnings } = load(withModels([good]));
  expect(warnings).toEqual([]);
  expect(config).toEqual({
    baseUrl: "http://localhost:8080/v1",
    api: "openai-completions",
    apiKey: "llamafiles-not-needed",
    compat: { supportsDeveloperRole: false, supportsReasoningEffort: false, maxTokensField: "max_tokens" },
    missingForPi: ["api", "baseUrl"],
    // One local server at a time, no memory budget.
    keepWarm: 1,
    memoryBudgetBytes: undefined,
    // Discovery on, in the default folders, with llama-server from PATH and no arguments of the user's.
    discovery: { modelDirs: undefined, llamaServer: undefined, serverArgs: undefined, modelServerArgs: {}, modelPorts: {} },
    // Saved prompt caches may take 16 GiB on disk (a command that is not llama-server keeps none).
    promptCacheBudgetBytes: 16 * 2 ** 30,
    // What a model that does not say gets: a prompt cache, no idle stop.
    modelCacheDefaults: { promptCache: true, idleMs: 0 },
    models: [
      {
        id: "a",
        name: "a",
        command: "/bin/a",
        args: [],
        port: 8080,
        env: {},
        cwd: "/home/me/project",
        logPath: "/logs/a.log",
        reasoning: false,
        input: ["text"],
        contextWindow: 131072,
        maxTokens: 8192,
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        passthrough: {},
        // Nothing declared: what the server says (GET /props) replaces every default.
        declared: { contextWindow: undefined, input: undefined, maxTokens: undefined },
      },
    ],
  });
});

test("given values win over defaults; unknown fields pass through to pi", () => {
  const { config, warnings } = load(
    withModels(
      [
        {
          ...good,
          name: "A",
          args: ["--port", "{{port}}"],
          port: 9000,
          env: { K: "v" },
          cwd: "/srv",
          reasoning: true,
          input: ["text", "image"],
          contextWindow: 4096,
          maxTokens: 512,
          headers: { "x-a": "1" },
          thinkingLevelMap: { off: "off" },
        },
      ],
      { apiKey: "k", compat: { supportsDeveloperRole: true }, futureField: 1 },
    ),
  );
  expect(warnings).toEqual([]);
  expect(config!.apiKey).toBe("k");
  expect(config!.compat).toEqual({ supportsDeveloperRole: true, supportsReasoningEffort: false, maxTokensField: "max_tokens" });
  expect(config!.models[0]).toMatchObject({
    name: "A",
    port: 9000,
    env: { K: "v" },
    cwd: "/srv",
    reasoning: true,
    contextWindow: 4096,
    maxTokens: 512,
    passthrough: { headers: { "x-a": "1" }, thinkingLevelMap: { off: "off" } },
    declared: { contextWindow: { value: 4096, source: "models.json" }, input: ["text", "image"], maxTokens: 512 },
  });
});

test("// comments and trailing commas are accepted, as pi accepts them", () => {
  const { config, warnings } = load(
    `{ // mine\n "providers": { "llamafiles": { "models": [ { "id": "a", "command": "/bin/a", }, ], }, }, }`,
  );
  expect(warnings).toEqual([]);
  expect(config!.models.map((m) => m.id)).toEqual(["a"]);
});

/** What a user with no usable block gets: nothing declared, every default, discovery on. */
const onlyDiscovery = {
  missingForPi: [],
  baseUrl: "http://localhost:8080/v1",
  api: "openai-completions",
  apiKey: "llamafiles-not-needed",
  compat: { supportsDeveloperRole: false, supportsReasoningEffort: false, maxTokensField: "max_tokens" },
  models: [],
  keepWarm: 1,
  memoryBudgetBytes: undefined,
  discovery: { modelDirs: undefined, llamaServer: undefined, serverArgs: undefined, modelServerArgs: {}, modelPorts: {} },
  promptCacheBudgetBytes: 16 * 2 ** 30,
  modelCacheDefaults: { promptCache: true, idleMs: 0 },
};

const declaresNothing: Array<[string, string | undefined, ((path: string) => string) | undefined]> = [
  ["missing file", undefined, undefined],
  [
    "empty file",
    "",
    (p) =>
      `llamafiles: ${p} is not valid JSON (Unexpected end of JSON input); no model declared there is registered (discovered models still are).`,
  ],
  [
    "unparseable JSON",
    "{ providers: ",
    (p) =>
      `llamafiles: ${p} is not valid JSON (Expected property name or '}' in JSON at position 2 (line 1 column 3)); no model declared there is registered (discovered models still are).`,
  ],
  ["no providers key", "{}", undefined],
  ["no llamafiles provider", JSON.stringify({ providers: { other: {} } }), undefined],
  [
    "llamafiles is not an object",
    JSON.stringify({ providers: { llamafiles: [] } }),
    () =>
      "llamafiles: providers.llamafiles in ~/.pi/agent/models.json must be an object (got []); no model declared there is registered (discovered models still are).",
  ],
];

test.each(declaresNothing)(
  "%s: nothing declared, discovery with every default (and a warning when the file is broken)",
  (_name, text, warning) => {
    const { config, warnings, modelsPath } = load(text);
    expect(config).toEqual(onlyDiscovery);
    expect(warnings).toEqual(warning ? [warning(modelsPath)] : []);
  },
);

const PI_REFUSES =
  'llamafiles: pi refuses providers.llamafiles in ~/.pi/agent/models.json without "models" unless it has a "baseUrl"; no local models registered. Add "api": "openai-completions" and "baseUrl": "http://localhost:8080/v1" to the block (README, "Discovered models").';

const nothingCases: Array<[string, string, string]> = [
  ["a block with nothing in it", JSON.stringify({ providers: { llamafiles: {} } }), PI_REFUSES],
  ["models empty, no baseUrl", withModels([]), PI_REFUSES],
  ["only discovery settings, no baseUrl", JSON.stringify({ providers: { llamafiles: { modelDirs: ["~/m"] } } }), PI_REFUSES],
  [
    "discovery off, models missing",
    JSON.stringify({ providers: { llamafiles: { discover: false, baseUrl: "http://localhost:8080/v1" } } }),
    "llamafiles: providers.llamafiles.models in ~/.pi/agent/models.json is missing; no local models registered.",
  ],
  [
    "discovery off, models empty",
    withModels([], { discover: false }),
    "llamafiles: providers.llamafiles.models in ~/.pi/agent/models.json is not a non-empty array (got []); no local models registered.",
  ],
  [
    "discovery off, models not an array",
    withModels({ a: 1 }, { discover: false }),
    `llamafiles: providers.llamafiles.models in ~/.pi/agent/models.json is not a non-empty array (got {"a":1}); no local models registered.`,
  ],
];

test.each(nothingCases)("%s: warns and registers nothing", (_name, text, warning) => {
  const { config, warnings } = load(text);
  expect(config).toBeUndefined();
  expect(warnings).toEqual([warning]);
});

test("a block with a baseUrl and no models is discovery's: every setting read, ~ expanded", () => {
  const { config, warnings } = load(
    JSON.stringify({
      providers: {
        llamafiles: {
          api: "openai-completions",
          baseUrl: "http://localhost:8080/v1",
          modelDirs: ["~/models", "/data/gguf", "~"],
          llamaServer: "/opt/llama.cpp/build/bin/llama-server",
          serverArgs: ["-ngl", "99"],
          discovered: { "qwen2.5-coder-7b-instruct-q4_k_m": { serverArgs: ["-c", "65536"] }, other: { port: 18700 } },
          memoryBudget: "40GiB",
        },
      },
    }),
  );
  expect(warnings).toEqual([]);
  expect(config).toMatchObject({
    models: [],
    missingForPi: [],
    memoryBudgetBytes: 40 * 2 ** 30,
    discovery: {
      modelDirs: [`${process.env.HOME}/models`, "/data/gguf", process.env.HOME],
      llamaServer: "/opt/llama.cpp/build/bin/llama-server",
      serverArgs: ["-ngl", "99"],
      modelServerArgs: { "qwen2.5-coder-7b-instruct-q4_k_m": ["-c", "65536"] },
      modelPorts: { other: 18700 },
    },
  });
  expect(load(withModels([good], { discover: false })).config!.discovery).toBeUndefined();
});

test("a bad discovery setting falls back to its default with a warning that names it", () => {
  const provider = (extra: object) => load(withModels([good], extra));
  expect(provider({ modelDirs: ["models"] }).warnings).toEqual([
    `llamafiles: providers.llamafiles.modelDirs[0] must match pattern "^(~$|~/|/)" (got "models"); using the default.`,
  ]);
  expect(provider({ modelDirs: ["models"] }).config!.discovery!.modelDirs).toBeUndefined();
  expect(provider({ serverArgs: "-ngl 99" }).warnings).toEqual([
    `llamafiles: providers.llamafiles.serverArgs must be array (got "-ngl 99"); using the default.`,
  ]);
  expect(provider({ serverArgs: "-ngl 99" }).config!.discovery!.serverArgs).toBeUndefined();
  expect(provider({ discover: "no" }).config!.discovery).toBeDefined();
});

test("a bad discovered.<id> leaves out that id's settings only, with a warning naming it; the other ids keep theirs", () => {
  const provider = (discovered: unknown) => load(withModels([good], { discovered }));
  const fine = { serverArgs: ["-c", "65536"], port: 14250 };
  const cases: Array<[string, unknown, string]> = [
    [
      "an argument that is not a string",
      { serverArgs: ["-c", 5] },
      'llamafiles: ignored the settings of discovered model "x": providers.llamafiles.discovered.x.serverArgs[1] must be string (got 5); it runs with discovery\'s defaults.',
    ],
    [
      "a field it does not have",
      { pinned: true },
      'llamafiles: ignored the settings of discovered model "x": providers.llamafiles.discovered.x has an unknown field "pinned"; it runs with discovery\'s defaults.',
    ],
    [
      "a port below 1024",
      { port: 80, serverArgs: ["-ngl", "99"] },
      'llamafiles: ignored the settings of discovered model "x": providers.llamafiles.discovered.x.port must be >= 1024 (got 80); it runs with discovery\'s defaults.',
    ],
    [
      "not an object",
      "fast",
      'llamafiles: ignored the settings of discovered model "x": providers.llamafiles.discovered.x must be object (got "fast"); it runs with discovery\'s defaults.',
    ],
  ];
  for (const [name, settings, warning] of cases) {
    const { config, warnings } = provider({ x: settings, "qwen-7b": fine });
    expect(warnings, name).toEqual([warning]);
    expect(config!.discovery, name).toMatchObject({ modelServerArgs: { "qwen-7b": ["-c", "65536"] }, modelPorts: { "qwen-7b": 14250 } });
    expect(Object.keys(config!.discovery!.modelServerArgs), name).toEqual(["qwen-7b"]);
  }
  // An id with "/" or "~" is found by its JSON pointer's escapes; an id that is none (blank) is named.
  const { config, warnings } = provider({ "a/b~c": { port: 1 }, "": fine, "qwen-7b": fine });
  expect(warnings).toEqual([
    'llamafiles: ignored "" under providers.llamafiles.discovered: not a model id (blank, or longer than 200 characters).',
    'llamafiles: ignored the settings of discovered model "a/b~c": providers.llamafiles.discovered.a/b~c.port must be >= 1024 (got 1); it runs with discovery\'s defaults.',
  ]);
  expect(config!.discovery!.modelPorts).toEqual({ "qwen-7b": 14250 });
  // "discovered" as a whole not an object: its default, as any field.
  expect(provider([fine]).warnings).toEqual([
    'llamafiles: providers.llamafiles.discovered must be object (got [{"serverArgs":["-c","65536"],"port":14250}]); using the default.',
  ]);
});

const skipCases: Array<[string, unknown, string]> = [
  ["entry is not an object", "a", `llamafiles: skipped models[1]: providers.llamafiles.models[1] must be object (got "a").`],
  ["id missing", { command: "/bin/b" }, "llamafiles: skipped models[1]: providers.llamafiles.models[1].id is missing (required)."],
  [
    "id empty",
    { id: "", command: "/bin/b" },
    `llamafiles: skipped models[1]: providers.llamafiles.models[1].id must not be blank (got "").`,
  ],
  [
    "command blank",
    { id: "b", command: "  " },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].command must not be blank (got "  ").`,
  ],
  ["command missing", { id: "b" }, `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].command is missing (required).`],
  [
    "port as a string",
    { id: "b", command: "x", port: "8080" },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].port must be integer (got "8080").`,
  ],
  [
    "port out of range",
    { id: "b", command: "x", port: 70000 },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].port must be <= 65535 (got 70000).`,
  ],
  [
    "port not an integer",
    { id: "b", command: "x", port: 80.5 },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].port must be integer (got 80.5).`,
  ],
  [
    "args not an array",
    { id: "b", command: "x", args: "--port {{port}}" },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].args must be array (got "--port {{port}}").`,
  ],
  [
    "an arg not a string",
    { id: "b", command: "x", args: ["--port", 8080] },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].args[1] must be string (got 8080).`,
  ],
  [
    "env value not a string",
    { id: "b", command: "x", env: { N: 1 } },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].env.N must be string (got 1).`,
  ],
  [
    "input with an unknown kind",
    { id: "b", command: "x", input: ["audio"] },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].input[0] must be equal to one of the allowed values (got "audio").`,
  ],
  [
    "contextWindow negative",
    { id: "b", command: "x", contextWindow: -1 },
    `llamafiles: skipped models[1] "b": providers.llamafiles.models[1].contextWindow must be >= 1 (got -1).`,
  ],
  [
    "two problems at once",
    { id: 5, command: "x", port: "p" },
    `llamafiles: skipped models[1]: providers.llamafiles.models[1].id must be string (got 5); providers.llamafiles.models[1].port must be integer (got "p").`,
  ],
];

test.each(skipCases)("%s: that entry is skipped with its path and value, the rest load", (_name, entry, warning) => {
  const { config, warnings } = load(withModels([good, entry, { id: "c", command: "/bin/c" }]));
  expect(warnings).toEqual([warning]);
  expect(config!.models.map((m) => m.id)).toEqual(["a", "c"]);
});

test("duplicate ids: the first wins, each later one is warned about", () => {
  const { config, warnings } = load(
    withModels([
      { ...good, name: "first" },
      { ...good, name: "second" },
      { ...good, name: "third" },
    ]),
  );
  expect(config!.models.map((m) => m.name)).toEqual(["first"]);
  expect(warnings).toEqual([
    `llamafiles: duplicate model id "a" at providers.llamafiles.models[1]; kept the first, ignored this one.`,
    `llamafiles: duplicate model id "a" at providers.llamafiles.models[2]; kept the first, ignored this one.`,
  ]);
});

test("every entry invalid: warns for each; discovery's models are still offered, or with discovery off nothing is", () => {
  const { config, warnings } = load(withModels([{ id: "a" }]));
  expect(config!.models).toEqual([]);
  expect(warnings).toEqual(['llamafiles: skipped models[0] "a": providers.llamafiles.models[0].command is missing (required).']);
  const off = load(withModels([{ id: "a" }], { discover: false }));
  expect(off.config).toBeUndefined();
  expect(off.warnings).toEqual([
    'llamafiles: skipped models[0] "a": providers.llamafiles.models[0].command is missing (required).',
    "llamafiles: no valid model in providers.llamafiles.models of ~/.pi/agent/models.json; no local models registered.",
  ]);
});

test("a bad provider-level field falls back to its default with a warning", () => {
  const { config, warnings } = load(withModels([good], { apiKey: 42, compat: "yes" }));
  expect(warnings).toEqual([
    "llamafiles: providers.llamafiles.apiKey must be string (got 42); using the default.",
    `llamafiles: providers.llamafiles.compat must be object (got "yes"); using the default.`,
  ]);
  expect(config!.apiKey).toBe("llamafiles-not-needed");
  expect(config!.compat).toEqual({ supportsDeveloperRole: false, supportsReasoningEffort: false, maxTokensField: "max_tokens" });
});

test("a port below the system's first unprivileged port is skipped for a user who cannot listen there", () => {
  const modelsPath = join(dir, `models-${n++}.json`);
  writeFileSync(
    modelsPath,
    withModels([
      { ...good, port: 80 },
      { id: "b", command: "/bin/b", port: 8081 },
    ]),
  );
  const { config, problems } = loadLlamafilesConfig({ modelsPath, cwd: "/", logPathFor: (id) => `/logs/${id}.log`, lowestPort: 1024 });
  expect(problems.map(configProblemText)).toEqual([
    'llamafiles: skipped models[0] "a": port 80 needs root to listen on (this system lets users listen from port 1024 up); give it a "port" of 1024 or above.',
  ]);
  expect(config!.models.map((m) => m.id)).toEqual(["b"]);
  // Root may listen anywhere.
  expect(loadLlamafilesConfig({ modelsPath, cwd: "/", logPathFor: (id) => id, lowestPort: 0 }).config!.models).toHaveLength(2);
});

test("a model id with a slash keeps its log inside the logs folder", async () => {
  const { serverLogPath } = await import("../../src/llamafiles/process/paths.ts");
  expect(serverLogPath("org/model")).toMatch(/\/\.pi\/llamafile_logs\/org_model-[0-9a-f]{8}\.log$/);
  // Two ids that differ only in characters a file name cannot hold still get two logs.
  expect(serverLogPath("org/model")).not.toBe(serverLogPath("org_model"));
  expect(serverLogPath("../../etc/passwd")).toMatch(/\/\.pi\/llamafile_logs\/[^/]+\.log$/);
  expect(serverLogPath("qwen2.5-coder-7b")).toMatch(/\/qwen2\.5-coder-7b\.log$/);
});

test("missingForPi names what pi itself needs in the block: nothing when api and baseUrl are given", () => {
  expect(load(withModels([good], { api: "openai-completions", baseUrl: "http://localhost:8080/v1" })).config!.missingForPi).toEqual([]);
  expect(load(withModels([good], { baseUrl: "http://localhost:8080/v1" })).config!.missingForPi).toEqual(["api"]);
  expect(load(withModels([{ ...good, api: "openai-completions", baseUrl: "http://x/v1" }])).config!.missingForPi).toEqual([]);
});

test("keepWarm, memoryBudget, memory and pinned: read with their units; a bad value warns and falls back or skips the model", () => {
  const { config, warnings } = load(withModels([{ ...good, memory: "512 MB", pinned: true }], { keepWarm: 3, memoryBudget: "1.5TiB" }));
  expect(warnings).toEqual([]);
  expect({ keepWarm: config!.keepWarm, budget: config!.memoryBudgetBytes }).toEqual({ keepWarm: 3, budget: 1.5 * 2 ** 40 });
  expect([config!.models[0]!.memoryBytes, config!.models[0]!.pinned]).toEqual([512e6, true]);

  const provider = (extra: object) => load(withModels([good], extra));
  expect(provider({ keepWarm: 0 }).warnings).toEqual([
    "llamafiles: providers.llamafiles.keepWarm must be >= 1 (got 0); using the default.",
  ]);
  expect(provider({ keepWarm: 17 }).config!.keepWarm).toBe(1);
  expect(provider({ memoryBudget: "lots" }).warnings).toEqual([
    'llamafiles: providers.llamafiles.memoryBudget must be an amount of memory such as "22GiB" or "512 MB" (got "lots"); using the default.',
  ]);
  expect(provider({ memoryBudget: "lots" }).config!.memoryBudgetBytes).toBeUndefined();

  const model = (extra: object) =>
    load(
      withModels([
        { ...good, ...extra },
        { id: "b", command: "/bin/b" },
      ]),
    );
  expect(model({ memory: "-1GiB" }).warnings).toEqual([
    'llamafiles: skipped models[0] "a": providers.llamafiles.models[0].memory must be an amount of memory such as "22GiB" or "512 MB" (got "-1GiB").',
  ]);
  expect(model({ pinned: "yes" }).config!.models.map((m) => m.id)).toEqual(["b"]);
});

test("README's discovery example loads as written: no warning, and the settings it shows", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const example = /<!-- example: models\.json \(discovery\) -->\s*```jsonc\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const { config, warnings } = load(example);
  expect(warnings).toEqual([]);
  expect(config!.discovery).toEqual({
    modelDirs: [`${process.env.HOME}/models`, "/data/gguf"],
    llamaServer: "/opt/llama.cpp/build/bin/llama-server",
    serverArgs: ["-ngl", "99", "--threads", "8"],
    modelServerArgs: { "qwen2.5-coder-7b-instruct-q4_k_m": ["-c", "65536"] },
    modelPorts: { "qwen2.5-coder-7b-instruct-q4_k_m": 14250 },
  });
});

test("promptCache, promptCacheBudget, idleMinutes: on for llama-server, a placeholder elsewhere, per model over the provider", () => {
  process.env.HOME = "/home/me";
  const server = { id: "s", command: "/opt/llama.cpp/build/bin/llama-server", args: ["-m", "x.gguf"] };
  const { config, warnings } = load(
    withModels(
      [
        server,
        { ...server, id: "off", promptCache: false },
        { id: "lf", command: "/m/q.llamafile", args: ["--slot-save-path", "{{promptCacheDir}}"], idleMinutes: 0 },
        { id: "plain", command: "/m/q.llamafile" },
        { ...server, id: "pinned", pinned: true },
        { ...server, id: "quick", idleMinutes: 0.5 },
      ],
      { promptCacheBudget: "2GiB", idleMinutes: 30 },
    ),
  );
  expect(warnings).toEqual([]);
  const byId = Object.fromEntries(config!.models.map((model) => [model.id, model]));
  expect(byId.s).toMatchObject({
    promptCache: { dir: "/home/me/.pi/llamafile_cache/s", via: "append", budgetBytes: 2 * 2 ** 30 },
    idleMs: 1_800_000,
  });
  expect(byId.off!.promptCache).toBeUndefined();
  expect(byId.lf).toMatchObject({ promptCache: { via: "placeholder" } });
  expect(byId.lf!.idleMs).toBeUndefined();
  expect(byId.plain!.promptCache).toBeUndefined();
  // A pinned server is never stopped for idleness.
  expect(byId.pinned!.idleMs).toBeUndefined();
  expect(byId.quick!.idleMs).toBe(30_000);
  // Fields of this extension's do not pass through to pi.
  expect(byId.quick!.passthrough).toEqual({});
  expect(config!.promptCacheBudgetBytes).toBe(2 * 2 ** 30);
});

test("a bad promptCache, promptCacheBudget or idleMinutes warns and falls back, or skips the model", () => {
  const { config, warnings } = load(
    withModels(
      [
        { ...good, idleMinutes: -1 },
        { ...good, id: "b" },
      ],
      { promptCacheBudget: "lots", promptCache: "yes" },
    ),
  );
  expect(config!.models.map((model) => model.id)).toEqual(["b"]);
  expect(warnings).toEqual([
    'llamafiles: providers.llamafiles.promptCache must be boolean (got "yes"); using the default.',
    'llamafiles: providers.llamafiles.promptCacheBudget must be an amount of memory such as "22GiB" or "512 MB" (got "lots"); using the default.',
    'llamafiles: skipped models[0] "a": providers.llamafiles.models[0].idleMinutes must be >= 0 (got -1).',
  ]);
});
