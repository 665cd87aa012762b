import { homedir } from "node:os";
import { join } from "node:path";

/** `~/.pi/llamafile_logs`, where server logs and ownership records live. Read HOME at call time: tests and the demo change it. */
export function llamafileLogsDir(): string {
  return join(process.env.HOME || homedir(), ".pi", "llamafile_logs");
}

export function serverLogPath(modelId: string): string {
  // An id can contain "/" (e.g. "org/model"); keep the log inside the logs folder.
  return join(llamafileLogsDir(), `${modelId.replace(/[/\\]/g, "_")}.log`);
}

export function ownershipRecordPath(port: number): string {
  return join(llamafileLogsDir(), "owned", `port-${port}.json`);
}
