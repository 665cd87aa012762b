/**
 * Which servers a new local model displaces (machines/local-fleet.machine.ts `planRoom`), and
 * the words a refusal reaches the user with; which servers held from before a /reload stay
 * warm (`carryOver`).
 */
import { describe, expect, test } from "vitest";
import { carryOver, planRoom, type WarmSpec } from "../../machines/local-fleet.machine.ts";
import { IDLE_STATUS, type LocalServerStatus } from "../../machines/local-server.machine.ts";
import { memoryText, noRoomText } from "../../src/llamafiles/messages.ts";
import { launchSpec } from "../helpers/scripted-actors.ts";

const GiB = 2 ** 30;
const model = (id: string, port: number, extra: Partial<WarmSpec> = {}): WarmSpec => ({ ...launchSpec(id, port), ...extra });

/** A fleet whose servers are in the given phases, used in the order given (first = least recent). */
function fleet(
  keepWarm: number,
  servers: Array<[WarmSpec, LocalServerStatus["phase"]]>,
  extra: { memoryBudgetBytes?: number; streaming?: string } = {},
) {
  return {
    keepWarm,
    memoryBudgetBytes: extra.memoryBudgetBytes,
    streaming: extra.streaming,
    servers: Object.fromEntries(
      servers.map(([spec, phase], index) => [
        spec.id,
        { model: spec, status: { ...IDLE_STATUS, phase, model: spec }, lastUsed: index + 1, reported: true },
      ]),
    ),
  };
}

describe("planRoom", () => {
  const a = model("a", 8001);
  const b = model("b", 8002);
  const c = model("c", 8003);

  test("one at a time (keepWarm 1): the running server makes way", () => {
    expect(planRoom(fleet(1, [[a, "ready"]]), b)).toEqual({ victims: ["a"] });
  });

  test("room left: nothing stops", () => {
    expect(planRoom(fleet(2, [[a, "ready"]]), b)).toEqual({ victims: [] });
  });

  test("full: the least recently used goes, not the more recent one", () => {
    expect(
      planRoom(
        fleet(2, [
          [a, "ready"],
          [b, "ready"],
        ]),
        c,
      ),
    ).toEqual({ victims: ["a"] });
    expect(
      planRoom(
        fleet(2, [
          [b, "ready"],
          [a, "ready"],
        ]),
        c,
      ),
    ).toEqual({ victims: ["b"] });
  });

  test("a pinned server is passed over even when it is the least recently used", () => {
    const pinned = model("a", 8001, { pinned: true });
    expect(
      planRoom(
        fleet(2, [
          [pinned, "ready"],
          [b, "ready"],
        ]),
        c,
      ),
    ).toEqual({ victims: ["b"] });
  });

  test("every slot pinned: refused, naming the pinned servers", () => {
    const pa = model("a", 8001, { pinned: true });
    const pb = model("b", 8002, { pinned: true });
    expect(
      planRoom(
        fleet(2, [
          [pa, "ready"],
          [pb, "starting"],
        ]),
        c,
      ),
    ).toEqual({ problem: { kind: "keep-warm-full", keepWarm: 2, held: ["a", "b"] } });
  });

  test("a server already stopping counts as making way, not as running", () => {
    expect(
      planRoom(
        fleet(2, [
          [a, "stopping"],
          [b, "ready"],
        ]),
        c,
      ),
    ).toEqual({ victims: ["a"] });
  });

  test("idle and ended servers take no room", () => {
    expect(
      planRoom(
        fleet(1, [
          [a, "idle"],
          [b, "ended"],
        ]),
        c,
      ),
    ).toEqual({ victims: [] });
  });

  test("a server on the port the new model needs makes way, even with room left", () => {
    const samePort = model("c", 8001);
    expect(
      planRoom(
        fleet(3, [
          [a, "ready"],
          [b, "ready"],
        ]),
        samePort,
      ),
    ).toEqual({ victims: ["a"] });
  });

  test("a pinned server on that port: refused", () => {
    const pa = model("a", 8001, { pinned: true });
    expect(planRoom(fleet(3, [[pa, "ready"]]), model("c", 8001))).toEqual({ problem: { kind: "port-held", port: 8001, heldBy: "a" } });
  });

  test("the memory budget stops as many least recently used servers as it takes", () => {
    const small = (id: string, port: number) => model(id, port, { memoryBytes: 4 * GiB });
    const big = model("big", 8009, { memoryBytes: 10 * GiB });
    const servers: Array<[WarmSpec, "ready"]> = [
      [small("x", 8001), "ready"],
      [small("y", 8002), "ready"],
      [small("z", 8003), "ready"],
    ];
    // 12 GiB held, 16 GiB budget: 10 more needs 6 freed, so the two least recent go.
    expect(planRoom(fleet(4, servers, { memoryBudgetBytes: 16 * GiB }), big)).toEqual({ victims: ["x", "y"] });
  });

  test("the budget cannot be met beside pinned servers: refused with the figures", () => {
    const pinned = model("a", 8001, { memoryBytes: 12 * GiB, pinned: true });
    const want = model("c", 8003, { memoryBytes: 8 * GiB });
    expect(
      planRoom(
        fleet(
          3,
          [
            [pinned, "ready"],
            [b, "ready"],
          ],
          { memoryBudgetBytes: 16 * GiB },
        ),
        want,
      ),
    ).toEqual({
      problem: { kind: "over-budget", needBytes: 8 * GiB, budgetBytes: 16 * GiB, heldBytes: 12 * GiB, held: ["a"] },
    });
  });

  test("a model larger than the whole budget: refused whatever runs", () => {
    const huge = model("huge", 8009, { memoryBytes: 40 * GiB });
    expect(planRoom(fleet(2, [], { memoryBudgetBytes: 32 * GiB }), huge)).toEqual({
      problem: { kind: "larger-than-budget", needBytes: 40 * GiB, budgetBytes: 32 * GiB },
    });
  });

  test("a server whose answer streams is still chosen (the fleet stops it when the answer ends)", () => {
    expect(planRoom(fleet(1, [[a, "ready"]], { streaming: "a" }), b)).toEqual({ victims: ["a"] });
  });

  test("models without an estimate count as nothing against the budget", () => {
    expect(planRoom(fleet(3, [[a, "ready"]], { memoryBudgetBytes: GiB }), b)).toEqual({ victims: [] });
  });
});

describe("refusal messages", () => {
  const want = model("coder", 8003, { name: "Qwen Coder", memoryBytes: 22 * GiB });

  test("keepWarm full: which servers are pinned and what to change", () => {
    const text = noRoomText(want, { kind: "keep-warm-full", keepWarm: 1, held: ["helper"] });
    expect(text).toBe(
      'Cannot start Qwen Coder: keepWarm 1 allows 1 local server at once, and helper is pinned. Unpin one ("pinned" in ~/.pi/agent/models.json) or raise "keepWarm".',
    );
  });

  test("over budget: the model's need, what stays, what is left of the budget", () => {
    const text = noRoomText(want, {
      kind: "over-budget",
      needBytes: 22 * GiB,
      budgetBytes: 32 * GiB,
      heldBytes: 12 * GiB,
      held: ["helper"],
    });
    expect(text).toContain('it needs 22 GiB, and helper (12 GiB) must keep running, which leaves 20 GiB of the 32 GiB "memoryBudget"');
    expect(text).toContain('raise "memoryBudget"');
  });

  test("port held by a pinned server", () => {
    expect(noRoomText(want, { kind: "port-held", port: 8003, heldBy: "helper" })).toContain(
      "its port 8003 is held by helper, which is pinned",
    );
  });

  test("larger than the budget", () => {
    expect(noRoomText(want, { kind: "larger-than-budget", needBytes: 22 * GiB, budgetBytes: 16 * GiB })).toContain(
      '"memory" estimate (22 GiB) is larger than the whole "memoryBudget" (16 GiB)',
    );
  });

  test("amounts read in their best unit", () => {
    expect([memoryText(22 * GiB), memoryText(1.5 * GiB), memoryText(512 * 2 ** 20), memoryText(3 * 2 ** 10)]).toEqual([
      "22 GiB",
      "1.5 GiB",
      "512 MiB",
      "3 KiB",
    ]);
  });
});

describe("carryOver", () => {
  const [a, b, c, d] = [model("a", 8001), model("b", 8002), model("c", 8003), model("d", 8004)];
  const held = (...models: WarmSpec[]) => models.map(({ port, id }) => ({ port, modelId: id }));
  const start = (keepWarm: number, startedWith?: WarmSpec, servers: WarmSpec[] = []) => ({
    ...fleet(
      keepWarm,
      servers.map((spec) => [spec, "starting"]),
    ),
    models: [a, b, c, d],
    startedWith,
  });

  test("keepWarm 1: nothing stays warm but the selection's own server; the rest is let go of", () => {
    expect(carryOver(start(1, b), held(a, b, c))).toEqual({ kept: [], keep: [8002] });
  });

  test("keepWarm 3: the two most recent others stay warm, the oldest is let go of", () => {
    expect(carryOver(start(3, a), held(b, c, d, a))).toEqual({ kept: [c, d], keep: [8001, 8003, 8004] });
  });

  test("a server of a model no longer configured, or on another port now, is let go of", () => {
    const moved = { port: 9003, modelId: "c" };
    expect(carryOver(start(3), [...held(b), moved, { port: 9009, modelId: "gone" }])).toEqual({ kept: [b], keep: [8002] });
  });

  test("a server the fleet already has is never let go of nor carried over", () => {
    expect(carryOver(start(2, undefined, [c]), held(b, c))).toEqual({ kept: [b], keep: [8003, 8002] });
  });
});
