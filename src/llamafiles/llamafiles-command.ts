/**
 * `/llamafiles` and `/llamafiles scan` (loaded on first use): what runs, each running server's
 * memory (the estimate beside what its process group holds), the problems of models.json, and
 * what discovery found and skipped.
 */
import type { FleetStatus, WarmSpec } from "../../machines/local-fleet.machine.ts";
import type { LastAnswer } from "../llama-cpp/answer-meter.ts";
import type { ServedModel } from "../llama-cpp/model-facts.ts";
import type { ConfigProblem } from "./config.ts";
import type { DiscoveryInPi } from "./discovery-in-pi.ts";
import type { LocalModels } from "./local-models.ts";
import { configProblemText, discoveryReportLines, llamafilesReport, memoryLine, rescanText } from "./messages.ts";
import { groupResidentBytes } from "./process/resident-memory.ts";

export interface LlamafilesCommandInput {
  status: FleetStatus | undefined;
  served(id: string): ServedModel | undefined;
  last(id: string): LastAnswer | undefined;
  models: LocalModels;
  /** The models declared in models.json (with none, /llamafiles says where discovery looked even when it found nothing). */
  declared: number;
  problems: ConfigProblem[];
  /** Undefined when discovery is off. */
  discovery: DiscoveryInPi | undefined;
}

/** A running server's memory line: its estimate beside the resident memory of its process group (none for an adopted one). */
async function memoryNow(input: LlamafilesCommandInput, model: WarmSpec): Promise<string | undefined> {
  const entry = input.status?.servers.find((server) => server.model.id === model.id);
  const pid = entry?.status.adopted ? undefined : entry?.status.pid;
  if (pid === undefined) return undefined;
  return memoryLine(input.models.get(model.id) ?? model, await groupResidentBytes(pid));
}

export async function llamafilesText(input: LlamafilesCommandInput): Promise<string> {
  const running = (input.status?.servers ?? []).filter((entry) => entry.status.phase !== "idle" && entry.status.phase !== "ended");
  const memory = new Map(await Promise.all(running.map(async (entry) => [entry.model.id, await memoryNow(input, entry.model)] as const)));
  const servers = llamafilesReport(input.status, input.served, input.last, Date.now(), (model) => memory.get(model.id));
  const found = input.discovery;
  const discovered = found
    ? discoveryReportLines(
        { outcome: await found.outcome(), defaultFolders: found.defaultFolders(), declared: input.declared },
        new Set(running.map((entry) => entry.model.id)),
        found.home,
      )
    : discoveryReportLines("off", new Set(), "");
  return [servers, ...input.problems.map(configProblemText), ...discovered].join("\n");
}

/** `/llamafiles scan`: every file read again, what changed in pi's list, then the whole report. */
export async function scanText(input: LlamafilesCommandInput & { discovery: DiscoveryInPi }): Promise<string> {
  const { before, outcome } = await input.discovery.rescan();
  const after = outcome.models.map((model) => model.id);
  return `${rescanText(before, after)}\n${await llamafilesText(input)}`;
}
