// @ts-check
/**
 * A server's process group as /proc (Linux) shows it, for the keeper
 * (src/llamafiles/process/keeper.mjs) and for pi (src/llamafiles/process/process-proof.ts) alike.
 * Plain JavaScript for the keeper, which node runs as it is. Every function takes the /proc to
 * read, so tests can write their own.
 *
 * A member's environment proves it is the server pi started (the marker). While a process exits,
 * the kernel releases its memory, and so its environment, some time before it becomes a zombie:
 * measured here, a node server sent SIGTERM spends up to milliseconds in that state (longer on a
 * busy machine), neither provably ours nor gone. And a multi-threaded server whose main thread
 * has ended first shows as a zombie while another thread still tears it down and its port is
 * still bound (a node process holding 3 GB: about 100 ms). Such a member keeps the group from
 * being called gone, yet it is never a reason to signal the group.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The kernel's PF_EXITING: set when a process begins to exit, before its environment is released. */
const PF_EXITING = 0x4;

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses):
 * state, ppid, pgrp, session, tty, tpgid, flags, …; undefined when the process is gone.
 * @param {number | string} pid
 * @param {string} proc
 * @returns {string[] | undefined}
 */
export function statFields(pid, proc = "/proc") {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * The pids /proc lists; undefined where there is no /proc.
 * @param {string} proc
 * @returns {number[] | undefined}
 */
function processIds(proc) {
  try {
    return readdirSync(proc)
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return undefined;
  }
}

/**
 * The live processes (zombies left out) of process group `pgid`; undefined where there is no /proc.
 * @param {number} pgid
 * @param {string} proc
 * @returns {number[] | undefined}
 */
export function groupMembers(pgid, proc = "/proc") {
  return processIds(proc)?.filter((pid) => {
    const fields = statFields(pid, proc);
    return !!fields && fields[0] !== "Z" && Number(fields[2]) === pgid;
  });
}

/**
 * Does `pid` carry `marker` in its environment? False when that cannot be read (exiting, or not ours).
 * @param {number} pid
 * @param {string} marker
 * @param {string} proc
 */
export function carriesMarker(pid, marker, proc = "/proc") {
  try {
    return readFileSync(`${proc}/${pid}/environ`, "utf8").split("\0").includes(marker);
  } catch {
    return false;
  }
}

/**
 * Is `pid` in the middle of its exit (not yet a zombie)? Asked after its environment was read,
 * so a process that began to exit between the two reads is seen.
 * @param {number} pid
 * @param {string} proc
 */
export function isExiting(pid, proc = "/proc") {
  const fields = statFields(pid, proc);
  return !!fields && fields[0] !== "Z" && (Number(fields[6]) & PF_EXITING) !== 0;
}

/**
 * Is `pid`, listed as a zombie, still tearing down: another of its threads not ended yet?
 * @param {number} pid
 * @param {string} proc
 */
function threadStillEnding(pid, proc) {
  let threads;
  try {
    threads = readdirSync(`${proc}/${pid}/task`);
  } catch {
    return false;
  }
  return threads.some((tid) => {
    const state = statFields(tid, `${proc}/${pid}/task`)?.[0];
    return state !== undefined && state !== "Z" && state !== "X";
  });
}

/**
 * What the live members of group `pgid` show. "ours": one carries the marker (a recycled group
 * id never does), so the group may be signalled. "exiting": none shows it, but one is in the
 * middle of its exit: not gone yet. "none": nothing of the server is left. Undefined where there
 * is no /proc.
 * @param {number} pgid
 * @param {string} marker
 * @param {string} proc
 * @returns {"ours" | "exiting" | "none" | undefined}
 */
export function groupShows(pgid, marker, proc = "/proc") {
  const pids = processIds(proc);
  if (pids === undefined) return undefined;
  let exiting = false;
  for (const pid of pids) {
    const fields = statFields(pid, proc);
    if (!fields || Number(fields[2]) !== pgid) continue;
    if (fields[0] === "Z") {
      if (threadStillEnding(pid, proc)) exiting = true;
      continue;
    }
    if (carriesMarker(pid, marker, proc)) return "ours";
    if (isExiting(pid, proc)) exiting = true;
  }
  return exiting ? "exiting" : "none";
}

/**
 * The process group of a live process (other than `self`) carrying `marker`: the server, should
 * its pid not be known. Undefined when there is none, or no /proc.
 * @param {string} marker
 * @param {number} self
 * @param {string} proc
 * @returns {number | undefined}
 */
export function groupByMarker(marker, self, proc = "/proc") {
  for (const pid of processIds(proc) ?? []) {
    if (pid === self || !carriesMarker(pid, marker, proc)) continue;
    const fields = statFields(pid, proc);
    if (fields) return Number(fields[2]);
  }
  return undefined;
}
