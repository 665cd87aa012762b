// The generic provider feature (src/backend/feature.ts) with a backend whose supervisor cannot
// load (a broken install): every hook says so once per attempt and never throws into pi; a
// failed load is tried again; quit ends quietly. And the router facade's waits end with words
// once its chart has ended, instead of never settling.
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { expect, test } from "vitest";
import { createRouterSupervisor } from "../../src/ai-server/supervisor.ts";
import type { Backend } from "../../src/backend/contract.ts";
import { backendFeature } from "../../src/backend/feature.ts";
import { answerMeter } from "../../src/llama-cpp/answer-meter.ts";
import { lazy } from "../../src/pi-session/lazy.ts";
import type { SessionUi } from "../../src/pi-session/session-ui.ts";
import { waitFor } from "../helpers/processes.ts";

function fakePi() {
  const handlers = new Map<string, Array<(event: unknown, ctx: unknown) => unknown>>();
  const pi = {
    on: (name: string, handler: (event: unknown, ctx: unknown) => unknown) =>
      void handlers.set(name, [...(handlers.get(name) ?? []), handler]),
  };
  const emit = async (name: string, event: unknown, ctx: unknown = {}) => {
    for (const handler of handlers.get(name) ?? []) await handler(event, ctx);
  };
  return { pi: pi as unknown as ExtensionAPI, emit };
}

test("a supervisor that cannot load is said, never thrown into pi, and the next selection tries again", async () => {
  const { pi, emit } = fakePi();
  const told: string[] = [];
  const session = { tell: (text: string) => told.push(text), ui: () => undefined } as unknown as SessionUi;
  let loads = 0;
  const backend = {
    provider: "broken",
    supervisedFromSessionStart: true,
    loadSupervisor: async () => {
      loads++;
      throw new Error("Cannot find module './supervisor.ts'");
    },
    loadWords: async () => ({ activity: () => undefined }),
  } as unknown as Backend<unknown, unknown>;
  backendFeature(pi, session, answerMeter(), backend);

  // Each hook's attempt is awaited by what it says (the load goes through dynamic imports first).
  await emit("session_start", { reason: "startup" }, { model: undefined });
  await waitFor(() => told.length === 1, "the first attempt to be said");
  await emit("model_select", { model: { provider: "broken", id: "m" } });
  await waitFor(() => told.length === 2, "the second attempt to be said");
  await expect(emit("session_shutdown", { reason: "quit" })).resolves.toBeUndefined();
  expect(loads).toBe(3);
  expect(told).toEqual(
    Array(3).fill(
      "broken: its supervisor failed (Cannot find module './supervisor.ts'); /reload starts it again. If it keeps failing, report it with this message.",
    ),
  );
});

test("a lazy part whose load failed loads again on the next get", async () => {
  let attempts = 0;
  const part = lazy(async () => {
    attempts++;
    if (attempts === 1) throw new Error("first");
    return "loaded";
  });
  await expect(part.get()).rejects.toThrow("first");
  expect(part.requested()).toBe(false);
  await expect(part.get()).resolves.toBe("loaded");
  expect(part.loaded()).toBe("loaded");
});

test("the router facade's waits end with words once its chart has ended", async () => {
  const api = { list: async () => [] } as never;
  const settings = { url: "https://localhost:8443" } as never;
  const supervisor = createRouterSupervisor({ api, settings });
  await supervisor.end("quit");
  await expect(supervisor.unloadAndWait("tiny-a")).rejects.toThrow(/pi stopped following the router/);
  await expect(supervisor.restartRouter("box")).rejects.toThrow(/pi stopped following the router/);
});
