/**
 * The ai-server slash commands: status, refresh, load, unload over mTLS; ctx, preset,
 * restart over SSH. They work in every mode that runs commands: with a UI they notify;
 * without one they print, and mutating commands refuse, saying why.
 */
import type { ExtensionAPI, ExtensionCommandContext } from "@earendil-works/pi-coding-agent";
import { reply } from "../pi-session/notify.ts";
import { changeContextSize } from "./ctx-change.ts";
import { ctxSizeFromArgs, isPlaceholder } from "./discovery.ts";
import { argumentProblemText, commandText, errorText, inUseText, statusTable } from "./messages.ts";
import type { AiServerSession } from "./session.ts";
import { type ArgumentProblem, checkModelId, parseCtxSize, readPresetFile } from "./ssh-admin.ts";

/** An AbortSignal that Esc (raw terminal input) aborts while `run` is under way. */
async function cancellableByEsc(ctx: ExtensionCommandContext, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const stopListening = ctx.hasUI
    ? ctx.ui.onTerminalInput((data) => {
        if (data !== "\x1b") return undefined;
        controller.abort(new Error("cancelled with Esc"));
        return { consume: true };
      })
    : () => {};
  try {
    await run(controller.signal);
  } finally {
    stopListening();
  }
}

/** The commands and what each does, in pi's command list. */
const COMMANDS = {
  "ai-server-status": "Models on the llama.cpp router: status, ctx size, placeholders",
  "ai-server-refresh": "Discover the router's models again and re-register the ai-server provider",
  "ai-server-load": "Load a model on the router: /ai-server-load <id>",
  "ai-server-unload": "Unload a model on the router: /ai-server-unload <id>",
  "ai-server-ctx": "Set a model's ctx-size in the router preset (SSH), apply it and verify (Esc cancels): /ai-server-ctx <id> <size>",
  "ai-server-preset": "Print the router's preset file (SSH)",
  "ai-server-restart": "systemctl --user restart llama-server.service on the router host (SSH), then re-discover",
} as const;

/** Without usable certificate material: every command exists and says what is missing. */
export function registerCommandsSayingWhy(pi: ExtensionAPI, reason: string): void {
  for (const [name, description] of Object.entries(COMMANDS))
    pi.registerCommand(name, { description, handler: async (_args, ctx) => reply(ctx, reason, "error") });
}

export function registerAiServerCommands(pi: ExtensionAPI, remote: AiServerSession): void {
  const { settings } = remote;
  const completeIds = (prefix: string) => {
    if (prefix.includes(" ")) return null;
    const items = remote
      .lastListing()
      .filter((model) => model.id.startsWith(prefix))
      .map((model) => ({ value: model.id, label: model.id, description: model.status?.value ?? "" }));
    return items.length > 0 ? items : null;
  };
  /** The live list (ids are checked against the router, not a stale cache); the cache if it cannot be reached. */
  const freshIds = async () => {
    await remote.rediscover().catch(() => undefined);
    return remote.lastListing().map((model) => model.id);
  };
  const words = (args: string) => args.trim().split(/\s+/).filter(Boolean);
  const refuse = (ctx: ExtensionCommandContext, problem: ArgumentProblem) => reply(ctx, argumentProblemText(problem), "error");
  const confirm = async (
    ctx: ExtensionCommandContext,
    question: { title: string; message: string },
    what: string,
    signal?: AbortSignal,
  ) => {
    if (!ctx.hasUI) {
      reply(ctx, commandText.needsConfirmation(what), "error");
      return false;
    }
    if (await ctx.ui.confirm(question.title, question.message, { signal })) return true;
    if (!signal?.aborted) reply(ctx, commandText.cancelled(what));
    return false;
  };
  const needSsh = (ctx: ExtensionCommandContext): string | undefined => {
    if (settings.sshHost) return settings.sshHost.value;
    reply(ctx, commandText.needsSsh, "error");
    return undefined;
  };
  const ctxShown = async (id: string) =>
    ctxSizeFromArgs((await (await remote.supervisor()).listModels()).find((model) => model.id === id) ?? { id });
  const reselect = async (ctx: ExtensionCommandContext) => {
    if (ctx.model?.provider !== remote.provider) return;
    // The session keeps its old Model object after a re-registration.
    const fresh = ctx.modelRegistry.find(remote.provider, ctx.model.id);
    if (fresh) await pi.setModel(fresh);
  };

  pi.registerCommand("ai-server-status", {
    description: COMMANDS["ai-server-status"],
    handler: async (_args, ctx) => {
      try {
        const { listing } = await remote.rediscover();
        const rows = listing.map((model) => ({
          model,
          ctxSize: ctxSizeFromArgs(model) ?? model.meta?.n_ctx,
          placeholder: isPlaceholder(model),
        }));
        const now = remote.status();
        const inUse =
          now?.phase === "ready" && now.modelId
            ? inUseText(
                now.modelId,
                remote.feature.servedModels()?.model(now.modelId),
                now.props,
                remote.meter.last(`${remote.provider}/${now.modelId}`),
              )
            : undefined;
        reply(ctx, [statusTable(settings.url, rows), ...(inUse ? [inUse] : [])].join("\n"));
      } catch (error) {
        reply(ctx, errorText(error, settings), "error");
      }
    },
  });

  pi.registerCommand("ai-server-refresh", {
    description: COMMANDS["ai-server-refresh"],
    handler: async (_args, ctx) => {
      const before = new Set(remote.lastListing().map((model) => model.id));
      try {
        const { models, listing } = await remote.rediscover();
        await reselect(ctx);
        const now = new Set(listing.map((model) => model.id));
        const added = [...now].filter((id) => !before.has(id));
        const removed = [...before].filter((id) => !now.has(id));
        reply(ctx, commandText.refreshed(models.length, added, removed, listing.length - models.length));
      } catch (error) {
        reply(ctx, errorText(error, settings), "error");
      }
    },
  });

  pi.registerCommand("ai-server-load", {
    description: COMMANDS["ai-server-load"],
    getArgumentCompletions: completeIds,
    handler: async (args, ctx) => {
      const [id, extra] = words(args);
      if (!id || extra) return reply(ctx, commandText.usage("/ai-server-load <id>"), "error");
      const invalid = checkModelId(id, await freshIds());
      if (invalid) return refuse(ctx, invalid);
      const started = Date.now();
      try {
        await (await remote.supervisor()).ensureReady(id);
        reply(ctx, commandText.loaded(id, (Date.now() - started) / 1000, await ctxShown(id)));
      } catch (error) {
        reply(ctx, errorText(error, settings), "error");
      }
    },
  });

  pi.registerCommand("ai-server-unload", {
    description: COMMANDS["ai-server-unload"],
    getArgumentCompletions: completeIds,
    handler: async (args, ctx) => {
      const [id, extra] = words(args);
      if (!id || extra) return reply(ctx, commandText.usage("/ai-server-unload <id>"), "error");
      const invalid = checkModelId(id, await freshIds());
      if (invalid) return refuse(ctx, invalid);
      try {
        await (await remote.supervisor()).unloadAndWait(id);
        reply(ctx, commandText.unloaded(id));
      } catch (error) {
        reply(ctx, errorText(error, settings), "error");
      }
    },
  });

  pi.registerCommand("ai-server-ctx", {
    description: COMMANDS["ai-server-ctx"],
    getArgumentCompletions: completeIds,
    handler: async (args, ctx) => {
      const [id, sizeText, extra] = words(args);
      if (!id || !sizeText || extra) return reply(ctx, commandText.usage("/ai-server-ctx <id> <size>"), "error");
      const syntax = checkModelId(id, []);
      if (syntax)
        return refuse(
          ctx,
          checkModelId(
            id,
            remote.lastListing().map((model) => model.id),
          )!,
        );
      const size = parseCtxSize(sizeText);
      if (typeof size !== "number") return refuse(ctx, size);
      // The size now shown comes from the live list: an unreachable router or an id it does not list ends here.
      const found = await remote.rediscover().then(
        ({ listing }) => ({ listing }),
        (error: unknown) => ({ error }),
      );
      if ("error" in found) return reply(ctx, errorText(found.error, settings), "error");
      const { listing } = found;
      const model = listing.find((candidate) => candidate.id === id);
      if (!model) return refuse(ctx, { code: "unknown-id", id, knownIds: listing.map((candidate) => candidate.id) });
      const host = needSsh(ctx);
      if (!host) return;
      if (!ctx.hasUI) return reply(ctx, commandText.needsConfirmation("/ai-server-ctx"), "error");
      await cancellableByEsc(ctx, (signal) =>
        changeContextSize(
          remote,
          { id, size, before: ctxSizeFromArgs(model), host },
          {
            say: (text, level) => reply(ctx, text, level),
            confirm: (question, what, abort) => confirm(ctx, question, what, abort),
            reselect: () => reselect(ctx),
          },
          signal,
        ),
      );
    },
  });

  pi.registerCommand("ai-server-preset", {
    description: COMMANDS["ai-server-preset"],
    handler: async (_args, ctx) => {
      const host = needSsh(ctx);
      if (!host) return;
      try {
        reply(ctx, commandText.preset(settings.presetPath, host, await readPresetFile(host, settings.presetPath)));
      } catch (error) {
        reply(ctx, errorText(error, settings), "error");
      }
    },
  });

  pi.registerCommand("ai-server-restart", {
    description: COMMANDS["ai-server-restart"],
    handler: async (_args, ctx) => {
      const host = needSsh(ctx);
      if (!host) return;
      if (!(await confirm(ctx, commandText.restartQuestion(host), "/ai-server-restart"))) return;
      const started = Date.now();
      try {
        // The chart forgets what the router had loaded once it answers again.
        await (await remote.supervisor()).restartRouter(host);
        const { models } = await remote.rediscover();
        await reselect(ctx);
        reply(ctx, commandText.restarted((Date.now() - started) / 1000, models.length));
      } catch (error) {
        reply(ctx, errorText(error, settings), "error");
      }
    },
  });
}
