// A model declared with port 11434 and args [..., "--port", "{{port}}"] is
// spawned with --port 11434, is ready on http://localhost:11434/v1 and chats; changing only
// "port" to 11500 (args untouched) makes the next start use 11500 end to end.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, probeModels } from "../helpers/processes.ts";

afterEach(cleanupAll);

/** The example's ports when nothing else holds them (an Ollama may own 11434); another free port otherwise. */
async function portOrFree(wanted: number): Promise<number> {
  return (await probeModels(wanted)) === "refused" ? wanted : freePort();
}

test("{{port}} follows the declared port, and changing only the port moves the server", async () => {
  const first = await portOrFree(11434);
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-t", name: "T", port: first })] });
  const entry = JSON.parse(readFileSync(join(pi.home, ".pi/agent/models.json"), "utf8")).providers.llamafiles.models[0];
  expect(entry.args).toContain("{{port}}");

  await pi.select("llamafiles/model-t");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(pi.runtime.session.model?.baseUrl).toBe(`http://localhost:${first}/v1`);
  expect(await probeModels(first)).toEqual({ status: 200, ids: ["model-t"] });
  const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const pid = Number(/pid=(\d+)/.exec((await pi.command("/llamafiles")) ?? "")?.[1]);
  expect(cmdline(pid)).toEqual(expect.arrayContaining(["--port", String(first)]));
  await pi.quit();

  const second = await portOrFree(11500);
  const models = join(pi.home, ".pi/agent/models.json");
  const config = JSON.parse(readFileSync(models, "utf8"));
  config.providers.llamafiles.models[0].port = second;
  writeFileSync(models, JSON.stringify(config));
  const again = await startPi({ home: pi.home, llamafiles: undefined });
  await again.select("llamafiles/model-t");
  expect((await again.prompt("hi")).error).toBeUndefined();
  expect(again.runtime.session.model?.baseUrl).toBe(`http://localhost:${second}/v1`);
  expect(await probeModels(second)).toEqual({ status: 200, ids: ["model-t"] });
  expect(await probeModels(first)).toBe("refused");
});
