/** models.json entries and external processes built on tests/helpers/fake-server.ts. */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";
import { isAlive, probeModels, waitFor } from "./processes.ts";

/** /llamafiles' second line for a ready fake server (its default context, `--ctx`). */
export const FAKE_CONTEXT_LINE = "  context 65,536 tokens per request (from the server)";
/** The footer's figures after a fake server's first answer (its fixed timings: 50 tok/s, 2000 prompt tok/s, nothing cached). */
export const FAKE_FIGURES = "50 tok/s · prompt 2.0k tok/s · cache 0%";

/** /llamafiles without the last answer's figures: the running line and the context line. */
export const firstLines = (report: string | undefined) => report?.split("\n").slice(0, 2).join("\n");

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The fake server as plain JavaScript, compiled once per version of its source into
 * node_modules/.cache: Node starts a .ts file through its type stripper, which costs about
 * 0.13 s of CPU per start (0.30 s instead of 0.17 s), and the suite starts hundreds of them.
 */
export const FAKE_SERVER = compiledFakeServer(fileURLToPath(new URL("./fake-server.ts", import.meta.url)));

function compiledFakeServer(sourcePath: string): string {
  const source = readFileSync(sourcePath, "utf8");
  const version = createHash("sha256").update(source).digest("hex").slice(0, 12);
  const dir = join(REPO_ROOT, "node_modules", ".cache", "pi-llama-tests");
  const compiled = join(dir, `fake-server-${version}.mjs`);
  if (existsSync(compiled)) return compiled;
  mkdirSync(dir, { recursive: true });
  // Workers may compile at the same moment: each writes its own file, and the rename is atomic.
  const partial = `${compiled}.${process.pid}.partial`;
  writeFileSync(partial, transformSync(source, { loader: "ts", format: "esm", target: "node22" }).code);
  renameSync(partial, compiled);
  return compiled;
}

/**
 * Every fake server a test starts carries this tag: the run's id (set by the global
 * setup; the suite-level check looks for it) plus this worker's pid, so a test file's
 * clean-up never touches another file's servers. Closed by a colon: found by substring, the tag
 * of worker 123 must not match the servers of worker 1234.
 */
export function runTag(): string {
  return `${process.env.PI_LLAMA_TEST_RUN ?? "pi-llama-test"}:${process.pid}:`;
}

export interface FakeModelOptions {
  id: string;
  port: number;
  name?: string;
  /** Extra fake-server flags, e.g. ["--startup-delay-ms", "500"]. */
  flags?: string[];
  /** Ids the server advertises (default: `id`). */
  advertise?: string[];
}

function serverArgs(o: { portArg: string; advertise: string[]; flags: string[] }): string[] {
  return [FAKE_SERVER, "--port", o.portArg, ...o.advertise.flatMap((id) => ["--id", id]), "--tag", runTag(), ...o.flags];
}

/**
 * A command named `llama-server` that runs the fake server: a symbolic link to Node in `dir`
 * (its process keeps that name as argv[0], so the proof of an ownership record holds), given the
 * fake server's script first. pi treats it as llama-server, adding --slot-save-path and the slot
 * layout itself.
 */
export function fakeLlamaServerCommand(dir: string): string {
  const path = join(dir, "llama-server");
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    symlinkSync(process.execPath, path);
  }
  return path;
}

/** A models[] entry that runs the fake server as `llama-server` (see fakeLlamaServerCommand). */
export function fakeLlamaServerEntry(o: FakeModelOptions & { binDir: string; extra?: Record<string, unknown> }): Record<string, unknown> {
  return { ...fakeModelEntry(o), command: fakeLlamaServerCommand(o.binDir), ...o.extra };
}

/** The chat requests the fake server of `id` answered in `home` (its journal: written before each answer). */
export function requestsSeen(home: string, id: string): string[] {
  const path = join(home, ".fake-server-requests", `${id}.log`);
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];
}

/** A `providers.llamafiles.models[]` entry that runs the fake server through pi. */
export function fakeModelEntry(o: FakeModelOptions): Record<string, unknown> {
  return {
    id: o.id,
    ...(o.name ? { name: o.name } : {}),
    command: process.execPath,
    args: serverArgs({ portArg: "{{port}}", advertise: o.advertise ?? [o.id], flags: o.flags ?? [] }),
    port: o.port,
  };
}

/** A fake server started outside pi (the user's own, for adoption and foreign-port tests). */
export async function startExternalServer(o: { port: number; ids: string[]; flags?: string[] }) {
  const child = spawn(process.execPath, serverArgs({ portArg: String(o.port), advertise: o.ids, flags: o.flags ?? [] }), {
    stdio: "ignore",
  });
  const pid = child.pid!;
  await waitFor(async () => {
    const answer = await probeModels(o.port);
    return answer !== "refused" && answer.status === 200;
  }, `external fake server on ${o.port}`);
  return {
    pid,
    async stop() {
      if (!isAlive(pid)) return;
      child.kill("SIGKILL");
      await waitFor(() => !isAlive(pid), `external server ${pid} to exit`);
    },
  };
}
