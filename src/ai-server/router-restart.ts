/**
 * Restarting the router over ssh and waiting until it answers again: shared by
 * /ai-server-restart and /ai-server-ctx (when the router reads its preset only at start).
 */
import { sleep } from "../pi-session/sleep.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import type { RouterApi } from "./router-api.ts";
import { restartRouterService } from "./ssh-admin.ts";

/** Resolves true once GET /health answers after the restart, false when it did not in time. */
export async function restartRouterAndWait(host: string, api: RouterApi, signal?: AbortSignal): Promise<boolean> {
  await restartRouterService(host, signal);
  const deadline = Date.now() + aiServerTimeouts.restartHealthyMs;
  while (Date.now() < deadline) {
    if (await api.healthy(signal)) return true;
    await sleep(aiServerTimeouts.healthPollMs, signal);
  }
  return false;
}
