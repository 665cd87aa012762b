/**
 * What a provider's servers said about their models, applied to pi: the registry entry (and
 * the session's model, which pi keeps as its own copy) take the served context size and
 * input; the differences and a context too small for pi's own prompt are told once per model
 * and server start, never at every prompt.
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import type { ServerProps } from "../../machines/server-props.ts";
import { type ContextFix, findingText, smallContextText } from "../llama-cpp/messages.ts";
import { type DeclaredModel, reconcile, type ServedModel, type ServedOverride, tooSmallContext } from "../llama-cpp/model-facts.ts";
import type { SessionUi } from "./session-ui.ts";

export interface ServedModelsOptions {
  pi: Pick<ExtensionAPI, "setModel" | "getAllTools" | "getActiveTools">;
  session: SessionUi;
  provider: string;
  defaults: { contextWindow: number; maxTokens: number };
  fix: ContextFix;
  /** Registers the provider again; it reads `override(id)` for every model. */
  reregister(): void;
}

export function servedModels(options: ServedModelsOptions) {
  const served = new Map<string, { model: ServedModel; override: ServedOverride }>();
  const told = new Map<string, string>();

  /** pi's prompt as pi-ai counts it: the system prompt plus the active tools' definitions. */
  const promptChars = () => {
    const active = new Set(options.pi.getActiveTools());
    const tools = options.pi
      .getAllTools()
      .filter((tool) => active.has(tool.name))
      .map((tool) => ({ name: tool.name, description: tool.description, parameters: tool.parameters }));
    return (options.session.systemPrompt() ?? "").length + JSON.stringify(tools).length;
  };

  /** The session keeps its own copy of the model: give it the registry's new one. */
  const refreshSessionModel = (id: string) => {
    const current = options.session.model();
    if (current?.provider !== options.provider || current.id !== id) return;
    const updated = options.session.findModel(options.provider, id);
    if (updated) void options.pi.setModel(updated).catch(() => undefined);
  };

  return {
    /** What the server of `id` changed of its registered model (only what it said); undefined before it said anything. */
    override(id: string): ServedOverride | undefined {
      return served.get(id)?.override;
    },
    /** What pi uses for `id` since its server said what it serves. */
    model(id: string): ServedModel | undefined {
      return served.get(id)?.model;
    },
    /** A new server start (or load) of `id`: what it says is told again. */
    forget(id: string): void {
      told.delete(id);
    },
    /** The server of `id` is ready and said `props` (an empty object when it said nothing). */
    learn(id: string, displayName: string, declared: DeclaredModel, props: ServerProps): void {
      const { model, override, findings } = reconcile(declared, options.defaults, props);
      const before = served.get(id)?.override ?? {};
      served.set(id, { model, override });
      if (JSON.stringify(before) !== JSON.stringify(override)) {
        options.reregister();
        refreshSessionModel(id);
      }
      const key = JSON.stringify([declared, props]);
      if (told.get(id) === key) return;
      told.set(id, key);
      for (const finding of findings)
        options.session.tell(
          findingText(displayName, finding, options.fix, props),
          finding.kind === "context-differs" ? "info" : "warning",
        );
      const room = tooSmallContext(model.contextWindow, promptChars());
      if (room) options.session.tell(smallContextText(displayName, id, room, options.fix), "warning");
    },
  };
}

export type ServedModels = ReturnType<typeof servedModels>;
