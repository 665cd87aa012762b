/**
 * The generic provider feature: a backend (src/backend/contract.ts) in pi. It owns what every
 * backend does the same way: pi's hooks (each a line or two: pi's event becomes a verb of the
 * supervisor), loading the statechart and its effects on first use so pi's start-up does not pay
 * for them, the readiness gate before a request (src/backend/request.ts), learning what a
 * server says it serves (src/pi-session/served-models.ts), the footer and the notices
 * (src/backend/status-view.ts), and the working indicator's phrase.
 */
import type { Api, AssistantMessageEventStream, Model } from "@earendil-works/pi-ai";
import { lazyStream } from "@earendil-works/pi-ai";
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { ServedOverride } from "../llama-cpp/model-facts.ts";
import { lazy } from "../pi-session/lazy.ts";
import { lazyMachinery } from "../pi-session/machinery.ts";
import type { ServedModels } from "../pi-session/served-models.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import type { Backend, StartStream, Supervisor } from "./contract.ts";
import { supervisorFailedText } from "./messages.ts";

export interface BackendFeature<Status, Notice> {
  /** A request of `model`: waits until its server is ready, then streams as `start` does. */
  stream(model: Model<Api>, options: { signal?: AbortSignal } | undefined, start: StartStream): AssistantMessageEventStream;
  /** What the model's server said it serves, once it said so (registrations include it). */
  served(modelId: string): ServedOverride | undefined;
  /** Everything known of what the servers said (for the status commands). */
  servedModels(): ServedModels | undefined;
  /** The supervisor, loaded if it was not (a command acts through it). */
  supervisor(): Promise<Supervisor<Status, Notice>>;
  /** The supervisor's status now, if it was loaded. */
  status(): Status | undefined;
  activity: ActivitySource;
}

/** Puts `backend` into pi: registers its hooks and returns what its provider and commands use. */
export function backendFeature<Status, Notice>(
  pi: ExtensionAPI,
  session: SessionUi,
  meter: AnswerMeter,
  backend: Backend<Status, Notice>,
): BackendFeature<Status, Notice> {
  const words = lazy(() => backend.loadWords());
  let served: ServedModels | undefined;

  const machinery = lazyMachinery(async (inspect) => {
    const [supervisor, said, { servedModels }, { bindStatusView }] = await Promise.all([
      backend.loadSupervisor(inspect),
      words.get(),
      import("../pi-session/served-models.ts"),
      import("./status-view.ts"),
    ]);
    const known = servedModels({
      pi,
      session,
      provider: backend.provider,
      defaults: backend.defaults,
      fix: said.contextFix,
      reregister: backend.reregister,
    });
    served = known;
    // What a ready server says it serves goes to pi's registry; a new start is told again.
    const offServed = supervisor.status.subscribe((status) => {
      for (const serving of backend.servings(status)) {
        if (serving.phase === "starting") known.forget(serving.modelId);
        else if (serving.phase === "ready" && serving.props) {
          const declared = backend.declared(serving.modelId);
          if (declared) known.learn(serving.modelId, declared.name, declared.declared, serving.props);
        }
      }
    });
    const view = bindStatusView(backend, supervisor, said, session, meter);
    return {
      supervisor,
      view: {
        redraw: view.redraw,
        dispose() {
          offServed();
          view.dispose();
        },
      },
    };
  });
  const supervisor = async () => (await machinery.get()).supervisor;
  /** A verb for the supervisor once it is loaded; a load that failed is said, never thrown into pi. */
  const withSupervisor = (verb: (loaded: Supervisor<Status, Notice>) => void) =>
    void supervisor().then(verb, (error: unknown) => session.tell(supervisorFailedText(backend.provider, error), "error"));

  /** The last model asked for, so the working indicator can tell before the supervisor loads. */
  let requested: string | undefined;

  pi.on("session_start", (_event, ctx) => {
    void words.get();
    machinery.loaded()?.redraw();
    // pi restores a model (settings, --model, /resume, /new) only this way: no model_select for it.
    const restored = ctx.model?.provider === backend.provider ? ctx.model.id : undefined;
    if (restored !== undefined) requested = restored;
    if (backend.supervisedFromSessionStart || machinery.requested()) withSupervisor((s) => s.sessionStarted(restored));
  });
  pi.on("model_select", (event) => {
    if (event.model.provider === backend.provider) {
      requested = event.model.id;
      withSupervisor((s) => s.select(event.model.id));
      return;
    }
    requested = undefined;
    // Nothing loaded means nothing was ever started: nothing to stop.
    if (machinery.requested()) withSupervisor((s) => s.deselect());
  });
  pi.on("session_shutdown", async (event) => {
    // A backend supervised from the session's start has something to let go of on quit even then.
    try {
      if (machinery.requested() || (event.reason === "quit" && backend.supervisedFromSessionStart)) {
        const { supervisor: loaded, dispose } = await machinery.get();
        await loaded.end(event.reason === "quit" ? "quit" : "detach");
        dispose();
      }
    } catch (error) {
      // pi is quitting or replacing the session: say it, never throw into pi.
      session.tell(supervisorFailedText(backend.provider, error), "error");
    }
    await backend.close?.().catch(() => undefined);
  });

  return {
    stream: (model, options, start) =>
      lazyStream(model, async () =>
        (await import("./request.ts")).streamWhenReady(
          { backend, meter, supervisor, served: (id) => served?.override(id) },
          model,
          options?.signal,
          start,
        ),
      ),
    served: (modelId) => served?.override(modelId),
    servedModels: () => served,
    supervisor,
    status: () => machinery.loaded()?.supervisor.status.current(),
    activity: () => words.loaded()?.activity(machinery.loaded()?.supervisor.status.current(), requested),
  };
}
