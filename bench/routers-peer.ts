/**
 * The peer of bench/several-routers.ts, in its own process so that serving does not share an
 * event loop with the client being measured: one fake mTLS router per name given on the command
 * line, each with its own PKI (its own CA and client certificate), tiny-a loaded on each. Prints
 * one JSON line, then serves until stdin closes. Loopback only.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PRESET } from "../tests/helpers/ai-server-setup.ts";
import { testPki } from "../tests/helpers/certificates.ts";
import { type FakeRouter, startFakeRouter } from "../tests/helpers/fake-router.ts";

const names = process.argv.slice(2);
const routers: Array<{ name: string; router: FakeRouter; client: { ca: string; cert: string; key: string } }> = [];
for (const name of names) {
  const presetPath = join(mkdtempSync(join(tmpdir(), `routers-peer-${name}-`)), "preset.ini");
  writeFileSync(presetPath, PRESET);
  const pki = testPki(name);
  const router = await startFakeRouter({ pki, presetPath });
  router.models().find((m) => m.id === "tiny-a")!.value = "loaded";
  routers.push({ name, router, client: pki.client });
}
process.stdout.write(`${JSON.stringify(routers.map(({ name, router, client }) => ({ name, url: router.url, client })))}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  for (const { router } of routers) await router.close();
  process.exit(0);
});
