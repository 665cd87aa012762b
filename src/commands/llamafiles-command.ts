import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import type { LocalSupervisor } from "../local/local-supervisor.ts";
import { llamafilesReport } from "../ui/local-status-view.ts";

/** `/llamafiles`: what runs now (spec §6.4). Works in every mode that has commands. */
export function registerLlamafilesCommand(pi: ExtensionAPI, supervisor: LocalSupervisor): void {
  pi.registerCommand("llamafiles", {
    description: "Show the local llamafile / llama-server that pi runs or adopted",
    handler: async (_args, ctx) => {
      const report = llamafilesReport(supervisor.status());
      if (ctx.hasUI) ctx.ui.notify(report, "info");
      else process.stdout.write(`${report}\n`);
    },
  });
}
