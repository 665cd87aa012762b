/**
 * Servers an earlier pi on this HOME left running with nobody to stop them (their keeper was
 * killed too, or they came from an older version): found from the ownership records at start,
 * proven, and stopped with the usual grace. Records that fail the proof are dropped, and
 * nothing they name is signalled.
 */
import { rmSync } from "node:fs";
import { KILL_GRACE_MS } from "../../../machines/local-server.machine.ts";
import { judgeRecord, recordedPorts } from "./ownership-record.ts";
import { ownershipRecordPath } from "./paths.ts";
import { usedServer } from "./process-table.ts";
import { stopLeftBehind } from "./signals.ts";

/** Something the effects met that the user should hear of, outside the chart's own notices. */
export type EffectReport =
  | { kind: "record-rejected"; path: string; reason: string }
  | { kind: "orphan-stopped"; name: string; pid: number; port: number; forced: boolean };

export async function stopServersLeftBehind(): Promise<EffectReport[]> {
  const reports: EffectReport[] = [];
  await Promise.all(
    recordedPorts().map(async (port) => {
      if (usedServer(port)) return; // this pi's own, from before a /reload
      const state = judgeRecord(port);
      if (state.kind === "rejected") reports.push({ kind: "record-rejected", path: state.path, reason: state.reason });
      if (state.kind !== "orphan") return;
      const { forced } = await stopLeftBehind(state.record.server, KILL_GRACE_MS);
      rmSync(ownershipRecordPath(port), { force: true });
      reports.push({ kind: "orphan-stopped", name: state.record.name, pid: state.record.server.pid, port, forced });
    }),
  );
  return reports;
}
