#!/usr/bin/env node
// @ts-check
/**
 * The keeper of one local server: a tiny Node program (plain JavaScript, so it runs from an
 * installed package too) that pi starts beside every server it spawns, in a session of its own.
 * It guarantees that the server never outlives the pi sessions that use it.
 *
 *  - It holds the server's stdout and stderr (fds 3 and 4) and writes them to the model's
 *    log: capped at `logCapBytes`, one rotated `.1` file kept, never opened through a symlink.
 *    The first output after a quiet spell is announced to every user (a readiness hint).
 *  - Every pi session using the server holds a lease: the pi that started it through the
 *    keeper's stdin/stdout, any other pi through the keeper's unix socket. The kernel closes a
 *    lease when its pi ends, however it ends (quit, SIGTERM, SIGKILL, a crash).
 *  - It alone stops the server while it lives, with the stop story of
 *    src/llamafiles/process/stop-group.mjs (SIGTERM to the process group, SIGKILL after the
 *    grace): when a user's statechart asks (`term`, refused with `shared` while other users
 *    remain), or on its own when the last lease closes without a stop.
 *  - The server is gone when its whole process group is gone (a wrapper whose leader exits
 *    first does not count as gone): then every user hears `exited`, and the keeper ends.
 *  - It signals the group only while a member still carries this server's marker in its
 *    environment (Linux: /proc), so a recycled group id is never signalled.
 *
 * pi starts the keeper first and the server right after, passing the server the write ends of
 * the keeper's output pipes, then tells the keeper the server's pid (`server`): whenever pi
 * dies, a keeper already runs. Should pi die before it could say the pid, the keeper finds the
 * server by its marker (Linux).
 *
 * Protocol: JSON lines both ways. Users send {"cmd": "server" | "term" | "exited" | "release"};
 * the keeper sends {"event": "hello" | "users" | "output" | "stopping" | "shared" | "exited"}
 * (`exited` says whether the stop was forced).
 */
import { closeSync, constants, fstatSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { createConnection, createServer, Socket } from "node:net";
import { groupByMarker, groupShows } from "./process-group.mjs";
import { stopGroup } from "./stop-group.mjs";

/** @type {{ port: number, modelId: string, logPath: string, logCapBytes: number, socketPath: string, marker: string }} */
const spec = JSON.parse(process.argv[2] ?? "{}");
/** The server's pid, which is its process group: told by the starting pi, or found by the marker. @type {number | undefined} */
let pgid;
// Output hints are at most this often: a burst of log lines becomes one hint now and one at its end.
const OUTPUT_HINT_MS = 10;
const GROUP_POLL_MS = 200;
const GROUP_CHECK_MS = 1_000;
const EXIT_STATUS_WAIT_MS = 300;
const EXITING_RECHECK_MS = 5;

/** Output pipes of the server still open (they close when every process holding them ended). */
let outputOpen = 0;
let stopping = false;
let finished = false;
/** The stop needed SIGKILL (told with `exited`). */
let forced = false;
/** @type {{ code: number | null, signal: string | null } | undefined} */
let leaderExit;

process.umask(0o077);
for (const signal of /** @type {const} */ (["SIGINT", "SIGHUP", "SIGPIPE"])) process.on(signal, () => {});
process.on("SIGTERM", () => stop("keeper-terminated"));
process.on("uncaughtException", (error) => {
  appendLog(`--- ${new Date().toISOString()} keeper error: ${error.message} ---\n`);
  stop("keeper-error");
});

// ---- the log --------------------------------------------------------------------------------
const LOG_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
let logFd = -1;
let logSize = 0;
function openLog() {
  try {
    logFd = openSync(spec.logPath, LOG_FLAGS, 0o600);
    logSize = fstatSync(logFd).size;
  } catch {
    logFd = -1; // a symlink or an unwritable folder: output is dropped, never written elsewhere
  }
}
/** @param {string | Uint8Array} data */
function appendLog(data) {
  if (logFd < 0) return;
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  try {
    if (logSize > 0 && logSize + bytes.length > spec.logCapBytes) {
      closeSync(logFd);
      renameSync(spec.logPath, `${spec.logPath}.1`);
      openLog();
      if (logFd < 0) return;
    }
    writeSync(logFd, bytes);
    logSize += bytes.length;
  } catch {
    // disk full or the folder removed: the server keeps running, its output is dropped
  }
}
openLog();

// ---- the leases -----------------------------------------------------------------------------
/** @typedef {{ send(message: object): void, close(): void }} Lease */
/** @type {Set<Lease>} */
const leases = new Set();
const sockets = createServer((connection) => {
  if (stopping || finished) {
    connection.end(`${JSON.stringify({ event: "stopping", why: "joining too late" })}\n`);
    return;
  }
  addLease(connection, connection);
});

const broadcast = (/** @type {object} */ message) => {
  for (const lease of leases) lease.send(message);
};

/**
 * @param {NodeJS.ReadableStream} input
 * @param {NodeJS.WritableStream & { destroy?(): void }} output
 */
function addLease(input, output) {
  let buffered = "";
  let open = true;
  /** @type {Lease} */
  const lease = {
    send(message) {
      if (!open) return;
      try {
        output.write(`${JSON.stringify(message)}\n`);
      } catch {
        // the user is gone; its close event follows
      }
    },
    close() {
      if (!open) return;
      open = false;
      leases.delete(lease);
      output.destroy?.();
      broadcast({ event: "users", count: leases.size });
      if (leases.size === 0) lastUserGone();
    },
  };
  leases.add(lease);
  input.on("data", (chunk) => {
    buffered += String(chunk);
    for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        command(lease, JSON.parse(line));
      } catch {
        // not a command: ignored
      }
    }
  });
  input.on("end", () => lease.close());
  input.on("close", () => lease.close());
  input.on("error", () => lease.close());
  output.on("error", () => lease.close());
  lease.send({ event: "hello", users: leases.size, modelId: spec.modelId, port: spec.port, pid: pgid });
  broadcast({ event: "users", count: leases.size });
  return lease;
}

/** @param {Lease} lease @param {{ cmd?: string, code?: number | null, signal?: string | null, pid?: number }} message */
function command(lease, message) {
  switch (message.cmd) {
    case "term":
      if (leases.size > 1 && !stopping) {
        // Another pi still uses the server: this user lets go instead.
        lease.send({ event: "shared", users: leases.size - 1 });
        lease.close();
        return;
      }
      if (!stopping) stop("term");
      return;
    case "server":
      if (typeof message.pid === "number" && Number.isSafeInteger(message.pid) && message.pid > 1) pgid = message.pid;
      return;
    case "exited":
      leaderExit = { code: message.code ?? null, signal: message.signal ?? null };
      if (awaitingExitStatus) finish();
      else checkGroup();
      return;
    case "release":
      lease.close();
      return;
  }
}

function lastUserGone() {
  // Nobody uses the server any more (every pi ended or let go): stop it. A stop a user began
  // runs on as it is.
  if (!finished) stop("no-users");
}

/**
 * The stop story (stop-group.mjs): SIGTERM, the grace, SIGKILL; `finish` tells the users once the
 * group is gone.
 * @param {string} why
 */
function stop(why) {
  if (stopping || finished) return;
  stopping = true;
  sockets.close();
  broadcast({ event: "stopping", why });
  void stopGroup({
    signal(signal) {
      // Forced only when SIGKILL meets the server (gone meanwhile, it waits for its exit status).
      if (signal === "SIGKILL" && groupAlive()) forced = true;
      signalGroup(signal);
      checkGroup();
    },
    isGone: () => finished,
    pollMs: GROUP_POLL_MS,
  });
}

// ---- the server's process group -------------------------------------------------------------
/** Cheap: does a process group with this id exist (and may we signal it)? */
function groupExists() {
  if (pgid === undefined) pgid = groupByMarker(spec.marker, process.pid);
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false; // ESRCH: gone; EPERM: a recycled id another user owns
  }
}

/**
 * "gone" for good, so `exited` may be told; "exiting" while a member is still in the middle of
 * its exit; "running" when a member carries the marker (or there is no /proc to tell): proven to
 * be the server's, so the group may be signalled.
 * @returns {"gone" | "exiting" | "running"}
 */
function groupState() {
  if (!groupExists()) return "gone";
  const shows = groupShows(/** @type {number} */ (pgid), spec.marker);
  return shows === "none" ? "gone" : shows === "exiting" ? "exiting" : "running";
}

function groupAlive() {
  return groupState() === "running";
}

/** @param {NodeJS.Signals} signal */
function signalGroup(signal) {
  if (!groupAlive()) return checkGroup();
  try {
    process.kill(-(/** @type {number} */ (pgid)), signal);
  } catch {
    // already gone
  }
}

/** The lease of the pi that started the server: it reports the leader's exact exit status. */
/** @type {Lease | undefined} */
let parentLease;
let awaitingExitStatus = false;

function checkGroup() {
  // Output still open: the server runs, or pi has not started it yet (it starts the keeper first).
  if (finished || (outputOpen > 0 && (pgid === undefined || groupExists()))) return;
  const state = groupState();
  if (state === "exiting") recheckSoon();
  if (state !== "gone") return;
  if (!leaderExit && parentLease && leases.has(parentLease) && !awaitingExitStatus) {
    // The group is gone; the starting pi is about to tell the leader's exit status: wait a moment.
    awaitingExitStatus = true;
    setTimeout(finish, EXIT_STATUS_WAIT_MS);
    return;
  }
  if (!awaitingExitStatus || leaderExit) finish();
}

/** @type {NodeJS.Timeout | undefined} */
let recheck;
let recheckMs = EXITING_RECHECK_MS;
/**
 * A member in its last moments: look again soon rather than at the next slow poll. One pending
 * look at a time, backing off to the slow poll should a member stay in its exit (a process
 * stuck in the kernel, or a stranger's in a recycled group).
 */
function recheckSoon() {
  if (recheck) return;
  recheck = setTimeout(() => {
    recheck = undefined;
    recheckMs = Math.min(recheckMs * 2, GROUP_POLL_MS);
    checkGroup();
  }, recheckMs);
  recheck.unref();
}

function finish() {
  if (finished) return;
  finished = true;
  const code = leaderExit ? leaderExit.code : null;
  const signal = leaderExit ? leaderExit.signal : forced ? "SIGKILL" : stopping ? "SIGTERM" : null;
  appendLog(`--- ${new Date().toISOString()} Process exited (code=${code}, signal=${signal}) ---\n`);
  broadcast({ event: "exited", code, signal, forced });
  sockets.close();
  try {
    unlinkSync(spec.socketPath);
  } catch {
    // not there
  }
  // Let the last messages reach the users before ending.
  setTimeout(() => process.exit(0), 50).unref();
  for (const lease of [...leases]) lease.close();
}

// The server's output: to the log, and a readiness hint to the users on the first output after
// a quiet spell and again at the end of a burst (the line that says "ready" may be its last).
/** @type {NodeJS.Timeout | undefined} */
let hintTimer;
let outputSinceHint = false;
const hint = () => {
  outputSinceHint = false;
  broadcast({ event: "output" });
  hintTimer = setTimeout(() => {
    hintTimer = undefined;
    if (outputSinceHint) hint();
  }, OUTPUT_HINT_MS);
};
for (const fd of [3, 4]) {
  let stream;
  try {
    stream = new Socket({ fd, readable: true, writable: false });
  } catch {
    continue;
  }
  outputOpen++;
  stream.on("data", (data) => {
    appendLog(data);
    outputSinceHint = true;
    if (!hintTimer) hint();
  });
  stream.on("error", () => {});
  stream.on("close", () => {
    outputOpen--;
    checkGroup();
  });
}
// Every process holding the output may be gone while a stranger inherited it, or a member may
// have closed its output: look at the group itself now and then (often once the output closed).
const watch = () => {
  checkGroup();
  setTimeout(watch, outputOpen > 0 ? GROUP_CHECK_MS : GROUP_POLL_MS).unref();
};
setTimeout(watch, GROUP_CHECK_MS).unref();

// ---- the users ------------------------------------------------------------------------------
parentLease = addLease(process.stdin, process.stdout);

sockets.on("error", (error) => {
  if (/** @type {NodeJS.ErrnoException} */ (error).code !== "EADDRINUSE") return;
  // A socket file left by a keeper that died: take the path over if nobody answers there.
  const probe = createConnection(spec.socketPath);
  probe.on("connect", () => probe.destroy());
  probe.on("error", () => {
    try {
      unlinkSync(spec.socketPath);
      sockets.listen(spec.socketPath);
    } catch {
      // stays without a socket: other pi sessions start their own server elsewhere
    }
  });
});
sockets.listen(spec.socketPath);
