/**
 * pi-llama-supervisor: self-hosted llama.cpp models in pi.
 *   llamafiles — local servers pi starts, adopts and stops (src/local, machines/local-server.machine.ts)
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { setUpLlamafiles } from "./local/llamafiles-extension.ts";

export default function piLlamaSupervisor(pi: ExtensionAPI): void {
  setUpLlamafiles(pi);
}
