/**
 * Where the llamafiles feature keeps its files, all under `~/.pi/llamafile_logs` (HOME is read
 * at call time: tests and the demo change it): server logs, ownership records (`owned/`) and
 * the keepers' sockets (`run/`). The folders are this user's alone (0700, forced on folders
 * that exist with looser modes); a folder that is a symlink or belongs to someone else is
 * refused, and nothing is written there.
 */
import { createHash } from "node:crypto";

import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

export function llamafileLogsDir(): string {
  return join(process.env.HOME || homedir(), ".pi", "llamafile_logs");
}

/** A file name for any model id: other characters become "_", and a changed name gets a hash so two ids never share it. */
export function safeFileName(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return safe === id ? id : `${safe.slice(0, 100)}-${createHash("sha256").update(id).digest("hex").slice(0, 8)}`;
}

export function serverLogPath(modelId: string): string {
  return join(llamafileLogsDir(), `${safeFileName(modelId)}.log`);
}

export function ownedDir(): string {
  return join(llamafileLogsDir(), "owned");
}

export function ownershipRecordPath(port: number): string {
  return join(ownedDir(), `port-${port}.json`);
}

/** The keeper's unix socket for `port`; a long HOME moves it to a private folder in the temp dir (socket paths are limited to ~100 bytes). */
export function keeperSocketPath(port: number): string {
  const inHome = join(llamafileLogsDir(), "run", `port-${port}.sock`);
  if (Buffer.byteLength(inHome) <= 100) return inHome;
  const uid = process.getuid?.() ?? 0;
  const key = createHash("sha256").update(inHome).digest("hex").slice(0, 16);
  return join(tmpdir(), `pi-llama-${uid}`, `${key}.sock`);
}
