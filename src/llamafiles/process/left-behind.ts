/**
 * Servers an earlier pi on this HOME left running with nobody to stop them (their keeper was
 * killed too, or they came from an older version): found from the ownership records, proven,
 * and stopped with the one stop story (stop-group.mjs). Records that fail the proof are
 * dropped, and nothing they name is signalled. What was found goes back to the charts, which
 * tell the user (`RecordFinding`).
 */
import type { RecordFinding } from "../../../machines/local-server.machine.ts";
import { judgeRecord, type RecordState, recordedPorts, takeOverRecord } from "./ownership-record.ts";
import { usedServer } from "./process-table.ts";
import { stopLeftBehind } from "./signals.ts";

/** Stops the server of an orphan record, unless another pi took the record over first. */
export async function stopLeftBehindServer(state: Extract<RecordState, { kind: "orphan" }>): Promise<RecordFinding | undefined> {
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

/** Every record of this HOME but those of servers this pi uses: judged, and its server stopped when left behind. */
export async function stopServersLeftBehind(): Promise<RecordFinding[]> {
  const found: RecordFinding[] = [];
  await Promise.all(
    recordedPorts().map(async (port) => {
      if (usedServer(port)) return; // this pi's own, from before a /reload
      const state = judgeRecord(port);
      if (state.kind === "rejected") found.push({ kind: "record-rejected", path: state.path, reason: state.reason });
      if (state.kind !== "orphan") return;
      const stopped = await stopLeftBehindServer(state);
      if (stopped) found.push(stopped);
    }),
  );
  return found;
}
