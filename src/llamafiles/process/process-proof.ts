/**
 * Proof that a process is one pi started, before pi signals it or trusts it: its start time
 * (changes when a pid is reused) and the marker pi puts in every server's environment
 * (`PI_LLAMA_SERVER=<nonce>:<port>:<model id>`, readable only by its own user).
 * Linux reads /proc; elsewhere only the start time is checked (via ps).
 */
import { execFileSync } from "node:child_process";
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

/**
 * Why `pid` is not the process a record describes, or undefined when it is: the same start time
 * (a pid used again has another) and, where /proc shows it, the marker pi put in the server's
 * environment (a nonce per start, which only that process and its children carry). The command
 * line is not part of the proof: a server may exec another program under the same pid (a wrapper
 * script's `exec`, a llamafile's loader), and a second pi must still find it.
 */
export function disproveProcess(expected: {
  pid: number;
  startTime: string;
  marker?: string;
}): "gone" | "start time differs" | "marker missing" | undefined {
  const startTime = processStartTime(expected.pid);
  if (startTime === undefined) return "gone";
  if (startTime !== expected.startTime) return "start time differs";
  if (expected.marker && carriesMarker(expected.pid, expected.marker) === false) return "marker missing";
  return undefined;
}
