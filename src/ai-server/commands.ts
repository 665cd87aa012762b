/**
 * The ai-server slash commands (seed §7): status, refresh, load, unload over mTLS; ctx,
 * preset, restart over SSH. They work in every mode that runs commands: with a UI they
 * notify; without one they print, and mutating commands refuse, saying why.
 */
import type { ExtensionAPI, ExtensionCommandContext } from "@earendil-works/pi-coding-agent";
import { AI_SERVER_PROVIDER } from "./config.ts";
import { ctxSizeFromArgs, isPlaceholder } from "./discovery.ts";
import type { AiServerRuntime } from "./extension.ts";
import type { RouterModel } from "./router-api.ts";
import { checkModelId, parseCtxSize, readPresetFile, restartRouterService, setPresetCtxSize } from "./ssh-admin.ts";

type Level = "info" | "warning" | "error";

function say(ctx: ExtensionCommandContext, message: string, level: Level = "info"): void {
  if (ctx.hasUI) ctx.ui.notify(message, level);
  else (level === "info" ? process.stdout : process.stderr).write(`${message}\n`);
}

/** The model table of /ai-server-status. */
export function statusTable(url: string, models: RouterModel[]): string {
  const rows = models.map((model) => {
    const status = model.status?.value ?? "?";
    const failed = model.status?.failed ? ` (last start failed, exit ${model.status.exit_code ?? "?"})` : "";
    const ctxSize = ctxSizeFromArgs(model) ?? model.meta?.n_ctx;
    return [model.id, status + failed, ctxSize ? String(ctxSize) : "-", isPlaceholder(model) ? "[no model path]" : ""];
  });
  const header = ["model", "status", "ctx", ""];
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  return [`ai-server ${url}: ${models.length} model(s)`, line(header), ...rows.map(line)].join("\n");
}

export function registerAiServerCommands(pi: ExtensionAPI, runtime: AiServerRuntime): void {
  const { settings, api } = runtime;
  const knownIds = () => runtime.lastListing().map((model) => model.id);
  const completeIds = (prefix: string) => {
    if (prefix.includes(" ")) return null;
    const items = runtime
      .lastListing()
      .filter((model) => model.id.startsWith(prefix))
      .map((model) => ({ value: model.id, label: model.id, description: model.status?.value ?? "" }));
    return items.length > 0 ? items : null;
  };
  /** The live list (ids are checked against the router, not a stale cache). */
  const freshIds = async () => {
    await runtime.rediscover().catch(() => undefined);
    return knownIds();
  };
  const words = (args: string) => args.trim().split(/\s+/).filter(Boolean);
  const confirm = async (ctx: ExtensionCommandContext, title: string, message: string, what: string) => {
    if (!ctx.hasUI) {
      say(ctx, `ai-server: ${what} needs a confirmation, and this mode has no UI to ask in. Run it in pi's TUI (or over RPC).`, "error");
      return false;
    }
    if (await ctx.ui.confirm(title, message)) return true;
    say(ctx, `ai-server: ${what} cancelled.`);
    return false;
  };
  const needSsh = (ctx: ExtensionCommandContext): string | undefined => {
    if (settings.sshHost) return settings.sshHost.value;
    say(ctx, "ai-server: this command runs over SSH: set AI_SERVER_SSH_HOST (e.g. ai-server@llama-box) or \"sshHost\" in ~/.pi/agent/ai-server.json.", "error");
    return undefined;
  };
  const waitHealthy = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await api.healthy()) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return false;
  };
  const ctxShown = async (id: string) => ctxSizeFromArgs((await api.list()).find((model) => model.id === id) ?? { id });
  const reselect = async (ctx: ExtensionCommandContext) => {
    if (ctx.model?.provider !== AI_SERVER_PROVIDER) return;
    // The session keeps its old Model object after a re-registration (DESIGN §5.6).
    const fresh = ctx.modelRegistry.find(AI_SERVER_PROVIDER, ctx.model.id);
    if (fresh) await pi.setModel(fresh);
  };

  pi.registerCommand("ai-server-status", {
    description: "Models on the llama.cpp router: status, ctx size, placeholders",
    handler: async (_args, ctx) => {
      try {
        const { listing } = await runtime.rediscover();
        say(ctx, statusTable(settings.url, listing));
      } catch (error) {
        say(ctx, (error as Error).message, "error");
      }
    },
  });

  pi.registerCommand("ai-server-refresh", {
    description: "Discover the router's models again and re-register the ai-server provider",
    handler: async (_args, ctx) => {
      const before = new Set(knownIds());
      try {
        const { models, listing } = await runtime.rediscover();
        await reselect(ctx);
        const now = new Set(listing.map((model) => model.id));
        const added = [...now].filter((id) => !before.has(id));
        const removed = [...before].filter((id) => !now.has(id));
        say(
          ctx,
          `ai-server: ${models.length} model(s) registered` +
            (added.length ? `; new: ${added.join(", ")}` : "") +
            (removed.length ? `; gone: ${removed.join(", ")}` : "") +
            (listing.length > models.length ? `; ${listing.length - models.length} placeholder(s) without a model path left out` : "") +
            ".",
        );
      } catch (error) {
        say(ctx, (error as Error).message, "error");
      }
    },
  });

  pi.registerCommand("ai-server-load", {
    description: "Load a model on the router: /ai-server-load <id>",
    getArgumentCompletions: completeIds,
    handler: async (args, ctx) => {
      const [id, extra] = words(args);
      if (!id || extra) return say(ctx, "usage: /ai-server-load <id>", "error");
      const invalid = checkModelId(id, await freshIds());
      if (invalid) return say(ctx, invalid, "error");
      const started = Date.now();
      try {
        await (await runtime.supervisor()).ensureReady(id);
        const ctxSize = await ctxShown(id);
        say(ctx, `ai-server: ${id} is loaded (${((Date.now() - started) / 1000).toFixed(1)} s${ctxSize ? `, ctx ${ctxSize}` : ""}).`);
      } catch (error) {
        say(ctx, (error as Error).message, "error");
      }
    },
  });

  pi.registerCommand("ai-server-unload", {
    description: "Unload a model on the router: /ai-server-unload <id>",
    getArgumentCompletions: completeIds,
    handler: async (args, ctx) => {
      const [id, extra] = words(args);
      if (!id || extra) return say(ctx, "usage: /ai-server-unload <id>", "error");
      const invalid = checkModelId(id, await freshIds());
      if (invalid) return say(ctx, invalid, "error");
      try {
        await (await runtime.supervisor()).unloadAndWait(id);
        say(ctx, `ai-server: ${id} is unloaded.`);
      } catch (error) {
        say(ctx, (error as Error).message, "error");
      }
    },
  });

  pi.registerCommand("ai-server-ctx", {
    description: "Set a model's ctx-size in the router preset (SSH), apply it and verify: /ai-server-ctx <id> <size>",
    getArgumentCompletions: completeIds,
    handler: async (args, ctx) => {
      const [id, sizeText, extra] = words(args);
      if (!id || !sizeText || extra) return say(ctx, "usage: /ai-server-ctx <id> <size>", "error");
      const invalid = checkModelId(id, await freshIds());
      if (invalid) return say(ctx, invalid, "error");
      const size = parseCtxSize(sizeText);
      if (typeof size === "string") return say(ctx, size, "error");
      const host = needSsh(ctx);
      if (!host) return;
      const before = ctxSizeFromArgs(runtime.lastListing().find((model) => model.id === id)!);
      const question = `Set ctx-size of ${id} to ${size} (now ${before ?? "unset"}) in ${settings.presetPath} on ${host}, then unload and load ${id}?`;
      if (!(await confirm(ctx, "Change context size", question, "/ai-server-ctx"))) return;
      try {
        const { previous } = await setPresetCtxSize(host, settings.presetPath, id, size);
        say(ctx, `ai-server: ${settings.presetPath} on ${host}: ctx-size of ${id} ${previous ?? "(unset)"} → ${size} (backup: ${settings.presetPath}.bak). Reloading ${id}…`);
        const supervisor = await runtime.supervisor();
        const reload = async () => {
          await supervisor.unloadAndWait(id).catch(() => undefined);
          // Newer routers re-read the preset on ?reload=1; the b8942 router only at start.
          await api.list({ reload: true });
          await supervisor.ensureReady(id);
          return ctxShown(id);
        };
        let shown = await reload();
        if (shown !== size) {
          say(ctx, `ai-server: after unload and load the router still shows ctx ${shown ?? "unknown"} for ${id}: it reads its preset only when it starts.`, "warning");
          const restart = await confirm(ctx, "Restart the router", `Restart llama-server.service on ${host} to apply ctx-size ${size}? Every loaded model is unloaded.`, "the router restart");
          if (!restart) return say(ctx, `ai-server: ${id} keeps ctx ${shown ?? "unknown"} until the router restarts (/ai-server-restart).`, "warning");
          await restartRouterService(host);
          if (!(await waitHealthy(120_000))) return say(ctx, `ai-server: the router did not answer /health within 120 s after the restart.`, "error");
          supervisor.deselect();
          await supervisor.ensureReady(id);
          shown = await ctxShown(id);
        }
        await runtime.rediscover();
        await reselect(ctx);
        say(ctx, `ai-server: the router now runs ${id} with ctx ${shown ?? "unknown"}${shown === size ? "." : ` (not ${size}: check the preset with /ai-server-preset).`}`, shown === size ? "info" : "warning");
      } catch (error) {
        say(ctx, (error as Error).message, "error");
      }
    },
  });

  pi.registerCommand("ai-server-preset", {
    description: "Print the router's preset file (SSH)",
    handler: async (_args, ctx) => {
      const host = needSsh(ctx);
      if (!host) return;
      try {
        say(ctx, `${settings.presetPath} on ${host}:\n${(await readPresetFile(host, settings.presetPath)).trimEnd()}`);
      } catch (error) {
        say(ctx, (error as Error).message, "error");
      }
    },
  });

  pi.registerCommand("ai-server-restart", {
    description: "systemctl --user restart llama-server.service on the router host (SSH), then re-discover",
    handler: async (_args, ctx) => {
      const host = needSsh(ctx);
      if (!host) return;
      if (!(await confirm(ctx, "Restart the router", `Run systemctl --user restart llama-server.service on ${host}? Every loaded model is unloaded.`, "/ai-server-restart"))) return;
      const started = Date.now();
      try {
        await restartRouterService(host);
        if (!(await waitHealthy(120_000))) return say(ctx, "ai-server: the router did not answer /health within 120 s after the restart.", "error");
        const { models } = await runtime.rediscover();
        await reselect(ctx);
        (await runtime.supervisor()).deselect();
        say(ctx, `ai-server: router restarted and healthy after ${((Date.now() - started) / 1000).toFixed(1)} s; ${models.length} model(s) registered.`);
      } catch (error) {
        say(ctx, (error as Error).message, "error");
      }
    },
  });
}
