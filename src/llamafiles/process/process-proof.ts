/**
 * Proof that a process is one pi started, before pi signals it or trusts it: its start time
 * (changes when a pid is reused), its command line, and the marker pi puts in every server's
 * environment (`PI_LLAMA_SERVER=<nonce>:<port>:<model id>`, readable only by its own user).
 * Linux reads /proc; elsewhere only the start time and command line are checked (via ps).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { carriesMarker as carriesMarkerInProc, groupMembers as groupMembersInProc, groupShows, statFields } from "./process-group.mjs";

export const MARKER_VARIABLE = "PI_LLAMA_SERVER";

export function serverMarker(nonce: string, port: number, modelId: string): string {
  return `${MARKER_VARIABLE}=${nonce}:${port}:${modelId}`;
}

const hasProc = process.platform === "linux";

/** The start time of `pid` (clock ticks since boot on Linux), or undefined when it does not run. */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (hasProc) {
    const fields = statFields(pid);
    return fields && fields[0] !== "Z" ? fields[19] : undefined;
  }
  try {
    return (
      execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

/** The argv `pid` runs with, or undefined when it cannot be read. */
export function commandLineOf(pid: number): string[] | undefined {
  if (!hasProc) {
    try {
      const line = execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
      return line ? line.split(" ") : undefined;
    } catch {
      return undefined;
    }
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

/** Does `pid` carry `marker` in its environment? Undefined where that cannot be known. */
export function carriesMarker(pid: number, marker: string): boolean | undefined {
  return hasProc ? carriesMarkerInProc(pid, marker) : undefined;
}

/** The live processes (zombies left out) of process group `pgid`, from `proc` (tests give their own); [] where there is no /proc. */
export function groupMembers(pgid: number, proc = "/proc"): number[] {
  return groupMembersInProc(pgid, proc) ?? [];
}

/** Live processes of group `pgid` that carry `marker`: proof before a signal (Linux; [] elsewhere). */
export function markedGroupMembers(pgid: number, marker: string): number[] {
  return hasProc ? groupMembers(pgid).filter((pid) => carriesMarkerInProc(pid, marker)) : [];
}

/**
 * Is a server's group not gone yet? Not while a member carries the marker, nor while one is in
 * the middle of its exit (process-group.mjs): "Stopped" is said once the server has truly ended.
 * Never a reason to signal (markedGroupMembers is). Elsewhere: whether the leader still runs.
 */
export function groupStillThere(pgid: number, marker: string, proc = "/proc"): boolean {
  if (!hasProc) return processStartTime(pgid) !== undefined;
  const shows = groupShows(pgid, marker, proc);
  return shows === "ours" || shows === "exiting";
}

export function isAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

const sameArgv = (a: string[] | undefined, b: string[]) => !!a && a.length === b.length && a.every((word, i) => word === b[i]);

/** Why `pid` is not the process a record describes, or undefined when it is. */
export function disproveProcess(expected: {
  pid: number;
  startTime: string;
  argv?: string[];
  marker?: string;
}): "gone" | "start time differs" | "command line differs" | "marker missing" | undefined {
  const startTime = processStartTime(expected.pid);
  if (startTime === undefined) return "gone";
  if (startTime !== expected.startTime) return "start time differs";
  if (expected.argv && hasProc && !sameArgv(commandLineOf(expected.pid), expected.argv)) return "command line differs";
  if (expected.marker && carriesMarker(expected.pid, expected.marker) === false) return "marker missing";
  return undefined;
}
