/**
 * The llamafiles side of a pi session: what pi's hooks call. It maps pi's models to the
 * configured launch specs, loads the supervisor (statechart, effects, view) on first use so
 * pi's start-up does not pay for it, and answers the provider, /llamafiles and the working
 * indicator from the chart's status.
 */
import type { LaunchSpec, LocalServerStatus } from "../../machines/local-server.machine.ts";
import { lazyMachinery } from "../pi-session/machinery.ts";
import { notify } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import { LLAMAFILES_PROVIDER, type LlamafilesConfig } from "./config.ts";
import { activityPhrase, effectReportsText, foreignServerQuestion, unknownModelSelectedText } from "./messages.ts";
import { usedServers } from "./process/process-table.ts";

type ShutdownReason = "quit" | "reload" | "new" | "resume" | "fork";

export function llamafilesSession(config: LlamafilesConfig, session: SessionUi) {
  const byId = new Map(config.models.map((model) => [model.id, model]));
  const machinery = lazyMachinery(async (inspect) => {
    const [{ createLocalSupervisor }, { bindLocalStatusView }] = await Promise.all([import("./supervisor.ts"), import("./status-view.ts")]);
    const supervisor = createLocalSupervisor({
      inspect,
      askAboutForeignServer: async (model, advertised) => {
        const ui = session.ui();
        if (!ui || !session.hasUI()) return false;
        const { title, message } = foreignServerQuestion(model, advertised);
        return ui.confirm(title, message);
      },
    });
    return { supervisor, view: bindLocalStatusView(supervisor, session) };
  });
  /** The last model asked for, so the working indicator can tell before the supervisor loads. */
  let requested: LaunchSpec | undefined;
  let sweptLeftBehind = false;

  /**
   * Lets go of servers an earlier extension instance of this pi held (before /reload, /new, …)
   * that the new session does not use: their keepers stop them unless another pi uses them.
   */
  const letGoOfUnused = (keepPort: number | undefined) => {
    for (const server of usedServers()) if (server.port !== keepPort) server.lease.close();
  };

  const select = (modelId: string) => {
    const model = byId.get(modelId);
    requested = model;
    if (model) void machinery.get().then(({ supervisor }) => supervisor.select(model));
    else notify(session.ui(), unknownModelSelectedText(modelId), "error");
  };

  return {
    /** session_start: pi restores a model only this way (no model_select for it). */
    sessionStarted(model: { provider: string; id: string } | undefined): void {
      machinery.loaded()?.redraw();
      const selected = model?.provider === LLAMAFILES_PROVIDER ? byId.get(model.id) : undefined;
      if (!machinery.requested()) letGoOfUnused(selected?.port);
      if (model?.provider === LLAMAFILES_PROVIDER) select(model.id);
      if (!sweptLeftBehind) {
        sweptLeftBehind = true;
        // Servers an earlier pi left running with nobody to stop them: stopped, with one notice.
        void import("./process/left-behind.ts")
          .then(({ stopServersLeftBehind }) => stopServersLeftBehind())
          .then((reports) => {
            for (const message of effectReportsText(reports)) session.tell(message.text, message.level);
          })
          .catch(() => undefined);
      }
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
      if (!machinery.requested()) {
        if (reason === "quit") letGoOfUnused(undefined);
        return;
      }
      const { supervisor, dispose } = await machinery.get();
      if (reason === "quit") await supervisor.quit();
      else supervisor.detach();
      dispose();
    },
    /** The provider's gate: a prompt waits here until its model's server is ready. */
    async ensureReady(model: LaunchSpec, signal: AbortSignal | undefined): Promise<void> {
      return (await machinery.get()).supervisor.ensureReady(model, signal);
    },
    status(): LocalServerStatus | undefined {
      return machinery.loaded()?.supervisor.status.current();
    },
    activity(): string | undefined {
      return activityPhrase(machinery.loaded()?.supervisor.status.current(), requested);
    },
  };
}
