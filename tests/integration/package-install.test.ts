// The package as it ships: `npm pack` holds what pi loads and nothing dev-only, and installed
// the way the README says (its contents, `npm install --omit=dev`, `pi install <folder>`) the
// real pi CLI loads it: `pi --list-models` lists a declared model, `/llamafiles` answers.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { REPO_ROOT } from "../helpers/fake-llamafile.ts";
import { PI_CLI, piEnv } from "../helpers/pi-process.ts";

const work = mkdtempSync(join(tmpdir(), "pi-llama-package-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
// npm's own cache (other tests move HOME around): the install needs nothing the clone's install did not fetch.
const npmEnv = { ...process.env, npm_config_cache: join(userInfo().homedir, ".npm"), npm_config_update_notifier: "false" };

test("npm pack holds what pi loads, and a pi with it installed from the README's steps lists a declared model", {
  timeout: 120_000,
}, () => {
  const [packed] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: REPO_ROOT, env: npmEnv, encoding: "utf8" }),
  ) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const files = packed!.files.map((file) => file.path);
  for (const path of files)
    expect(path).toMatch(/^(package\.json|README\.md|CHANGELOG\.md|LICENSE|index\.ts|generated\/|machines\/|src\/)/);
  expect(files).toEqual(
    expect.arrayContaining([
      "index.ts",
      "generated/start-module.ts",
      "LICENSE",
      "CHANGELOG.md",
      "src/llamafiles/process/keeper.mjs",
      "src/llamafiles/models-json.schema.json",
    ]),
  );
  expect(files.filter((path) => /(^|\/)(tests|bench|tools|demo)\//.test(path))).toEqual([]);

  execFileSync("tar", ["-xzf", join(work, packed!.filename), "-C", work]);
  const folder = join(work, "package");
  execFileSync("npm", ["install", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: folder,
    env: npmEnv,
  });

  const home = join(work, "home");
  mkdirSync(join(home, ".pi", "agent"), { recursive: true });
  // The minimal block (no "api", no "baseUrl"): pi alone cannot use it, so only the extension can list the model.
  writeFileSync(
    join(home, ".pi", "agent", "models.json"),
    JSON.stringify({ providers: { llamafiles: { models: [{ id: "qwen-local", command: "/bin/true", port: 18099 }] } } }),
  );
  const pi = (...args: string[]) => {
    const run = spawnSync(process.execPath, [PI_CLI, ...args], {
      cwd: home,
      env: piEnv(home),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(run.status, run.stderr).toBe(0);
    return run;
  };
  pi("install", folder);
  expect(pi("--list-models").stdout).toMatch(/^llamafiles\s+qwen-local\s/m);
  // In print mode pi keeps stdout for the answer: what a command says goes to stderr.
  expect(pi("--no-session", "-p", "/llamafiles").stderr).toContain("No llamafile server is running");
});
