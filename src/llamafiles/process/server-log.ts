import { appendFileSync, closeSync, fchmodSync, fstatSync, mkdirSync, openSync, readSync } from "node:fs";
import { dirname } from "node:path";

/** Opens the model's log for appending (mode 0600, also when it already existed) and writes the start header. */
export function openServerLog(logPath: string, name: string): number {
  mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
  const fd = openSync(logPath, "a", 0o600);
  fchmodSync(fd, 0o600);
  appendFileSync(fd, `--- ${new Date().toISOString()} Starting ${name} ---\n`);
  return fd;
}

export function writeExitFooter(logPath: string, code: number | null, signal: string | null): void {
  try {
    appendFileSync(logPath, `--- ${new Date().toISOString()} Process exited (code=${code}, signal=${signal}) ---\n`);
  } catch {
    // The log folder was removed under us; the notification still carries the exit status.
  }
}

export function appendLogLine(logPath: string, line: string): void {
  try {
    appendFileSync(logPath, `${line}\n`);
  } catch {
    // as above
  }
}

/** The last `lines` lines of the log, read from its end so a huge log costs nothing. */
export function tailLog(logPath: string, lines = 10): string {
  let fd: number;
  try {
    fd = openSync(logPath, "r");
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString("utf8").replace(/\n$/, "");
    return text.split("\n").slice(-lines).join("\n");
  } finally {
    closeSync(fd);
  }
}
