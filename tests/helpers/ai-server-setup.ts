/**
 * Everything an ai-server integration test needs around pi: the test PKI, a fake router on
 * loopback with a preset file, a stand-in `ssh` (and `systemctl`) first on PATH, and every
 * AI_SERVER_* variable set explicitly (nothing may default to a real host).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type TestPki, testPki } from "./certificates.ts";
import { type FakeRouter, type FakeRouterOptions, startFakeRouter } from "./fake-router.ts";

export const PRESET = `; router presets (test)
[*]
threads = 1

[tiny-a]
model = /srv/llama/models/tiny-a.gguf
ctx-size = 2048

[tiny-b]
model = /srv/llama/models/tiny-b.gguf
ctx-size = 4096
alias = b

; placeholder: no model path
[ghost]
ctx-size = 8192
`;

export interface AiServerTestbed {
  pki: TestPki;
  router: FakeRouter;
  /** The fake ssh's HOME: the "remote" preset lives here as ~/.llama-models.ini. */
  remoteHome: string;
  presetPath: string;
  /** Every AI_SERVER_* variable, pointing at the fake router and the test certificates. */
  env: Record<string, string>;
  sshCalls(): string[][];
  systemctlCalls(): string[];
  close(): Promise<void>;
}

const fakeSsh = fileURLToPath(new URL("./fake-ssh.ts", import.meta.url));

export async function startAiServerTestbed(
  options: Partial<Omit<FakeRouterOptions, "pki" | "presetPath">> & { preset?: string } = {},
): Promise<AiServerTestbed> {
  const pki = testPki();
  const base = mkdtempSync(join(tmpdir(), "pi-ai-server-"));
  const remoteHome = join(base, "remote-home");
  const bin = join(base, "bin");
  mkdirSync(remoteHome);
  mkdirSync(bin);
  const presetPath = join(remoteHome, ".llama-models.ini");
  writeFileSync(presetPath, options.preset ?? PRESET);
  const router = await startFakeRouter({ pki, presetPath, ...options });

  const sshLog = join(base, "ssh-argv.jsonl");
  writeFileSync(sshLog, "");
  writeFileSync(join(bin, "ssh"), `#!/bin/sh\nexec "${process.execPath}" "${fakeSsh}" "$@"\n`);
  writeFileSync(
    join(bin, "systemctl"),
    `#!/bin/sh\necho "$*" >> "${join(base, "systemctl.log")}"\nexec "${process.execPath}" -e "fetch('http://127.0.0.1:${router.controlPort}/restart', { method: 'POST' }).then(() => process.exit(0))"\n`,
  );
  chmodSync(join(bin, "ssh"), 0o755);
  chmodSync(join(bin, "systemctl"), 0o755);
  writeFileSync(join(base, "systemctl.log"), "");

  const originalPath = process.env.PATH;
  process.env.PATH = `${bin}:${originalPath}`;
  process.env.FAKE_SSH_LOG = sshLog;
  process.env.FAKE_SSH_HOME = remoteHome;

  return {
    pki,
    router,
    remoteHome,
    presetPath,
    env: {
      AI_SERVER_URL: router.url,
      AI_SERVER_CERTS_DIR: join(pki.dir, "nowhere"),
      AI_SERVER_CA: pki.client.ca,
      AI_SERVER_CLIENT_CERT: pki.client.cert,
      AI_SERVER_CLIENT_KEY: pki.client.key,
      AI_SERVER_TIMEOUT_MS: "20000",
      AI_SERVER_SSH_HOST: "ai-server@router.test",
      AI_SERVER_PRESET_PATH: "~/.llama-models.ini",
    },
    sshCalls: () =>
      readFileSync(sshLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string[]),
    systemctlCalls: () => readFileSync(join(base, "systemctl.log"), "utf8").split("\n").filter(Boolean),
    async close() {
      process.env.PATH = originalPath;
      await router.close();
    },
  };
}
