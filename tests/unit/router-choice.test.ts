// Which router a command argument means among several (src/ai-server/router-choice.ts), the
// completion of both forms, and one actor per router, told apart in the inspector.

import { expect, test } from "vitest";
import type { AnyActorRef, InspectionEvent } from "xstate";
import type { AiServerSettings } from "../../src/ai-server/config.ts";
import type { RouterApi } from "../../src/ai-server/router-api.ts";
import { chooseModelRouter, modelCompletions } from "../../src/ai-server/router-choice.ts";
import { routerBackend } from "../../src/ai-server/session.ts";

const box1 = { name: "box1", provider: "ai-server", ids: ["tiny-a", "tiny-b"] };
const box2 = { name: "box2", provider: "ai-server-box2", ids: ["tiny-a", "tiny-c"] };
const routers = [box1, box2];
const ids = (router: typeof box1) => router.ids;

test("a model argument finds its router: the one listing it, the one named (short or provider name), or several", () => {
  expect(chooseModelRouter("tiny-b", routers, ids)).toEqual({ kind: "found", router: box1, id: "tiny-b" });
  expect(chooseModelRouter("box2/tiny-a", routers, ids)).toEqual({ kind: "found", router: box2, id: "tiny-a" });
  expect(chooseModelRouter("ai-server-box2/tiny-a", routers, ids)).toEqual({ kind: "found", router: box2, id: "tiny-a" });
  // Named, the router is asked even for an id it did not list (the command says what it lists).
  expect(chooseModelRouter("box1/tiny-c", routers, ids)).toEqual({ kind: "found", router: box1, id: "tiny-c" });
  expect(chooseModelRouter("tiny-a", routers, ids)).toEqual({ kind: "ambiguous", id: "tiny-a", routers });
  expect(chooseModelRouter("box9/tiny-a", routers, ids)).toEqual({ kind: "unknown-router", given: "box9", id: "box9/tiny-a" });
  expect(chooseModelRouter("tiny-z", routers, ids)).toEqual({
    kind: "unknown",
    id: "tiny-z",
    known: ["box1/tiny-a", "box1/tiny-b", "box2/tiny-a", "box2/tiny-c"],
  });
  // One router: every argument means it, as before there were several.
  expect(chooseModelRouter("tiny-z", [box1], ids)).toEqual({ kind: "found", router: box1, id: "tiny-z" });
});

test("an id with a '/' (a router's Hugging Face cache: org/repo:quant) is an id, not a router's name", () => {
  const hf = "ggml-org/gemma-3-1b-it-GGUF:Q4_K_M";
  const box3 = { name: "box3", provider: "ai-server-box3", ids: [hf] };
  expect(chooseModelRouter(hf, [box1, box3], ids)).toEqual({ kind: "found", router: box3, id: hf });
  expect(chooseModelRouter(`box3/${hf}`, [box1, box3], ids)).toEqual({ kind: "found", router: box3, id: hf });
  // With one router nothing is a router's name: a model it does not list yet is still asked for.
  expect(chooseModelRouter(hf, [box1], ids)).toEqual({ kind: "found", router: box1, id: hf });
  expect(chooseModelRouter("box9/tiny-a", [box1, box3], ids)).toEqual({ kind: "unknown-router", given: "box9", id: "box9/tiny-a" });
});

test("completion: the ids alone with one router; both forms among several", () => {
  const listed = (router: typeof box1) => router.ids.map((id) => ({ id, status: "unloaded" }));
  expect(modelCompletions("tiny", [box1], listed).map((item) => item.value)).toEqual(["tiny-a", "tiny-b"]);
  expect(modelCompletions("", routers, listed).map((item) => `${item.value}: ${item.description}`)).toEqual([
    "tiny-a: on box1, box2",
    "tiny-b: on box1",
    "tiny-c: on box2",
    "box1/tiny-a: unloaded",
    "box1/tiny-b: unloaded",
    "box2/tiny-a: unloaded",
    "box2/tiny-c: unloaded",
  ]);
  expect(modelCompletions("box1/", routers, listed).map((item) => item.value)).toEqual(["box1/tiny-a", "box1/tiny-b"]);
});

test("each router's statechart is its own actor, with an id the inspector shows (routerModel:<provider>)", async () => {
  const settings = {
    name: "box1",
    url: "https://box1.test",
    ca: { value: "/ca", source: "x" },
    clientCert: { value: "/c", source: "x" },
    clientKey: { value: "/k", source: "x" },
    fallbackModels: [],
  } as unknown as AiServerSettings;
  const ids: string[] = [];
  const inspect = (event: InspectionEvent) => {
    const actor = event.actorRef as AnyActorRef;
    // The chart itself, not the effects it invokes.
    if (event.type === "@xstate.actor" && !actor._parent) ids.push(actor.id);
  };
  for (const provider of ["ai-server", "ai-server-box2"]) {
    const backend = routerBackend({
      provider,
      settings,
      api: {} as RouterApi,
      fetches: { forRequest: () => fetch, close: async () => {} },
      listing: () => [],
      reregister: () => {},
    });
    const supervisor = await backend.loadSupervisor({ next: inspect });
    await supervisor.end("quit");
  }
  expect(ids).toEqual(["routerModel:ai-server", "routerModel:ai-server-box2"]);
});
