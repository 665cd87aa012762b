// SSH admin: ids and sizes are validated before anything reaches the remote
// side (an injection corpus is refused); the words that do go arrive unchanged; the preset
// edit changes one key of one section and keeps everything else, atomically, with a backup.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadAiServerSettings } from "../../src/ai-server/config.ts";
import { argumentProblemText, errorText, type SettingsForWords, settingsProblemText } from "../../src/ai-server/messages.ts";
import { checkModelId as checkId, PRESET_EDIT_SCRIPT, parseCtxSize as parseSize, runSsh } from "../../src/ai-server/ssh-admin.ts";

// Validation hands over values; the assertions are on the words the user reads.
const checkModelId = (id: string, known: readonly string[]) => {
  const problem = checkId(id, known);
  return problem && argumentProblemText(problem);
};
const parseCtxSize = (text: string) => {
  const size = parseSize(text);
  return typeof size === "number" ? size : argumentProblemText(size);
};

import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";

const known = ["tiny-a", "tiny-b", "Qwen_Qwen3.6-35B-A3B-Q8_0"];

describe("validation before the remote side", () => {
  const corpus = [
    "tiny-a; rm -rf ~",
    "tiny-a && reboot",
    "$(reboot)",
    "`id`",
    "tiny-a'",
    '"tiny-a"',
    "tiny-a\nreboot",
    "tiny a",
    "-oProxyCommand=sh",
    "../../etc/passwd",
    "tiny-a|cat",
    "tiny-a>x",
    "",
  ];
  test.each(corpus.map((id) => [JSON.stringify(id), id]))("id %s is refused", (_shown, id) => {
    expect(checkModelId(id, known)).toMatch(
      /^ai-server: .* is not a model id \(letters, digits and \. _ : \+ @ - \/, not a path\)\. Known models: tiny-a, tiny-b, Qwen_Qwen3\.6-35B-A3B-Q8_0\.$/,
    );
  });

  test("an id the router does not list is refused, listing the known ones", () => {
    expect(checkModelId("tiny-c", known)).toBe(
      'ai-server: the router has no model "tiny-c". Known models: tiny-a, tiny-b, Qwen_Qwen3.6-35B-A3B-Q8_0.',
    );
    expect(checkModelId("Qwen_Qwen3.6-35B-A3B-Q8_0", known)).toBeUndefined();
  });

  test.each(["0", "-1", "1.5", "1e6", "65536 ", " 65536", "abc", "$(id)", "99999999999", ""])("size %j is refused", (size) => {
    expect(parseCtxSize(size)).toMatch(/^ai-server: the context size must be a positive whole number of tokens/);
  });

  test("an ssh host that ssh could read as an option is refused already in the settings", () => {
    const { servers, errors } = loadAiServerSettings({
      env: { AI_SERVER_URL: "https://router.test", AI_SERVER_SSH_HOST: "-oProxyCommand=sh" },
      agentDir: "/nonexistent",
    });
    expect(servers).toEqual([]);
    expect(errors.map(settingsProblemText)).toEqual([
      'ai-server: AI_SERVER_SSH_HOST="-oProxyCommand=sh" is not a plain ssh target like user@host.',
    ]);
  });

  test("a good size is a number", () => {
    expect(parseCtxSize("65536")).toBe(65536);
  });
});

describe("what reaches ssh", () => {
  let testbed: AiServerTestbed;
  beforeAll(async () => {
    testbed = await startAiServerTestbed();
  });
  afterAll(() => testbed.close());

  test("BatchMode, a connect timeout, `--` before the host, and each word arrives unchanged on the remote side", async () => {
    const tricky = ["printf", "%s|", "it's", "a b", "$HOME", "`x`"];
    const result = await runSsh("ai-server@router.test", tricky);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("it's|a b|$HOME|`x`|");
    expect(testbed.sshCalls().at(-1)!.slice(0, 6)).toEqual([
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=10",
      "--",
      "ai-server@router.test",
    ]);
  });

  test("a host that looks like an option is refused before ssh runs", async () => {
    const before = testbed.sshCalls().length;
    const refused = await runSsh("-oProxyCommand=sh", ["true"]).catch((error: unknown) => error);
    expect(errorText(refused, { url: "https://router.test" } as SettingsForWords)).toMatch(/is not a plain ssh target/);
    expect(testbed.sshCalls()).toHaveLength(before);
  });
});

describe("the preset edit script", () => {
  const preset = `; router presets
version = 1

[*]
threads = 1

; the big one
[Qwen_Qwen3.6-35B-A3B-Q8_0]
model = /m/q.gguf
ctx-size = 262144
temp = 0.7
ctx-size = 1

[tiny-b]   ; inline comment
model = /m/b.gguf
; no ctx here
alias = b
`;
  const run = (file: string, id: string, size: string) =>
    spawnSync("sh", ["-s", "--", id, size, file], { input: PRESET_EDIT_SCRIPT, encoding: "utf8" });
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), "preset-"));
    writeFileSync(join(dir, "p.ini"), preset);
    return dir;
  };

  test("replaces the section's ctx-size (dropping a later duplicate), keeps everything else, keeps a backup, leaves no temp file", () => {
    const dir = fresh();
    const result = run(join(dir, "p.ini"), "Qwen_Qwen3.6-35B-A3B-Q8_0", "65536");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("previous=262144\n");
    expect(readFileSync(join(dir, "p.ini"), "utf8")).toBe(
      preset.replace("ctx-size = 262144\ntemp = 0.7\nctx-size = 1\n", "ctx-size = 65536\ntemp = 0.7\n"),
    );
    expect(readFileSync(join(dir, "p.ini.bak"), "utf8")).toBe(preset);
    expect(readdirSync(dir).sort()).toEqual(["p.ini", "p.ini.bak"]);
  });

  test("adds ctx-size right under the header when the section has none", () => {
    const dir = fresh();
    expect(run(join(dir, "p.ini"), "tiny-b", "4096").stdout).toBe("previous=\n");
    expect(readFileSync(join(dir, "p.ini"), "utf8")).toBe(
      preset.replace("[tiny-b]   ; inline comment\n", "[tiny-b]   ; inline comment\nctx-size = 4096\n"),
    );
  });

  test("an unknown section changes nothing and says so; a missing file says so", () => {
    const dir = fresh();
    const result = run(join(dir, "p.ini"), "nope", "1");
    expect(result.status).toBe(4);
    expect(result.stderr).toBe(`no [nope] section in ${join(dir, "p.ini")}\n`);
    expect(readFileSync(join(dir, "p.ini"), "utf8")).toBe(preset);
    expect(readdirSync(dir)).toEqual(["p.ini"]);
    expect(run(join(dir, "missing.ini"), "tiny-b", "1").stderr).toBe(`preset file ${join(dir, "missing.ini")} does not exist\n`);
  });
});
