/**
 * The ai-server slash commands, registered once whatever the number of routers: status,
 * refresh, load, unload over mTLS; ctx, preset, restart over SSH. A model argument finds its
 * router (src/ai-server/command-targets.ts): `<id>` on the one router that lists it (several: a
 * select dialog, or without a UI the words to tell them apart), or `<server>/<id>`. They work in
 * every mode that runs commands: with a UI they notify; without one they print, and mutating
 * commands refuse, saying why. A router without usable certificate files answers every command
 * with the reason.
 */
import type { ExtensionAPI, ExtensionCommandContext } from "@earendil-works/pi-coding-agent";
import { reply } from "../pi-session/notify.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import { type CommandRouter, commandTargets } from "./command-targets.ts";
import { changeContextSize } from "./ctx-change.ts";
import { ctxSizeFromArgs, isPlaceholder } from "./discovery.ts";
import { argumentProblemText, commandWords, errorText, inUseText, routersText, statusTable } from "./messages.ts";
import { routerNamed } from "./router-choice.ts";
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
  "ai-server-status": "Models on the llama.cpp router(s): status, ctx size, placeholders: /ai-server-status [<server>]",
  "ai-server-refresh": "Discover the router's models again and re-register its provider: /ai-server-refresh [<server>]",
  "ai-server-load": "Load a model on its router: /ai-server-load <id> or <server>/<id>",
  "ai-server-unload": "Unload a model on its router: /ai-server-unload <id> or <server>/<id>",
  "ai-server-ctx":
    "Set a model's ctx-size in its router's preset (SSH), apply it and verify (Esc cancels): /ai-server-ctx <id> or <server>/<id>, then <size>",
  "ai-server-preset": "Print the router's preset file (SSH): /ai-server-preset [<server>]",
  "ai-server-restart":
    "systemctl --user restart llama-server.service on the router host (SSH), then re-discover: /ai-server-restart [<server>]",
} as const;

export function registerAiServerCommands(pi: ExtensionAPI, routers: readonly CommandRouter[]): void {
  const several = routers.length > 1;
  const words = (args: string) => args.trim().split(/\s+/).filter(Boolean);
  // The words of one router's commands (its settings name the files, variables and host they mention).
  const textFor = (router: CommandRouter) => commandWords(router.settings);
  const refuse = (ctx: ExtensionCommandContext, router: CommandRouter, problem: ArgumentProblem) =>
    reply(ctx, argumentProblemText(problem, router.settings), "error");
  const { listedIds, completeModels, completeRouters, modelTarget, routerTarget } = commandTargets(routers);

  const confirm = async (
    ctx: ExtensionCommandContext,
    router: CommandRouter,
    question: { title: string; message: string },
    what: string,
    signal?: AbortSignal,
  ) => {
    if (!ctx.hasUI) {
      reply(ctx, textFor(router).needsConfirmation(what), "error");
      return false;
    }
    if (await ctx.ui.confirm(question.title, question.message, { signal })) return true;
    if (!signal?.aborted) reply(ctx, textFor(router).cancelled(what));
    return false;
  };
  const needSsh = (ctx: ExtensionCommandContext, router: CommandRouter): string | undefined => {
    if (router.settings.sshHost) return router.settings.sshHost.value;
    reply(ctx, textFor(router).needsSsh, "error");
    return undefined;
  };
  const ctxShown = async (session: AiServerSession, id: string) =>
    ctxSizeFromArgs((await (await session.supervisor()).listModels()).find((model) => model.id === id) ?? { id });
  /** The session keeps its old Model object after a re-registration: give it the new one. */
  const reselect = async (ctx: ExtensionCommandContext, sessions: readonly AiServerSession[]) => {
    const session = sessions.find((candidate) => candidate.provider === ctx.model?.provider);
    if (!session || !ctx.model) return;
    const fresh = ctx.modelRegistry.find(session.provider, ctx.model.id);
    if (fresh) await pi.setModel(fresh);
  };
  /** The routers a command for "all, or the one named" means; undefined when the name is unknown (said). */
  const namedOrAll = (ctx: ExtensionCommandContext, args: string, usage: string): readonly CommandRouter[] | undefined => {
    const [name, extra] = words(args);
    if (extra) return void reply(ctx, textFor(routers[0]!).usage(usage), "error");
    if (!name) return routers;
    const router = routerNamed(name, routers);
    if (!router) return void reply(ctx, routersText.unknownRouter(name, routers), "error");
    return [router];
  };
  /** One reply for several routers: an error when none worked, a warning when some did not. */
  const replyAll = (ctx: ExtensionCommandContext, parts: ReadonlyArray<{ text: string; ok: boolean }>) => {
    const failed = parts.filter((part) => !part.ok).length;
    const level = failed === 0 ? "info" : failed === parts.length ? "error" : "warning";
    reply(ctx, parts.map((part) => part.text).join("\n\n"), level);
  };

  pi.registerCommand("ai-server-status", {
    description: COMMANDS["ai-server-status"],
    getArgumentCompletions: completeRouters,
    handler: async (args, ctx) => {
      const shown = namedOrAll(ctx, args, "/ai-server-status [<server>]");
      if (!shown) return;
      const timeoutMs = shown.length > 1 ? aiServerTimeouts.discoveryMs : undefined;
      const parts = await Promise.all(
        shown.map(async (router) => {
          const remote = router.remote;
          if (!remote) return { text: router.unusable ?? "", ok: false };
          try {
            const { listing } = await remote.rediscover(timeoutMs);
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
            return { text: [statusTable(router.settings, rows), ...(inUse ? [inUse] : [])].join("\n"), ok: true };
          } catch (error) {
            return { text: errorText(error, router.settings), ok: false };
          }
        }),
      );
      replyAll(ctx, parts);
    },
  });

  pi.registerCommand("ai-server-refresh", {
    description: COMMANDS["ai-server-refresh"],
    getArgumentCompletions: completeRouters,
    handler: async (args, ctx) => {
      const targets = namedOrAll(ctx, args, "/ai-server-refresh [<server>]");
      if (!targets) return;
      const timeoutMs = targets.length > 1 ? aiServerTimeouts.discoveryMs : undefined;
      const parts = await Promise.all(
        targets.map(async (router) => {
          const remote = router.remote;
          if (!remote) return { text: router.unusable ?? "", ok: false };
          const before = new Set(remote.lastListing().map((model) => model.id));
          try {
            const { models, listing } = await remote.rediscover(timeoutMs);
            const now = new Set(listing.map((model) => model.id));
            const added = [...now].filter((id) => !before.has(id));
            const removed = [...before].filter((id) => !now.has(id));
            return { text: textFor(router).refreshed(models.length, added, removed, listing.length - models.length), ok: true };
          } catch (error) {
            return { text: errorText(error, router.settings), ok: false };
          }
        }),
      );
      await reselect(
        ctx,
        targets.flatMap((router) => (router.remote ? [router.remote] : [])),
      );
      replyAll(ctx, parts);
    },
  });

  pi.registerCommand("ai-server-load", {
    description: COMMANDS["ai-server-load"],
    getArgumentCompletions: completeModels,
    handler: async (args, ctx) => {
      const [argument, extra] = words(args);
      if (!argument || extra) return reply(ctx, textFor(routers[0]!).usage("/ai-server-load <id>"), "error");
      const target = await modelTarget(ctx, "/ai-server-load", argument, true);
      if (!target) return;
      const { router, session, id } = target;
      const invalid = checkModelId(id, listedIds(router));
      if (invalid) return refuse(ctx, router, invalid);
      const started = Date.now();
      try {
        await (await session.supervisor()).ensureReady(id);
      } catch (error) {
        return reply(ctx, errorText(error, router.settings), "error");
      }
      const seconds = (Date.now() - started) / 1000;
      // The load worked: a listing that fails now only leaves the context size out.
      reply(ctx, textFor(router).loaded(id, seconds, await ctxShown(session, id).catch(() => undefined)));
    },
  });

  pi.registerCommand("ai-server-unload", {
    description: COMMANDS["ai-server-unload"],
    getArgumentCompletions: completeModels,
    handler: async (args, ctx) => {
      const [argument, extra] = words(args);
      if (!argument || extra) return reply(ctx, textFor(routers[0]!).usage("/ai-server-unload <id>"), "error");
      const target = await modelTarget(ctx, "/ai-server-unload", argument, true);
      if (!target) return;
      const { router, session, id } = target;
      const invalid = checkModelId(id, listedIds(router));
      if (invalid) return refuse(ctx, router, invalid);
      try {
        await (await session.supervisor()).unloadAndWait(id);
        reply(ctx, textFor(router).unloaded(id));
      } catch (error) {
        reply(ctx, errorText(error, router.settings), "error");
      }
    },
  });

  pi.registerCommand("ai-server-ctx", {
    description: COMMANDS["ai-server-ctx"],
    getArgumentCompletions: completeModels,
    handler: async (args, ctx) => {
      const [argument, sizeText, extra] = words(args);
      if (!argument || !sizeText || extra) return reply(ctx, textFor(routers[0]!).usage("/ai-server-ctx <id> <size>"), "error");
      const bare = argument.slice(argument.indexOf("/") + 1);
      // Nothing that is not an id goes further, not even to a router.
      if (checkModelId(bare, []))
        return refuse(
          ctx,
          routers[0]!,
          checkModelId(
            bare,
            routers.flatMap((router) => (several ? listedIds(router).map((id) => `${router.name}/${id}`) : listedIds(router))),
          )!,
        );
      const size = parseCtxSize(sizeText);
      if (typeof size !== "number") return refuse(ctx, routers[0]!, size);
      const target = await modelTarget(ctx, "/ai-server-ctx", argument, false);
      if (!target) return;
      const { router, session, id } = target;
      // The size now shown comes from the live list: an unreachable router or an id it does not list ends here.
      const found = await session.rediscover().then(
        ({ listing }) => ({ listing }),
        (error: unknown) => ({ error }),
      );
      if ("error" in found) return reply(ctx, errorText(found.error, router.settings), "error");
      const { listing } = found;
      const model = listing.find((candidate) => candidate.id === id);
      if (!model) return refuse(ctx, router, { code: "unknown-id", id, knownIds: listing.map((candidate) => candidate.id) });
      const host = needSsh(ctx, router);
      if (!host) return;
      if (!ctx.hasUI) return reply(ctx, textFor(router).needsConfirmation("/ai-server-ctx"), "error");
      await cancellableByEsc(ctx, (signal) =>
        changeContextSize(
          session,
          { id, size, before: ctxSizeFromArgs(model), host },
          {
            say: (text, level) => reply(ctx, text, level),
            confirm: (question, what, abort) => confirm(ctx, router, question, what, abort),
            reselect: () => reselect(ctx, [session]),
          },
          signal,
        ),
      );
    },
  });

  pi.registerCommand("ai-server-preset", {
    description: COMMANDS["ai-server-preset"],
    getArgumentCompletions: completeRouters,
    handler: async (args, ctx) => {
      const [argument, extra] = words(args);
      if (extra) return reply(ctx, textFor(routers[0]!).usage("/ai-server-preset [<server>]"), "error");
      const target = await routerTarget(ctx, "/ai-server-preset", argument);
      if (!target) return;
      const { router } = target;
      const host = needSsh(ctx, router);
      if (!host) return;
      const { presetPath } = router.settings;
      try {
        reply(ctx, textFor(router).preset(presetPath, host, await readPresetFile(host, presetPath)));
      } catch (error) {
        reply(ctx, errorText(error, router.settings), "error");
      }
    },
  });

  pi.registerCommand("ai-server-restart", {
    description: COMMANDS["ai-server-restart"],
    getArgumentCompletions: completeRouters,
    handler: async (args, ctx) => {
      const [argument, extra] = words(args);
      if (extra) return reply(ctx, textFor(routers[0]!).usage("/ai-server-restart [<server>]"), "error");
      const target = await routerTarget(ctx, "/ai-server-restart", argument);
      if (!target) return;
      const { router, session } = target;
      const host = needSsh(ctx, router);
      if (!host) return;
      if (!(await confirm(ctx, router, textFor(router).restartQuestion(host), "/ai-server-restart"))) return;
      const started = Date.now();
      // Esc stops the wait for the router, never the restart itself (the chart follows it).
      await cancellableByEsc(ctx, async (signal) => {
        try {
          // The chart forgets what the router had loaded once it answers again.
          await (await session.supervisor()).restartRouter(host, signal);
          const { models } = await session.rediscover();
          await reselect(ctx, [session]);
          reply(ctx, textFor(router).restarted((Date.now() - started) / 1000, models.length));
        } catch (error) {
          if (signal.aborted) return reply(ctx, textFor(router).restartNotWaitedFor(host), "warning");
          reply(ctx, errorText(error, router.settings), "error");
        }
      });
    },
  });
}
