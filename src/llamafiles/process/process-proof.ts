/**
 * Proof that a process is one pi started, before pi signals it or trusts it: its start time
 * (changes when a pid is reused), its command line, and the marker pi puts in every server's
 * environment (`PI_LLAMA_SERVER=<nonce>:<port>:<model id>`, readable only by its own user).
 * Linux reads /proc; elsewhere only the start time and command line are checked (via ps).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export const MARKER_VARIABLE = "PI_LLAMA_SERVER";

export function serverMarker(nonce: string, port: number, modelId: string): string {
  return `${MARKER_VARIABLE}=${nonce}:${port}:${modelId}`;
}

const hasProc = process.platform === "linux";

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses): state, ppid, pgrp, … */
function statFields(pid: number, proc = "/proc"): string[] | undefined {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

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
  if (!hasProc) return undefined;
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(marker);
  } catch {
    return false;
  }
}

/**
 * The live processes (zombies left out) of process group `pgid`, from `proc` (tests give their
 * own); [] where there is no /proc. The one walk of the process table: signals and ownership
 * proofs ask for the marked ones, /llamafiles for their resident memory.
 */
export function groupMembers(pgid: number, proc = "/proc"): number[] {
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry), proc);
    if (fields && fields[0] !== "Z" && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}

/** Live processes of group `pgid` that carry `marker` (Linux; [] elsewhere). */
export function markedGroupMembers(pgid: number, marker: string): number[] {
  return hasProc ? groupMembers(pgid).filter((pid) => carriesMarker(pid, marker)) : [];
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
