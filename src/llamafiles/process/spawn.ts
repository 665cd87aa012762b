import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync } from "node:fs";
import type { LaunchSpec } from "../../../machines/local-server.machine.ts";
import { recordOwnership, forgetOwnership } from "./ownership-record.ts";
import { resolveArgs } from "./port-template.ts";
import { trackChild } from "./process-table.ts";
import { appendLogLine, openServerLog, writeExitFooter } from "./server-log.ts";

/** Turns Node's spawn errors into sentences that say what to fix. */
export function explainSpawnError(model: LaunchSpec, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT":
      return `command "${model.command}" was not found (use an absolute path, or a name on PATH)`;
    case "EACCES":
      return `command "${model.command}" is not executable (chmod +x it)`;
    case "ENOEXEC":
      return `command "${model.command}" is not a program this system can run (for a llamafile: run it via "sh", see README "APE/binfmt")`;
    default:
      return `${error.code ?? "error"}: ${error.message}`;
  }
}

/**
 * Starts the server in its own process group with stdout and stderr going straight
 * to the log file (a pipe would block the server once full, and break on /reload).
 * `onSpawnError` fires instead of an exit when the process could not start.
 */
export function spawnServer(model: LaunchSpec, onSpawnError: (message: string) => void): ChildProcess | undefined {
  if (!existsSync(model.cwd)) {
    const message = `working directory "${model.cwd}" does not exist (check "cwd")`;
    appendLogLine(model.logPath, `--- ${new Date().toISOString()} Could not start ${model.name}: ${message} ---`);
    queueMicrotask(() => onSpawnError(message));
    return undefined;
  }
  const fd = openServerLog(model.logPath, model.name);
  let child: ChildProcess;
  try {
    child = spawn(model.command, resolveArgs(model.args, model.port), {
      cwd: model.cwd,
      env: { ...process.env, ...model.env },
      stdio: ["ignore", fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  child.once("error", (error: NodeJS.ErrnoException) => {
    if (child.pid !== undefined) return; // a kill() failure on a live process, not a spawn failure
    const message = explainSpawnError(model, error);
    appendLogLine(model.logPath, `--- ${new Date().toISOString()} Could not start ${model.name}: ${message} ---`);
    onSpawnError(message);
  });
  if (child.pid === undefined) return undefined;
  const pid = child.pid;
  // Ours to stop on quit, never a reason for pi to stay alive.
  child.unref();
  trackChild(child);
  recordOwnership(pid, model.port, model.id);
  child.once("exit", (code, signal) => {
    writeExitFooter(model.logPath, code, signal);
    forgetOwnership(model.port, pid);
  });
  return child;
}
