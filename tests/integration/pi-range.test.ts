// The tests drive the end of the supported pi range they say they drive: the newest (the dev
// dependency) under `npm test`, the oldest (tests/pi-oldest, the lower bound of the peer
// dependency range) under PI_UNDER_TEST=oldest, both in the SDK the harness imports and in the CLI.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "@earendil-works/pi-coding-agent";
import { expect, test } from "vitest";
import { REPO_ROOT } from "../helpers/fake-llamafile.ts";
import { PI_CLI, PI_UNDER_TEST } from "../helpers/pi-under-test.ts";

const manifest = (path: string) => JSON.parse(readFileSync(join(REPO_ROOT, path), "utf8"));
const ours = manifest("package.json");
const range: string = ours.peerDependencies["@earendil-works/pi-coding-agent"];
const [, lowest, ceiling] = /^>=(\d+\.\d+\.\d+) <(\d+)\.0\.0$/.exec(range) ?? [];
const expected =
  PI_UNDER_TEST === "oldest"
    ? manifest("tests/pi-oldest/package.json").dependencies["@earendil-works/pi-coding-agent"]
    : ours.devDependencies["@earendil-works/pi-coding-agent"];

test(`the peer range is ">=<oldest> <next major>", and the oldest pi installed for tests is its lower bound`, () => {
  expect(range).toMatch(/^>=\d+\.\d+\.\d+ <\d+\.0\.0$/);
  expect(manifest("tests/pi-oldest/package.json").dependencies["@earendil-works/pi-coding-agent"]).toBe(lowest);
  expect(Number(ours.devDependencies["@earendil-works/pi-coding-agent"].split(".")[0])).toBeLessThan(Number(ceiling));
});

test(`the SDK and the CLI under test are the ${PI_UNDER_TEST} pi of the range`, () => {
  expect(VERSION).toBe(expected);
  expect(execFileSync(process.execPath, [PI_CLI, "--version"], { encoding: "utf8" }).trim()).toContain(expected);
});
