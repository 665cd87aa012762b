/**
 * The llamafiles side of a pi session: what pi's hooks call. It maps pi's models to the
 * configured launch specs, loads the supervisor (statechart, effects, view, what servers say
 * about their models) on first use so pi's start-up does not pay for it, and answers the
 * provider, /llamafiles and the working indicator from the chart's status. The feature's
 * words load right after start-up, not during it.
 */
import type { LaunchSpec } from "../../machines/local-server.machine.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { ServedOverride } from "../llama-cpp/model-facts.ts";
import { lazy } from "../pi-session/lazy.ts";
import { lazyMachinery } from "../pi-session/machinery.ts";
import { notify } from "../pi-session/notify.ts";
import type { ServedModels, ServedModelsOptions } from "../pi-session/served-models.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import { LLAMAFILES_PROVIDER, type LlamafilesConfig, modelDefaults } from "./config.ts";

type ShutdownReason = "quit" | "reload" | "new" | "resume" | "fork";

export interface LlamafilesSessionOptions {
  meter: AnswerMeter;
  /** Registers the provider again (what a server said it serves changed). */
  reregister: ServedModelsOptions["reregister"];
  pi: ServedModelsOptions["pi"];
}

export function llamafilesSession(config: LlamafilesConfig, session: SessionUi, options: LlamafilesSessionOptions) {
  const byId = new Map(config.models.map((model) => [model.id, model]));
  const words = lazy(() => import("./messages.ts"));
  let served: ServedModels | undefined;

  const machinery = lazyMachinery(async (inspect) => {
    const [{ createLocalSupervisor }, { bindLocalStatusView }, { servedModels }, messages] = await Promise.all([
      import("./supervisor.ts"),
      import("./status-view.ts"),
      import("../pi-session/served-models.ts"),
      words.get(),
    ]);
    const known = servedModels({
      pi: options.pi,
      session,
      provider: LLAMAFILES_PROVIDER,
      defaults: modelDefaults,
      fix: messages.localContextFix,
      reregister: options.reregister,
    });
    served = known;
    const supervisor = createLocalSupervisor({
      inspect,
      fleet: { keepWarm: config.keepWarm, memoryBudgetBytes: config.memoryBudgetBytes, models: config.models },
    });
    // What a ready server says it serves goes to pi's registry; a new start is told again.
    supervisor.status.subscribe((fleet) => {
      for (const { status } of fleet.servers) {
        const model = status.model && byId.get(status.model.id);
        if (!model) continue;
        if (status.phase === "starting") known.forget(model.id);
        else if (status.phase === "ready" && status.props) known.learn(model.id, model.name, model.declared, status.props);
      }
    });
    return { supervisor, view: bindLocalStatusView(supervisor, session, options.meter) };
  });
  /** The last model asked for, so the working indicator can tell before the supervisor loads. */
  let requested: LaunchSpec | undefined;

  const select = (modelId: string) => {
    const model = byId.get(modelId);
    requested = model;
    if (model) void machinery.get().then(({ supervisor }) => supervisor.select(model));
    else void words.get().then((messages) => notify(session.ui(), messages.unknownModelSelectedText(modelId), "error"));
  };

  return {
    /** session_start: pi restores a model only this way (no model_select for it). */
    sessionStarted(model: { provider: string; id: string } | undefined): void {
      void words.get();
      machinery.loaded()?.redraw();
      const selected = model?.provider === LLAMAFILES_PROVIDER ? byId.get(model.id) : undefined;
      // The fleet takes over what this pi held before (/reload, …) and sweeps servers left behind, once.
      void machinery.get().then(({ supervisor }) => supervisor.sessionStarted(selected));
      if (model?.provider === LLAMAFILES_PROVIDER) select(model.id);
    },
    modelSelected(model: { provider: string; id: string }): void {
      if (model.provider === LLAMAFILES_PROVIDER) {
        select(model.id);
        return;
      }
      requested = undefined;
      // Nothing loaded means nothing was ever started: nothing to stop.
      if (machinery.requested()) void machinery.get().then(({ supervisor }) => supervisor.deselect());
    },
    /** quit stops what pi owns (and resolves when it is gone); the other reasons leave it warm. */
    async sessionEnding(reason: ShutdownReason): Promise<void> {
      // Nothing loaded and not quitting: nothing to leave warm (quitting, the fleet lets go of what this pi held).
      if (!machinery.requested() && reason !== "quit") return;
      const { supervisor, dispose } = await machinery.get();
      if (reason === "quit") await supervisor.quit();
      else supervisor.detach();
      dispose();
    },
    /** The provider's gate: a prompt waits here until its model's server is ready. */
    async ensureReady(model: LaunchSpec, signal: AbortSignal | undefined): Promise<void> {
      return (await machinery.get()).supervisor.ensureReady(model, signal);
    },
    /** What the model's server said it serves, once it said so. */
    served(id: string): ServedOverride | undefined {
      return served?.served(id);
    },
    /** An answer of `modelId` starts streaming; the returned function ends it. */
    answering(modelId: string): () => void {
      return machinery.loaded()?.supervisor.answerStarted(modelId) ?? (() => {});
    },
    /** `/llamafiles`: every server, its context, the last answer's figures. */
    async report(): Promise<string> {
      const fleet = machinery.loaded()?.supervisor.status.current();
      return (await words.get()).llamafilesReport(
        fleet,
        (id) => served?.model(id),
        (id) => options.meter.last(`${LLAMAFILES_PROVIDER}/${id}`),
      );
    },
    activity(): string | undefined {
      return words.loaded()?.activityPhrase(machinery.loaded()?.supervisor.status.current(), requested);
    },
  };
}
