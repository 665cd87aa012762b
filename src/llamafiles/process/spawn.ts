/**
 * Starting a server: its keeper first (src/llamafiles/process/keeper.mjs), which reads the
 * server's output into the log and stops the server when no pi uses it any more; then the
 * server itself, writing into the keeper's pipes, in its own process group (so a wrapper such as
 * `sh -c` cannot orphan the real server) and with a marker in its environment. Both spawns come
 * one after the other without waiting: the keeper's own start-up (~70 ms of Node) never delays
 * the model's, and there is no moment at which a server runs without a keeper.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, constants, fchmodSync, openSync, statSync, writeSync } from "node:fs";
import type { Socket } from "node:net";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { LaunchSpec, SpawnError } from "../../../machines/local-server.machine.ts";
import { privateDir } from "../../util/private-file.ts";
import { couldNotStartLogLine } from "../messages.ts";
import { promptCacheRoot } from "../prompt-cache/paths.ts";
import { KeeperLease } from "./keeper-lease.ts";
import { launchLine } from "./launch-line.ts";
import { completeRecord, myIdentity } from "./ownership-record.ts";
import { keeperSocketPath, llamafileLogsDir } from "./paths.ts";
import { MARKER_VARIABLE, processStartTime, serverMarker } from "./process-proof.ts";
import { rememberServer, type UsedServer } from "./process-table.ts";

export const KEEPER = fileURLToPath(new URL("./keeper.mjs", import.meta.url));
/** The log is capped: past this size it is renamed to `<id>.log.1` (replacing an older one) and begun again. */
export const LOG_CAP_BYTES = 10 * 1024 * 1024;

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

/** Appends the start header, never through a symlink; the log is 0600 even when it existed before. */
function writeLogHeader(model: LaunchSpec): SpawnError | undefined {
  let fd: number;
  try {
    fd = openSync(model.logPath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ELOOP"
      ? { code: "log-is-a-link", path: model.logPath }
      : { code: "other", detail: `cannot open the log ${model.logPath} (${code})` };
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `--- ${new Date().toISOString()} Starting ${model.name} ---\n`);
  } finally {
    closeSync(fd);
  }
  return undefined;
}

function logLine(model: LaunchSpec, line: string): void {
  try {
    const fd = openSync(model.logPath, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
    writeSync(fd, `${line}\n`);
    closeSync(fd);
  } catch {
    // no log to write to: the notification carries the reason
  }
}

/** What makes `model` impossible to start, found before anything runs. */
function checkLaunch(model: LaunchSpec): SpawnError | undefined {
  const unsafe =
    privateDir(llamafileLogsDir()) ??
    privateDir(dirname(keeperSocketPath(model.port))) ??
    // llama-server refuses to start when its --slot-save-path is not a folder.
    (model.promptCache ? (privateDir(promptCacheRoot()) ?? privateDir(model.promptCache.dir)) : undefined);
  if (unsafe) return { code: "unsafe-folder", path: unsafe.path, reason: unsafe.code };
  try {
    if (!statSync(model.cwd).isDirectory()) return { code: "cwd-not-a-folder", cwd: model.cwd };
  } catch {
    return { code: "cwd-missing", cwd: model.cwd };
  }
  return writeLogHeader(model);
}

export type StartResult = { server: UsedServer } | { error: SpawnError };

/**
 * Starts the server and its keeper, records both (the port must be claimed first), and
 * resolves once it is known whether the server process could be created at all.
 */
export async function startServer(model: LaunchSpec, nonce: string): Promise<StartResult> {
  const problem = checkLaunch(model);
  if (problem) {
    logLine(model, couldNotStartLogLine(model, problem));
    return { error: problem };
  }
  const marker = serverMarker(nonce, model.port, model.id);
  const line = launchLine(model);
  const argv = line.args;
  const socket = keeperSocketPath(model.port);
  const spec = {
    port: model.port,
    modelId: model.id,
    logPath: model.logPath,
    logCapBytes: LOG_CAP_BYTES,
    socketPath: socket,
    marker,
  };
  // The keeper first: whenever pi dies from here on, something will stop the server.
  let keeper: ChildProcess;
  try {
    keeper = spawn(process.execPath, [KEEPER, JSON.stringify(spec)], { stdio: ["pipe", "pipe", "ignore", "pipe", "pipe"], detached: true });
  } catch (error) {
    return { error: { code: "keeper-failed", detail: (error as Error).message } };
  }
  if (keeper.pid === undefined) return { error: { code: "keeper-failed", detail: "the keeper process did not start" } };
  keeper.on("error", () => {});
  keeper.unref();
  const lease = new KeeperLease(keeper.stdout!, keeper.stdin!).unref();
  const [output, errors] = [keeper.stdio[3] as Socket, keeper.stdio[4] as Socket];
  const stopOutput = () => {
    // Only the keeper reads the server's output (a pipe pi read would break on /reload).
    output.destroy();
    errors.destroy();
  };

  let server: ChildProcess;
  try {
    server = spawn(model.command, argv, {
      cwd: model.cwd,
      env: { ...process.env, ...line.env, [MARKER_VARIABLE]: marker.slice(MARKER_VARIABLE.length + 1) },
      stdio: ["ignore", output, errors],
      detached: true,
    });
  } catch (error) {
    stopOutput();
    lease.close();
    const reason = spawnErrorOf(model, error as NodeJS.ErrnoException);
    logLine(model, couldNotStartLogLine(model, reason));
    return { error: reason };
  }
  stopOutput();
  const pid = server.pid;
  if (pid === undefined) {
    lease.close();
    // Node reports a command that cannot be run (ENOENT, EACCES) as an 'error' event.
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => server.once("error", resolve));
    const reason = spawnErrorOf(model, error);
    logLine(model, couldNotStartLogLine(model, reason));
    return { error: reason };
  }
  server.on("error", () => {}); // a failed kill() on a live process: nothing to report
  // Never keeps pi alive; when pi ends, its lease closes and the keeper acts.
  server.unref();
  lease.send({ cmd: "server", pid });
  lease.pid = pid;
  server.once("exit", (code, signal) => lease.send({ cmd: "exited", code, signal }));

  completeRecord({
    version: 2,
    port: model.port,
    modelId: model.id,
    name: model.name,
    claimedBy: myIdentity(),
    server: { pid, startTime: processStartTime(pid) ?? "unknown", argv: [model.command, ...argv], marker },
    keeper: { pid: keeper.pid, startTime: processStartTime(keeper.pid) ?? "unknown", socket },
  });
  const entry: UsedServer = { port: model.port, modelId: model.id, pid, lease, child: server, marker };
  rememberServer(entry);
  return { server: entry };
}
