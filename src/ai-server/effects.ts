/**
 * The effects behind the router-model statechart: each actor the machine names, over the
 * router's control plane. The one seam between that chart and the router: tests of the chart
 * replace exactly these actors.
 */
import { fromPromise } from "xstate";
import type { RouterModelState, RouterRestoreOutcome, RouterSaveOutcome } from "../../machines/router-model.machine.ts";
import { sleep } from "../util/sleep.ts";
import type { RouterApi, RouterModel } from "./router-api.ts";
import { type RouterSlotCache, routerSaves } from "./slot-cache.ts";
import { restartRouterService } from "./ssh-admin.ts";

/** What GET /models says about `id` (a model is found by its id or one of its aliases). */
export function stateOf(models: RouterModel[], id: string): RouterModelState {
  const model = findModel(models, id);
  if (!model) return { value: "missing", failed: false, exitCode: undefined };
  const value = (model.status?.value ?? "unloaded") as RouterModelState["value"];
  return {
    value,
    failed: model.status?.failed === true,
    exitCode: model.status?.exit_code,
    ...(routerSaves(model) ? { saves: true } : {}),
  };
}

const findModel = (models: RouterModel[], id: string) => models.find((candidate) => candidate.id === id || candidate.aliases?.includes(id));

export function routerActors(api: RouterApi, polls: { loadPollMs: number; healthPollMs: number }, slots?: RouterSlotCache) {
  const pollMs = polls.loadPollMs;
  /**
   * A loaded model: what its worker says it serves, read before anyone is told it is ready; when
   * the router keeps its slots, this session's requests pin its slot from now on.
   */
  const withProps = async (
    models: RouterModel[],
    state: RouterModelState,
    modelId: string,
    signal: AbortSignal,
  ): Promise<RouterModelState> => {
    if (state.value !== "loaded" && state.value !== "sleeping") return state;
    const props = await api.props(modelId, signal);
    slots?.follow(findModel(models, modelId), props);
    return { ...state, props };
  };
  const read = async (modelId: string, signal: AbortSignal) => {
    const models = await api.list({ signal });
    return withProps(models, stateOf(models, modelId), modelId, signal);
  };
  return {
    readModelState: fromPromise<RouterModelState, { modelId: string }>(({ input, signal }) => read(input.modelId, signal)),
    requestLoad: fromPromise<void, { modelId: string }>(({ input, signal }) => api.load(input.modelId, signal)),
    waitUntilLoaded: fromPromise<RouterModelState, { modelId: string }>(async ({ input, signal }) => {
      // failed/exit_code survive from an earlier attempt until the next spawn: only trust
      // them once this load was seen in "loading", or after a few polls.
      let sawLoading = false;
      for (let poll = 0; ; poll++) {
        const models = await api.list({ signal });
        const state = stateOf(models, input.modelId);
        if (state.value === "loaded" || state.value === "sleeping") return withProps(models, state, input.modelId, signal);
        if (state.value === "loading") sawLoading = true;
        else if (state.value === "unloaded" && state.failed && (sawLoading || poll >= 4)) return state;
        else if (state.value === "missing") return { ...state, failed: true };
        await sleep(pollMs, signal);
      }
    }),
    requestUnload: fromPromise<void, { modelId: string }>(({ input, signal }) => api.unload(input.modelId, signal)),
    waitUntilUnloaded: fromPromise<RouterModelState, { modelId: string }>(async ({ input, signal }) => {
      for (;;) {
        const state = stateOf(await api.list({ signal }), input.modelId);
        if (state.value === "unloaded" || state.value === "missing") return state;
        await sleep(pollMs, signal);
      }
    }),
    restartRouterService: fromPromise<void, { host: string }>(({ input, signal }) => restartRouterService(input.host, signal)),
    /** Until GET /health answers; the chart's RESTART_HEALTH_TIMEOUT bounds it. */
    waitUntilHealthy: fromPromise<void>(async ({ signal }) => {
      while (!(await api.healthy(signal))) await sleep(polls.healthPollMs, signal);
    }),
    saveRouterSlot: fromPromise<RouterSaveOutcome, { modelId: string }>(
      async ({ input, signal }) => (await slots?.save(input.modelId, signal)) ?? { kind: "unchanged" },
    ),
    restoreRouterSlot: fromPromise<RouterRestoreOutcome, { modelId: string }>(
      async ({ input, signal }) => (await slots?.restore(input.modelId, signal)) ?? { kind: "none" },
    ),
  };
}
