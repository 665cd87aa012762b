import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { IDLE_STATUS, type LocalServerStatus } from "../../machines/local-server.machine.ts";
import { reply } from "../pi-session/notify.ts";
import { llamafilesReport } from "./messages.ts";

/**
 * `/llamafiles`: what runs now. Works in every mode that has commands. `status` is undefined
 * until the supervisor was first needed: then nothing runs.
 */
export function registerLlamafilesCommand(pi: ExtensionAPI, status: () => LocalServerStatus | undefined): void {
  pi.registerCommand("llamafiles", {
    description: "Show the local llamafile / llama-server that pi runs or adopted",
    handler: async (_args, ctx) => {
      const report = llamafilesReport(status() ?? IDLE_STATUS);
      reply(ctx, report);
    },
  });
}
