// pi launched with model A preselected (settings / previous session) starts A
// on session boot, without any /model. pi 0.87.1 emits no model_select for this (docs/architecture.md).
import { VERSION } from "@earendil-works/pi-coding-agent";
import { afterEach, expect, test } from "vitest";
import { nativeProviderRacesStartUp } from "../../src/pi-versions/native-provider-start.ts";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("a preselected llamafiles model starts at session boot", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })], preselect: "llamafiles/model-a" });

  expect(pi.runtime.session.model?.provider).toBe("llamafiles");
  await waitFor(() => pi.notifications().some((n) => n.message === "A is ready"), "A to become ready");
  const probe = await probeModels(port);
  expect(probe).toEqual({ status: 200, ids: ["model-a"] });
  const pid = Number(/pid=(\d+)/.exec((await pi.command("/llamafiles")) ?? "")?.[1]);
  expect(isAlive(pid)).toBe(true);
  expect(pi.footer()).toEqual(["Starting A...", "A running"]);
  expect((await pi.prompt("hi")).error).toBeUndefined();
});

// pi before 0.99.2 may lose this race (pi #9962): there the user is told to add "api" and "baseUrl" (list-models.test.ts).
test.runIf(!nativeProviderRacesStartUp(VERSION))(
  `on pi ${VERSION}, the minimal block (no "api", no "baseUrl") restores a preselected model at session boot too`,
  async () => {
    const port = await freePort();
    const pi = await startPi({
      llamafiles: { models: [fakeModelEntry({ id: "model-a", name: "A", port })] },
      preselect: "llamafiles/model-a",
    });
    expect(`${pi.runtime.session.model?.provider}/${pi.runtime.session.model?.id}`).toBe("llamafiles/model-a");
    await waitFor(() => pi.notifications().some((n) => n.message === "A is ready"), "A to become ready");
    expect(await pi.prompt("hi")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
  },
);

// pi's availability passes race (src/pi-versions/lost-start-model.ts): held back here until pi
// has chosen its start model, so pi starts with none although settings name a llamafiles model.
test("pi chose its start model before its availability pass landed: the preselected model is taken back at session_start, and starts", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: { models: [fakeModelEntry({ id: "model-a", name: "A", port })] },
    preselect: "llamafiles/model-a",
    availabilityLateAtBoot: true,
  });
  expect(pi.runtime.modelFallbackMessage).toBeDefined();
  expect(`${pi.runtime.session.model?.provider}/${pi.runtime.session.model?.id}`).toBe("llamafiles/model-a");
  await waitFor(() => pi.notifications().some((n) => n.message === "A is ready"), "A to become ready");
  expect(await pi.prompt("hi")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
});

test("pi lost a start model that is not a llamafiles one: nothing is chosen for it, nothing starts", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: { models: [fakeModelEntry({ id: "model-a", name: "A", port })] },
    preselect: "elsewhere/model-a",
    availabilityLateAtBoot: true,
  });
  expect(`${pi.runtime.session.model?.provider}/${pi.runtime.session.model?.id}`).toBe("unknown/unknown"); // pi's "no model"
  // Selecting happens inside session_start, which startPi awaited: a start would show by now.
  expect(pi.footer()).toEqual([]);
  expect(await probeModels(port)).toBe("refused");
});

test("pi lost the llamafiles start model but fell back to another provider's: that model stays, nothing starts", async () => {
  process.env.ANTHROPIC_API_KEY = "sk-test-not-used";
  try {
    const port = await freePort();
    const pi = await startPi({
      llamafiles: { models: [fakeModelEntry({ id: "model-a", name: "A", port })] },
      preselect: "llamafiles/model-a",
      availabilityLateAtBoot: true,
    });
    expect(pi.runtime.session.model?.provider).toBe("anthropic");
    expect(pi.footer()).toEqual([]);
    expect(await probeModels(port)).toBe("refused");
  } finally {
    delete process.env.ANTHROPIC_API_KEY;
  }
});
