// CHANGELOG.md is what pi shows a user after an update ("Extension Updates", pi 1.5 and later):
// pi's own reader parses it, its newest entry is the package's version, and pi finds it for
// this package when the package is installed.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createAgentSessionServices, VERSION } from "@earendil-works/pi-coding-agent";
import { expect, test } from "vitest";
import { REPO_ROOT } from "../helpers/fake-llamafile.ts";
import { makeHome } from "../helpers/pi-harness.ts";
import { PI_NODE_MODULES } from "../helpers/pi-under-test.ts";

interface ChangelogEntry {
  major: number;
  minor: number;
  patch: number;
  content: string;
}
const reader = (await import(pathToFileURL(join(PI_NODE_MODULES, "@earendil-works/pi-coding-agent/dist/utils/changelog.js")).href)) as {
  parseChangelog(path: string): ChangelogEntry[];
  getNewEntries(entries: ChangelogEntry[], lastVersion: string): ChangelogEntry[] | undefined;
};
const CHANGELOG = join(REPO_ROOT, "CHANGELOG.md");
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
const versionOf = (entry: ChangelogEntry) => `${entry.major}.${entry.minor}.${entry.patch}`;

test("pi's changelog reader parses every release, newest first, the newest being package.json's version", () => {
  const entries = reader.parseChangelog(CHANGELOG);
  expect(entries.length).toBeGreaterThanOrEqual(3);
  expect(versionOf(entries[0]!)).toBe(version);
  const order = entries.map((entry) => entry.major * 1e6 + entry.minor * 1e3 + entry.patch);
  expect(order).toEqual([...order].sort((a, b) => b - a));
  for (const entry of entries) {
    // Keep a Changelog: "## [x.y.z] - YYYY-MM-DD", then sections such as "### Added".
    expect(entry.content).toMatch(/^## \[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}\n/);
    expect(entry.content).toMatch(/\n### (Added|Changed|Fixed|Removed|Deprecated|Security)\n/);
  }
});

test("a user updating from an earlier version is shown only the entries newer than theirs", () => {
  const entries = reader.parseChangelog(CHANGELOG);
  const previous = versionOf(entries[1]!);
  expect(reader.getNewEntries(entries, previous)?.map(versionOf)).toEqual([version]);
  expect(reader.getNewEntries(entries, version)).toEqual([]);
});

const [major, minor] = VERSION.split(".").map(Number) as [number, number];
test.runIf(major > 1 || (major === 1 && minor >= 5))(`pi ${VERSION} finds the changelog of this package when it is installed`, async () => {
  const home = makeHome();
  const agentDir = join(home, ".pi", "agent");
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(join(agentDir, "settings.json"), JSON.stringify({ packages: [REPO_ROOT] }));
  const services = await createAgentSessionServices({
    cwd: home,
    agentDir,
    resourceLoaderOptions: { noSkills: true, noPromptTemplates: true, noThemes: true, noContextFiles: true },
  });
  const ours = services.resourceLoader
    .getExtensions()
    .extensions.map((extension) => extension.sourceInfo as { baseDir?: string; origin?: string; changelogPath?: string })
    .find((info) => info.baseDir === REPO_ROOT.replace(/\/$/, ""));
  expect(ours).toMatchObject({ origin: "package", changelogPath: CHANGELOG });
});
