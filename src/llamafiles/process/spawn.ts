import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync } from "node:fs";
import type { LaunchSpec, SpawnError } from "../../../machines/local-server.machine.ts";
import { couldNotStartLogLine } from "../messages.ts";
import { forgetOwnership, recordOwnership } from "./ownership-record.ts";
import { resolveArgs } from "./port-template.ts";
import { trackChild } from "./process-table.ts";
import { appendLogLine, openServerLog, writeExitFooter } from "./server-log.ts";

/** Node's spawn error, as a value that says what to fix. */
export function spawnErrorOf(model: LaunchSpec, error: NodeJS.ErrnoException): SpawnError {
  switch (error.code) {
    case "ENOENT":
      return { code: "command-not-found", command: model.command };
    case "EACCES":
      return { code: "not-executable", command: model.command };
    case "ENOEXEC":
      return { code: "not-runnable", command: model.command };
    default:
      return { code: "other", detail: `${error.code ?? "error"}: ${error.message}` };
  }
}

/**
 * Starts the server in its own process group with stdout and stderr going straight
 * to the log file (a pipe would block the server once full, and break on /reload).
 * `onSpawnError` fires instead of an exit when the process could not start.
 */
export function spawnServer(model: LaunchSpec, onSpawnError: (error: SpawnError) => void): ChildProcess | undefined {
  if (!existsSync(model.cwd)) {
    const error: SpawnError = { code: "cwd-missing", cwd: model.cwd };
    appendLogLine(model.logPath, couldNotStartLogLine(model, error));
    queueMicrotask(() => onSpawnError(error));
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
    const reason = spawnErrorOf(model, error);
    appendLogLine(model.logPath, couldNotStartLogLine(model, reason));
    onSpawnError(reason);
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
