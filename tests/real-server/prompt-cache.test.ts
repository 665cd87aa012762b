// The prompt cache against the real llama-server, in a real pi runtime: skipped unless
// LLAMA_SERVER names a llama-server binary and LLAMA_SERVER_MODELS a folder with GGUF files
// (the first two, alphabetically, are models A and B). Save before a switch and restore before
// the first prompt; two pi sessions on one server; the idle stop; a full disk (a small tmpfs on
// the model's cache folder; skipped, saying why, where mount is not permitted).
//
//   LLAMA_SERVER=/path/to/llama-server LLAMA_SERVER_MODELS=/path/to/models npx vitest run tests/real-server
//
// Servers bind 127.0.0.1 on ports 18901-18909 with --threads 1; every server a test starts is
// stopped by pi, and any left is killed by its pid.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { cleanupAll, makeHome, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess, writeModels } from "../helpers/pi-process.ts";
import { findProcesses, isAlive, waitFor } from "../helpers/processes.ts";

const binary = process.env.LLAMA_SERVER;
const modelsDir = process.env.LLAMA_SERVER_MODELS;
const ggufs =
  modelsDir && existsSync(modelsDir)
    ? readdirSync(modelsDir)
        .filter((name) => name.endsWith(".gguf"))
        .sort()
    : [];
const ready = !!binary && existsSync(binary) && ggufs.length >= 2;

const homes: string[] = [];
const mounts: string[] = [];
afterEach(async () => {
  await killPiProcesses();
  await cleanupAll();
  // Whatever server a failing test left: by its pid, only those of this test's HOME.
  for (const home of homes) for (const pid of findProcesses(binary ?? "llama-server", home)) process.kill(pid, "SIGKILL");
  for (const mount of mounts.splice(0)) execFileSync("umount", [mount]);
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A models.json entry for the real llama-server (tiny models: a few tokens an answer). */
const entry = (id: string, gguf: string, port: number, extra: Record<string, unknown> = {}) => ({
  id,
  name: id.toUpperCase(),
  command: binary,
  args: ["-m", join(modelsDir!, gguf), "--alias", id, "--host", "127.0.0.1", "--port", "{{port}}", "--threads", "1", "-c", "16384"],
  port,
  maxTokens: 4,
  ...extra,
});

const cacheDir = (home: string, id: string) => join(home, ".pi", "llamafile_cache", id);
const records = (home: string, id: string) =>
  existsSync(cacheDir(home, id))
    ? readdirSync(cacheDir(home, id))
        .filter((name) => /^s-.*\.json$/.test(name))
        .map(
          (name) =>
            JSON.parse(readFileSync(join(cacheDir(home, id), name), "utf8")) as { file: string; tokens: number; session: { id: string } },
        )
    : [];
const cacheShare = (footer: string | undefined) => Number(/cache (\d+)%/.exec(footer ?? "")?.[1]);
const serverOf = (home: string, port: number) =>
  findProcesses(binary!, `--port ${port}`).find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(home));

async function piWith(
  models: Array<Record<string, unknown>>,
  provider: Record<string, unknown> = {},
): Promise<{ pi: PiHarness; home: string }> {
  const home = makeHome();
  homes.push(home);
  const pi = await startPi({ home, llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models, ...provider } });
  return { pi, home };
}

describe.skipIf(!ready)("the prompt cache with the real llama-server", () => {
  const [A, B] = ggufs;

  test("a switch saves the slot; switching back restores it before the first prompt, which is served from the cache", async () => {
    const { pi, home } = await piWith([entry("real-a", A!, 18901), entry("real-b", B!, 18902)]);
    await pi.select("llamafiles/real-a");
    expect((await pi.prompt("hello")).error).toBeUndefined();
    const server = serverOf(home, 18901)!;
    const args = readFileSync(`/proc/${server}/cmdline`, "utf8").replace(/\0$/, "").split("\0");
    expect(args.slice(-2)).toEqual(["--slot-save-path", cacheDir(home, "real-a")]);

    await pi.select("llamafiles/real-b");
    await waitFor(() => !isAlive(server), "A to stop after its save", 15_000);
    const [saved] = records(home, "real-a");
    expect(saved!.tokens).toBeGreaterThan(100);

    await pi.select("llamafiles/real-a");
    expect((await pi.prompt("hello again")).error).toBeUndefined();
    expect(pi.footer().at(-1)).toMatch(/ · restored$/);
    expect(cacheShare(pi.footer().at(-1))).toBeGreaterThanOrEqual(90);
  }, 60_000);

  test("two pi sessions on one server: a slot and a file each, never mixed", async () => {
    const { pi, home } = await piWith([entry("real-a", A!, 18903), entry("real-b", B!, 18904)]);
    writeModels(home, [entry("real-a", A!, 18903)]);
    await pi.select("llamafiles/real-a");
    await pi.prompt("the first session talks about the weather in spring");
    const server = serverOf(home, 18903)!;
    const second = startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/real-a"]);
    await second.prompt("the second session is about something else entirely: numbers");
    // The second quits: its slot is saved under its own session; the server runs on for the first.
    second.child.stdin!.end();
    await second.exited;
    expect(isAlive(server)).toBe(true);
    const mine = pi.runtime.session.sessionManager.getSessionId();
    expect(records(home, "real-a").map((record) => record.session.id)).toEqual([expect.not.stringMatching(mine)]);
    // The first saves on its switch, and gets its own conversation back.
    await pi.select("llamafiles/real-b");
    await waitFor(() => !isAlive(server), "A to stop", 15_000);
    await pi.select("llamafiles/real-a");
    await pi.prompt("the first session again");
    expect(pi.footer().at(-1)).toMatch(/ · restored$/);
    expect(cacheShare(pi.footer().at(-1))).toBeGreaterThanOrEqual(90);
  }, 90_000);

  test("idleMinutes: an unused server is stopped with its slot saved; the next prompt restores it", async () => {
    const { pi, home } = await piWith([entry("real-a", A!, 18905)], { idleMinutes: 0.02 });
    await pi.select("llamafiles/real-a");
    await pi.prompt("hello");
    const server = serverOf(home, 18905)!;
    await waitFor(() => pi.footer().at(-1) === "REAL-A stopped after 1 s idle · the next prompt starts it", "the idle stop", 20_000);
    expect(isAlive(server)).toBe(false);
    expect(records(home, "real-a")).toHaveLength(1);
    await pi.prompt("hello again");
    expect(pi.footer().at(-1)).toMatch(/ · restored$/);
  }, 60_000);

  test("a full disk (a small tmpfs): the save writes nothing, one notice, the server stops, the earlier save is kept", async (context) => {
    const home = makeHome();
    homes.push(home);
    const dir = cacheDir(home, "real-a");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", dir], { stdio: "pipe" });
    } catch (error) {
      context.skip(
        `mount is not permitted here (${String((error as { stderr?: Buffer }).stderr ?? error).trim()}): the full-disk case needs a small tmpfs`,
      );
    }
    mounts.push(dir);
    const pi = await startPi({
      home,
      llamafiles: {
        api: "openai-completions",
        baseUrl: "http://localhost:8080/v1",
        models: [entry("real-a", A!, 18906), entry("real-b", B!, 18907)],
      },
    });
    await pi.select("llamafiles/real-a");
    await pi.prompt("hello");
    await pi.select("llamafiles/real-b");
    await waitFor(() => records(home, "real-a").length === 1, "the first save", 15_000);
    const [good] = records(home, "real-a");

    await pi.select("llamafiles/real-a");
    await pi.prompt("hello again, with a few more words this time");
    // Fill the disk but for a few kilobytes: the next save cannot be written.
    const free = Number(execFileSync("df", ["--output=avail", "-B1", dir], { encoding: "utf8" }).split("\n")[1]);
    writeFileSync(join(dir, "filler"), Buffer.alloc(Math.max(0, free - 8192)));
    const server = serverOf(home, 18906)!;
    const before = pi.notifications().length;
    await pi.select("llamafiles/real-b");
    await waitFor(() => !isAlive(server), "A to stop although it could not save", 15_000);
    await waitFor(
      () =>
        pi
          .notifications()
          .slice(before)
          .some((n) => n.message.startsWith("Could not save")),
      "the notice",
    );
    expect(
      pi
        .notifications()
        .slice(before)
        .filter((n) => n.message.includes("prompt cache")),
    ).toEqual([
      {
        message: expect.stringMatching(/^Could not save REAL-A's prompt cache: the server wrote nothing \(\d+ tokens, 0 bytes written\)/),
        type: "warning",
      },
    ]);
    expect(records(home, "real-a")).toEqual([{ ...good, usedAt: expect.any(Number) }]);
    expect(readdirSync(dir).filter((name) => name.endsWith(".bin"))).toEqual([good!.file]);
  }, 90_000);
});
