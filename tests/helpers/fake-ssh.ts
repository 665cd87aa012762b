#!/usr/bin/env node
/**
 * Stand-in for `ssh` in tests (put first on PATH by tests/helpers/ai-server-setup.ts): it
 * records its argv (the host included), then runs the remote command locally, the way sshd
 * would: the words after the host are joined with spaces and given to `sh -c`, in the host's
 * folder (also its HOME): $FAKE_SSH_HOMES maps hosts to folders (several boxes), else
 * $FAKE_SSH_HOME. A host it does not know fails like an unknown host. It never opens a
 * network connection.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync } from "node:fs";

const argv = process.argv.slice(2);
appendFileSync(process.env.FAKE_SSH_LOG!, `${JSON.stringify(argv)}\n`);

const withValue = new Set(["-o", "-p", "-i", "-l", "-F", "-J", "-b", "-c", "-E", "-m"]);
let index = 0;
for (; index < argv.length; index++) {
  const arg = argv[index]!;
  if (arg === "--") {
    index++;
    break;
  }
  if (!arg.startsWith("-")) break;
  if (withValue.has(arg)) index++;
}
const host = argv[index];
const words = argv.slice(index + 1);
if (!host || words.length === 0) {
  process.stderr.write("fake ssh: no host or no remote command\n");
  process.exit(255);
}
if (process.env.FAKE_SSH_DENY === "1") {
  process.stderr.write(`${host}: Permission denied (publickey).\n`);
  process.exit(255);
}
const homes = JSON.parse(process.env.FAKE_SSH_HOMES ?? "{}") as Record<string, string>;
const home = homes[host] ?? process.env.FAKE_SSH_HOME;
if (!home) {
  process.stderr.write(`ssh: Could not resolve hostname ${host}: Name or service not known\n`);
  process.exit(255);
}
const result = spawnSync("sh", ["-c", words.join(" ")], { cwd: home, env: { ...process.env, HOME: home }, stdio: "inherit" });
process.exit(result.status ?? 255);
