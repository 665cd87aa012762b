/**
 * pi-llama-supervisor: self-hosted llama.cpp models in pi.
 *   llamafiles — local servers pi starts, adopts and stops (src/local, machines/local-server.machine.ts)
 *   ai-server  — a remote llama.cpp router behind an mTLS proxy (src/router, machines/router-model.machine.ts)
 * and pi's working indicator, saying which of them pi is waiting for (src/ui/working-indicator.ts).
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { setUpLlamafiles } from "./llamafiles/extension.ts";
import { setUpAiServer } from "./ai-server/extension.ts";
import { bindWorkingIndicator } from "./pi-session/working-indicator.ts";

export default async function piLlamaSupervisor(pi: ExtensionAPI): Promise<void> {
  const localActivity = setUpLlamafiles(pi);
  const routerActivity = await setUpAiServer(pi);
  bindWorkingIndicator(pi, [localActivity, routerActivity]);
}
