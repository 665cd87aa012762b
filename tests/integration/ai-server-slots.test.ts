// A router whose presets give the workers slot-save-path lets clients save and restore slots:
// pi saves this session's slot before the unloads and switches it does, and restores it after
// the loads it does, into a slot of its own, under file names no other client uses. A router
// without it: nothing is sent, nothing changes.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { waitFor } from "../helpers/processes.ts";

let testbed: AiServerTestbed;
afterEach(async () => {
  await cleanupAll();
  await testbed.close();
});

const PRESET_SAVING = `[*]
threads = 1
parallel = 4
slot-save-path = /srv/llama/slots/

[tiny-a]
model = /srv/llama/models/tiny-a.gguf
ctx-size = 8192

[tiny-b]
model = /srv/llama/models/tiny-b.gguf
ctx-size = 8192
`;

async function piWithRouter(preset: string): Promise<PiHarness> {
  testbed = await startAiServerTestbed({ preset });
  return startPi({ aiServerEnv: testbed.env });
}

const slotRequests = () => testbed.router.requests.filter((request) => request.path.startsWith("/slots/"));
const chatSlots = () =>
  testbed.router.requests
    .filter((request) => request.path === "/v1/chat/completions")
    .map((request) => (JSON.parse(request.body) as { id_slot?: number }).id_slot);
const footer = (pi: PiHarness) => pi.ui.statuses("ai-server").at(-1);

test("an unload this pi does saves its slot; the load it does next restores it before the first prompt", async () => {
  const pi = await piWithRouter(PRESET_SAVING);
  expect(await pi.command("/ai-server-load tiny-a")).toMatch(/^ai-server: tiny-a is loaded/);
  await pi.select("ai-server/tiny-a");
  await pi.prompt("hello there, router");
  const [slot] = chatSlots();
  expect(slot).toEqual(expect.any(Number));

  expect(await pi.command("/ai-server-unload tiny-a")).toBe("ai-server: tiny-a is unloaded.");
  const session = pi.runtime.session.sessionManager.getSessionId();
  const [save] = slotRequests();
  expect(save!.path).toBe(`/slots/${slot}?action=save&autoload=false`);
  const { filename, model } = JSON.parse(save!.body) as { filename: string; model: string };
  // A name of this session's alone: no other client writes it.
  expect({ model, filename }).toEqual({
    model: "tiny-a",
    filename: expect.stringMatching(new RegExp(`^pi-${session}-[0-9a-f]{8}-a\\.bin$`)),
  });
  const index = join(pi.home, ".pi", "llamafile_cache", "routers");
  expect(readdirSync(index)).toHaveLength(1);

  await pi.prompt("hello again");
  expect(slotRequests().map((request) => request.path)).toEqual([
    `/slots/${slot}?action=save&autoload=false`,
    `/slots/${slot}?action=restore&autoload=false`,
  ]);
  expect(footer(pi)).toMatch(/^tiny-a · .* · restored$/);
  expect(Number(/cache (\d+)%/.exec(footer(pi)!)?.[1])).toBeGreaterThanOrEqual(90);
  await pi.prompt("and once more");
  expect(footer(pi)).not.toContain("restored");
});

test("selecting another model saves the slot of the one it evicts; its next save takes the other file name", async () => {
  const pi = await piWithRouter(PRESET_SAVING);
  await pi.select("ai-server/tiny-a");
  await pi.prompt("hello a");
  await pi.select("ai-server/tiny-b");
  await pi.prompt("hello b");
  const saves = slotRequests().filter((request) => request.path.includes("action=save"));
  expect(saves.map((request) => JSON.parse(request.body).model)).toEqual(["tiny-a"]);
  await pi.select("ai-server/tiny-a");
  await pi.prompt("hello a again");
  expect(footer(pi)).toMatch(/ · restored$/);
  await pi.select("ai-server/tiny-b");
  await waitFor(() => slotRequests().filter((request) => request.path.includes("action=save")).length === 3, "the third save");
  const names = slotRequests()
    .filter((request) => request.path.includes("action=save"))
    .map((request) => JSON.parse(request.body) as { model: string; filename: string });
  // tiny-b's slot was saved on the way back to a; tiny-a's second save writes the other file.
  expect(names.map((name) => `${name.model}:${name.filename.slice(-5)}`)).toEqual(["tiny-a:a.bin", "tiny-b:a.bin", "tiny-a:b.bin"]);
});

test("a full disk on the router host: one notice, and the earlier save stays the one restored", async () => {
  const pi = await piWithRouter(PRESET_SAVING);
  await pi.select("ai-server/tiny-a");
  await pi.prompt("hello a");
  await pi.command("/ai-server-unload tiny-a");
  await pi.prompt("hello a again");
  testbed.router.mode.saveDiskFull = true;
  const before = pi.notifications().length;
  expect(await pi.command("/ai-server-unload tiny-a")).toBe("ai-server: tiny-a is unloaded.");
  expect(
    pi
      .notifications()
      .slice(before)
      .filter((notice) => notice.message.includes("prompt cache")),
  ).toEqual([
    {
      message: expect.stringMatching(
        /^ai-server: could not save this session's prompt cache of tiny-a on the router \(the router wrote nothing \(\d+ tokens, 0 bytes written\): the disk of its --slot-save-path folder is probably full\); an earlier save, if any, is kept\.$/,
      ),
      type: "warning",
    },
  ]);
  testbed.router.mode.saveDiskFull = false;
  await pi.prompt("a third time");
  const restores = slotRequests().filter((request) => request.path.includes("action=restore"));
  expect(restores.map((request) => JSON.parse(request.body).filename.slice(-5))).toEqual(["a.bin", "a.bin"]);
});

test("a router without slot-save-path: no slot request, no id_slot, nothing saved", async () => {
  const pi = await piWithRouter(PRESET_SAVING.replace("slot-save-path = /srv/llama/slots/\n", ""));
  await pi.select("ai-server/tiny-a");
  await pi.prompt("hello");
  await pi.command("/ai-server-unload tiny-a");
  await pi.prompt("hello again");
  expect(slotRequests()).toEqual([]);
  expect(chatSlots()).toEqual([undefined, undefined]);
  expect(existsSync(join(pi.home, ".pi", "llamafile_cache", "routers"))).toBe(false);
  expect(footer(pi)).not.toContain("restored");
});
