/**
 * A stand-in for llama.cpp's `llama-server`, for tests of discovered models: an executable named
 * `llama-server` in a folder a test puts first on PATH. It takes llama-server's arguments (-m,
 * --alias, --host, --port, -c, -np, --jinja, --mmproj, and ignores the rest) and runs the fake
 * server (tests/helpers/fake-server.ts, its `--as-llama-server` mode) with the matching flags, in
 * its own process (`exec`: the stand-in is the process pi started, as a real llama-server is).
 * The script names this node and the compiled fake server by absolute path, so the PATH a test
 * gives pi needs nothing else; it carries the run's tag, so the suite's clean-up finds it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAKE_SERVER, runTag } from "./fake-llamafile.ts";

const quoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** Writes `<dir>/llama-server` and returns its path. `flags`: the fake server's own flags for every start (e.g. ["--reply", "hi"]). */
export function installFakeLlamaServer(dir: string, flags: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "llama-server");
  const own = [FAKE_SERVER, "--tag", runTag(), ...flags].map(quoted).join(" ");
  writeFileSync(
    path,
    `#!/bin/sh\n# A stand-in for llama-server (tests/helpers/fake-llama-server.ts).\nexec ${quoted(process.execPath)} ${own} --as-llama-server "$@"\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** The llama-server arguments each start of the model `id` was given, in `home` (the stand-in records them). */
export function llamaServerArgsSeen(home: string, id: string): string[][] {
  const path = join(home, ".fake-server-requests", `${id}.argv`);
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
}
