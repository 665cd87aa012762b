/**
 * The `llamafiles` backend (src/backend/contract.ts): local servers pi starts, joins, adopts and
 * stops, one per configured model, kept warm within keepWarm and a memory budget. The fleet
 * statechart and its effects load on first use (src/llamafiles/supervisor.ts), its words right
 * after pi's start-up (src/llamafiles/messages.ts).
 */
import type { Api, Model } from "@earendil-works/pi-ai";
import type { FleetStatus } from "../../machines/local-fleet.machine.ts";
import type { Backend, ModelServing } from "../backend/contract.ts";
import { fetchKeepingTail } from "../llama-cpp/timings.ts";
import type { Conversation } from "../pi-session/session-ui.ts";
import { LLAMAFILES_PROVIDER, type LlamafilesConfig, modelDefaults } from "./config.ts";
import type { LocalModels } from "./local-models.ts";
import { toPiModel } from "./pi-model.ts";
import type { LocalNotice } from "./supervisor.ts";

export type LlamafilesBackend = Backend<FleetStatus, LocalNotice>;

/** `conversation`: the pi session now, whose conversation each server's slot keeps (src/llamafiles/prompt-cache/). */
export function llamafilesBackend(
  config: LlamafilesConfig,
  byId: LocalModels,
  register: () => void,
  conversation: () => Conversation | undefined = () => undefined,
): LlamafilesBackend {
  return {
    provider: LLAMAFILES_PROVIDER,
    // A session's start takes over the servers an earlier extension instance held (/reload);
    // with no local model at all there are none, and pi's start does not load the chart for nothing.
    get supervisedFromSessionStart() {
      return byId.all().length > 0;
    },
    async loadSupervisor(inspect) {
      const { createLocalSupervisor } = await import("./supervisor.ts");
      return createLocalSupervisor({
        // A scan after start-up, or /llamafiles scan, offers models the list below does not have.
        model: (id) => byId.get(id),
        inspect,
        fleet: { keepWarm: config.keepWarm, memoryBudgetBytes: config.memoryBudgetBytes, models: byId.all() },
        conversation,
      });
    },
    async loadWords() {
      const messages = await import("./messages.ts");
      return {
        footer: (fleet, { last }) => messages.footerText(fleet, fleet.shown.model && last(fleet.shown.model.id)),
        footerTicks: () => false,
        activity: (fleet, requested) => messages.activityPhrase(fleet, requested === undefined ? undefined : byId.get(requested)),
        notice(notice) {
          if (notice.kind === "unknown-model")
            return [{ text: messages.unknownModelSelectedText(notice.modelId), level: "error", channel: "notify" }];
          if (notice.kind === "quit-without-waiting")
            return [{ text: messages.quitWithoutWaitingText(notice.stillStopping, notice.waitedMs), level: "warning", channel: "stderr" }];
          return [messages.noticeMessage(notice)];
        },
        contextFix: messages.localContextFixFor((id) => byId.get(id)?.discovered !== undefined),
      };
    },
    shown: (fleet) => serving(fleet.shown),
    servings: (fleet) => fleet.servers.flatMap(({ status }) => serving(status) ?? []),
    declared(modelId) {
      const model = byId.get(modelId);
      return model && { name: model.name, declared: model.declared };
    },
    defaults: modelDefaults,
    planRequest(model, served, tail) {
      // pi's listed copy may carry models.json-layer defaults (the native registration): send ours.
      const ours = byId.get(model.id);
      const canonical = ours ? toPiModel(config, ours, served) : model;
      const requestModel = {
        ...model,
        baseUrl: canonical.baseUrl,
        compat: canonical.compat,
        maxTokens: canonical.maxTokens,
        contextWindow: canonical.contextWindow,
        input: canonical.input,
      } as Model<Api>;
      // A server whose prompt cache pi keeps answers in this pi's own slot (that code loads with the first such request).
      const kept = fetchKeepingTail(tail);
      const port = ours?.port;
      // The idle watch counts this pi's requests and answers under way (its only sign of use without GET /slots).
      const counted = port !== undefined && (ours?.promptCache || ours?.idleMs !== undefined);
      const fetch = counted
        ? (((input: string | URL | Request, init?: RequestInit) =>
            ours.promptCache
              ? import("./prompt-cache/pin-slot.ts").then(({ fetchPinningSlot }) => fetchPinningSlot(port, conversation, kept)(input, init))
              : import("./prompt-cache/session-slots.ts").then(({ noteRequest, whileAnswering }) => {
                  noteRequest(port, undefined);
                  return whileAnswering(port, () => kept(input, init));
                })) as typeof globalThis.fetch)
        : kept;
      return { model: requestModel, fetch, failureText: () => undefined };
    },
    reregister: register,
  };
}

function serving(status: FleetStatus["shown"]): ModelServing | undefined {
  return status.model ? { modelId: status.model.id, phase: status.phase, props: status.props } : undefined;
}
