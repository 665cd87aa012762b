// The repository stands on its own: no tracked file (code, test, comment, doc, script)
// refers to a path outside it or to a document that is not in it. A clone with nothing
// beside it must build, test and read the same as this one.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
// Recorded byte for byte from a real server: their paths (/srv/llama/…) are facts, not references.
const RECORDED = join("tests", "fixtures") + sep;
const UNTRACKED = new Set(["node_modules", ".git", ".artifacts", "results"]);

function trackedFiles(): string[] {
  try {
    return execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\0")
      .filter(Boolean);
  } catch {
    // Not a git checkout (an unpacked archive): every file but the installed and generated ones.
    const walk = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
        UNTRACKED.has(entry.name) ? [] : entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
      );
    return walk("");
  }
}

const textFiles = trackedFiles().filter((file) => {
  const path = join(ROOT, file);
  if (file.startsWith(RECORDED) || path === SELF || statSync(path).size > 2_000_000) return false;
  return !readFileSync(path).subarray(0, 8000).includes(0);
});

// Written in pieces so this file does not match itself.
const FORBIDDEN: Array<[RegExp, string]> = [
  [new RegExp(["shared", "(fixtures|docs|seeds|hooks)"].join("/")), "the reference folder beside the clone"],
  [new RegExp(["DESIGN", "md"].join("\\.")), "a design note that is not in the repository"],
  [
    /llamafiles-spec|ai-server-readme\.txt|pi-extension-api\.md|llama-server-facts\.md|statechart-notes\.md/,
    "a document that is not in the repository",
  ],
  [new RegExp(`\\b(DESIGN|[Ss]pec|[Ss]eed|[Ii]ssue) ?#?\\d*\\s?${"§"}`), "a section of a document that is not in the repository"],
  [new RegExp(["", "work", ""].join("/")), "a path on the developer's machine"],
];

test("the check sees the whole repository", () => {
  expect(textFiles.length).toBeGreaterThan(50);
  expect(textFiles).toContain("README.md");
  expect(textFiles).toContain(join("src", "index.ts"));
});

test("no tracked file names a path outside the repository", () => {
  const found: string[] = [];
  for (const file of textFiles) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const match of text.matchAll(/(?:\.\.\/)+[\w.@-]*/g)) {
      const target = resolve(ROOT, dirname(file), match[0]);
      if (relative(ROOT, target).startsWith("..")) found.push(`${file}: ${match[0]}`);
    }
    for (const [pattern, what] of FORBIDDEN) {
      const hit = pattern.exec(text);
      if (hit) found.push(`${file}: "${hit[0]}" (${what})`);
    }
  }
  expect(found).toEqual([]);
});

test("README's Layout describes every folder of the tree (machines, src, tests, tools, bench, docs)", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const layout = /## Layout\n+```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  expect(layout.length).toBeGreaterThan(500);
  // Every folder holding a tracked file, and the folders above it; a new file in a described
  // folder needs no README edit, a new folder does.
  const folders = new Set<string>();
  for (const file of trackedFiles().filter((file) => /^(machines|src|tests|tools|bench|docs)\//.test(file)))
    for (let dir = dirname(file); dir !== "."; dir = dirname(dir)) folders.add(dir);
  expect(folders.size).toBeGreaterThan(10);
  const undescribed = [...folders].filter((dir) => !layout.includes(`${dir.split("/").at(-1)}/`)).sort();
  expect(undescribed).toEqual([]);
});
