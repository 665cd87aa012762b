/**
 * pi-llama-supervisor: self-hosted llama.cpp models in pi.
 *   llamafiles — local servers pi starts, adopts and stops (src/local, machines/local-server.machine.ts)
 *   ai-server  — a remote llama.cpp router behind an mTLS proxy (src/router, machines/router-model.machine.ts)
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { setUpLlamafiles } from "./local/llamafiles-extension.ts";
import { setUpAiServer } from "./router/ai-server-extension.ts";

export default async function piLlamaSupervisor(pi: ExtensionAPI): Promise<void> {
  setUpLlamafiles(pi);
  await setUpAiServer(pi);
}
