/**
 * Servers an earlier pi on this HOME left running with nobody to stop them (their keeper was
 * killed too, or they came from an older version): found from the ownership records at start,
 * proven, and stopped with the one stop story (stop-group.mjs). Records that fail the proof are dropped, and
 * nothing they name is signalled.
 */
import { judgeRecord, type RecordState, recordedPorts, takeOverRecord } from "./ownership-record.ts";
import { usedServer } from "./process-table.ts";
import { stopLeftBehind } from "./signals.ts";

/** Something the effects met that the user should hear of, outside the chart's own notices. */
export type EffectReport =
  | { kind: "record-rejected"; path: string; reason: string }
  | { kind: "orphan-stopped"; name: string; pid: number; port: number; forced: boolean };

/** Stops the server of an orphan record, unless another pi took the record over first. */
export async function stopLeftBehindServer(state: Extract<RecordState, { kind: "orphan" }>): Promise<EffectReport | undefined> {
  const { record } = state;
  const done = takeOverRecord(record.port);
  if (!done) return undefined;
  try {
    const { forced } = await stopLeftBehind(record.server);
    return { kind: "orphan-stopped", name: record.name, pid: record.server.pid, port: record.port, forced };
  } finally {
    done();
  }
}

export async function stopServersLeftBehind(): Promise<EffectReport[]> {
  const reports: EffectReport[] = [];
  await Promise.all(
    recordedPorts().map(async (port) => {
      if (usedServer(port)) return; // this pi's own, from before a /reload
      const state = judgeRecord(port);
      if (state.kind === "rejected") reports.push({ kind: "record-rejected", path: state.path, reason: state.reason });
      if (state.kind !== "orphan") return;
      const report = await stopLeftBehindServer(state);
      if (report) reports.push(report);
    }),
  );
  return reports;
}
