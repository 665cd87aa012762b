/**
 * Everything an ai-server integration test needs around pi: the test PKI, a fake router on
 * loopback with a preset file, a stand-in `ssh` (and `systemctl`) first on PATH, and every
 * AI_SERVER_* variable set explicitly (nothing may default to a real host). Several routers
 * ("boxes") each get their own PKI, router, ssh host and remote folder (startRouterBoxes).
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

/** One box: a fake router with its preset, and the folder the fake ssh runs its commands in. */
export interface RouterBox {
  pki: TestPki;
  router: FakeRouter;
  remoteHome: string;
  presetPath: string;
  /** `systemctl` as the box's ssh ran it. */
  systemctlCalls(): string[];
}

type BoxOptions = Partial<Omit<FakeRouterOptions, "pki" | "presetPath">> & { preset?: string; pki?: TestPki };

async function startBox(base: string, options: BoxOptions): Promise<RouterBox> {
  const pki = options.pki ?? testPki();
  const remoteHome = mkdtempSync(join(base, "remote-home-"));
  const presetPath = join(remoteHome, ".llama-models.ini");
  writeFileSync(presetPath, options.preset ?? PRESET);
  const router = await startFakeRouter({ ...options, pki, presetPath });
  // What the stand-in systemctl, run by the fake ssh in this folder, restarts.
  writeFileSync(join(remoteHome, ".fake-router-control-port"), String(router.controlPort));
  const log = join(remoteHome, ".systemctl.log");
  writeFileSync(log, "");
  return { pki, router, remoteHome, presetPath, systemctlCalls: () => readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

/** `ssh` and `systemctl` stand-ins first on PATH; returns how to read what ssh was asked and how to put PATH back. */
function installStandIns(base: string) {
  const bin = join(base, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "ssh"), `#!/bin/sh\nexec "${process.execPath}" "${fakeSsh}" "$@"\n`);
  // Run by the fake ssh with HOME set to the box's folder: it restarts that box's router.
  writeFileSync(
    join(bin, "systemctl"),
    `#!/bin/sh\necho "$*" >> "$HOME/.systemctl.log"\nexec "${process.execPath}" -e "fetch('http://127.0.0.1:' + require('node:fs').readFileSync(process.env.HOME + '/.fake-router-control-port', 'utf8').trim() + '/restart', { method: 'POST' }).then(() => process.exit(0))"\n`,
  );
  chmodSync(join(bin, "ssh"), 0o755);
  chmodSync(join(bin, "systemctl"), 0o755);
  const sshLog = join(base, "ssh-argv.jsonl");
  writeFileSync(sshLog, "");
  const originalPath = process.env.PATH;
  process.env.PATH = `${bin}:${originalPath}`;
  process.env.FAKE_SSH_LOG = sshLog;
  return {
    sshCalls: () =>
      readFileSync(sshLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string[]),
    restorePath: () => {
      process.env.PATH = originalPath;
    },
  };
}

export async function startAiServerTestbed(options: BoxOptions = {}): Promise<AiServerTestbed> {
  const base = mkdtempSync(join(tmpdir(), "pi-ai-server-"));
  const box = await startBox(base, options);
  const standIns = installStandIns(base);
  delete process.env.FAKE_SSH_HOMES;
  process.env.FAKE_SSH_HOME = box.remoteHome;
  const { pki, router } = box;
  return {
    ...box,
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
    sshCalls: standIns.sshCalls,
    async close() {
      standIns.restorePath();
      await router.close();
    },
  };
}

export interface RouterBoxes {
  boxes: Record<string, RouterBox & { sshHost: string }>;
  /** A `servers` entry of ai-server.json for a box: its URL, its own certificate files, its ssh host. */
  entry(name: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  sshCalls(): string[][];
  close(): Promise<void>;
}

/**
 * Several boxes, each a fake router with its own PKI (its own CA and client certificate), its
 * own preset and remote folder, reached over ssh as `ai-server@<name>.test`.
 */
export async function startRouterBoxes(specs: Record<string, BoxOptions>): Promise<RouterBoxes> {
  const base = mkdtempSync(join(tmpdir(), "pi-ai-servers-"));
  const boxes: RouterBoxes["boxes"] = {};
  for (const [name, options] of Object.entries(specs))
    boxes[name] = { ...(await startBox(base, { pki: testPki(name), ...options })), sshHost: `ai-server@${name}.test` };
  const standIns = installStandIns(base);
  // Only the boxes' hosts are known: a host no test set up fails as an unknown host would.
  delete process.env.FAKE_SSH_HOME;
  process.env.FAKE_SSH_HOMES = JSON.stringify(Object.fromEntries(Object.values(boxes).map((box) => [box.sshHost, box.remoteHome])));
  return {
    boxes,
    entry: (name, overrides = {}) => {
      const box = boxes[name]!;
      return {
        name,
        url: box.router.url,
        ca: box.pki.client.ca,
        clientCert: box.pki.client.cert,
        clientKey: box.pki.client.key,
        sshHost: box.sshHost,
        ...overrides,
      };
    },
    sshCalls: standIns.sshCalls,
    async close() {
      standIns.restorePath();
      delete process.env.FAKE_SSH_HOMES;
      await Promise.all(Object.values(boxes).map((box) => box.router.close()));
    },
  };
}
