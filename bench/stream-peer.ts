/**
 * The streaming peer of bench/ai-server-stream.ts, in its own process so that serving the
 * tokens does not share an event loop with the client being measured: the fake router over
 * mTLS and a plain-HTTP twin, both with tiny-a loaded. Prints one JSON line, then serves
 * until stdin closes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PRESET } from "../tests/helpers/ai-server-setup.ts";
import { testPki } from "../tests/helpers/certificates.ts";
import { startFakeRouter } from "../tests/helpers/fake-router.ts";

const tokens = Number(process.argv[2] ?? 2000);
const pki = testPki();
const presetPath = join(mkdtempSync(join(tmpdir(), "stream-peer-")), "preset.ini");
writeFileSync(presetPath, PRESET);
const routers = [await startFakeRouter({ pki, presetPath }), await startFakeRouter({ pki, presetPath, plainHttp: true })];
for (const router of routers) {
  router.mode.tokens = tokens;
  router.models().find((m) => m.id === "tiny-a")!.value = "loaded";
}
process.stdout.write(`${JSON.stringify({ tlsUrl: routers[0]!.url, plainUrl: routers[1]!.url, client: pki.client })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  for (const router of routers) await router.close();
  process.exit(0);
});
