/**
 * Which router a command means, when several are configured: a model argument (`<id>`, found on
 * the router that lists it; `<server>/<id>`), a router argument (its name, or one of its
 * models), or none (the only router, else a select dialog, else the words to choose). It asks the
 * user when it must and says why when it cannot; what an argument means is decided by the pure
 * src/ai-server/router-choice.ts. Also the completion of both kinds of argument.
 */
import type { ExtensionCommandContext } from "@earendil-works/pi-coding-agent";
import { reply } from "../pi-session/notify.ts";
import { terminalSafe } from "../pi-session/terminal-text.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import type { AiServerSettings } from "./config.ts";
import { routersText } from "./messages.ts";
import { chooseModelRouter, modelCompletions, routerNamed } from "./router-choice.ts";
import type { AiServerSession } from "./session.ts";
import { checkModelId } from "./ssh-admin.ts";

/** One configured router as the commands see it. */
export interface CommandRouter {
  name: string;
  provider: string;
  settings: AiServerSettings;
  /** Its session; undefined when its certificate files are unusable (`unusable` says why). */
  remote: AiServerSession | undefined;
  unusable: string | undefined;
}

export function commandTargets(routers: readonly CommandRouter[]) {
  const several = routers.length > 1;
  /** The ids a router lists (its fallback models when it was never reached or cannot be). */
  const idsOf = (router: CommandRouter): string[] => {
    const listed = router.remote?.lastListing().map((model) => model.id) ?? [];
    return listed.length > 0 ? listed : (router.remote?.offered() ?? router.settings.fallbackModels.map((model) => model.id));
  };
  /** What the router listed last: an id is checked against it (nothing listed yet: the router says when asked). */
  const listedIds = (router: CommandRouter) => router.remote?.lastListing().map((model) => model.id) ?? [];
  /** What completion offers: ids a command accepts (a router's list is a server answer: nothing else reaches the editor). */
  const listedOf = (router: CommandRouter) =>
    (router.remote
      ? router.remote.lastListing().map((model) => ({ id: model.id, status: terminalSafe(String(model.status?.value ?? "")) }))
      : router.settings.fallbackModels.map((model) => ({ id: model.id, status: "" }))
    ).filter((model) => !checkModelId(model.id, []));
  /** The live lists (ids are checked against the routers, not a stale cache); the cache of a router that cannot be reached. */
  const refresh = (targets: readonly CommandRouter[], timeoutMs?: number) =>
    Promise.all(targets.map((router) => router.remote?.rediscover(timeoutMs).catch(() => undefined)));
  const usable = (ctx: ExtensionCommandContext, router: CommandRouter): AiServerSession | undefined => {
    if (router.remote) return router.remote;
    reply(ctx, router.unusable ?? "", "error");
    return undefined;
  };
  const completeModels = (prefix: string) => {
    if (prefix.includes(" ")) return null;
    const items = modelCompletions(prefix, routers, listedOf);
    return items.length > 0 ? items : null;
  };
  const completeRouters = (prefix: string) => {
    if (!several || prefix.includes(" ")) return null;
    const items = routers
      .filter((router) => router.name.startsWith(prefix))
      .map((router) => ({ value: router.name, label: router.name, description: router.provider }));
    return items.length > 0 ? items : null;
  };
  const chooseAmong = async (ctx: ExtensionCommandContext, title: string, among: readonly CommandRouter[]) => {
    const options = among.map((router) => terminalSafe(routersText.choice({ ...router, url: router.settings.url })));
    const picked = await ctx.ui.select(terminalSafe(title), options);
    return picked === undefined ? undefined : among[options.indexOf(picked)];
  };

  /**
   * The router and id a model argument means, asking when two routers list the id; undefined
   * when it said why not. `fresh`: list the chosen router again first (the id is checked against it).
   */
  const modelTarget = async (
    ctx: ExtensionCommandContext,
    command: string,
    argument: string,
    fresh: boolean,
  ): Promise<{ router: CommandRouter; session: AiServerSession; id: string } | undefined> => {
    const slash = argument.indexOf("/");
    const named = (slash >= 0 ? routerNamed(argument.slice(0, slash), routers) : undefined) ?? (several ? undefined : routers[0]);
    // Among several routers an id without a router's name is looked up on all of them at once, each within the discovery bound.
    if (named) {
      if (fresh) await refresh([named]);
    } else await refresh(routers, aiServerTimeouts.discoveryMs);
    const choice = chooseModelRouter(argument, routers, idsOf);
    let router: CommandRouter | undefined;
    switch (choice.kind) {
      case "unknown-router":
        return void reply(ctx, routersText.unknownRouterOrModel(choice.given, choice.id, routers), "error");
      case "unknown":
        return void reply(ctx, routersText.unknownEverywhere(choice.id, choice.known), "error");
      case "ambiguous":
        if (!ctx.hasUI)
          return void reply(
            ctx,
            routersText.ambiguous(
              command,
              choice.id,
              choice.routers.map((holder) => holder.name),
            ),
            "error",
          );
        router = await chooseAmong(ctx, routersText.chooseModelRouter(command, choice.id), choice.routers);
        if (!router) return void reply(ctx, routersText.cancelled(command));
        break;
      case "found":
        router = choice.router;
    }
    const session = usable(ctx, router);
    return session && { router, session, id: choice.id };
  };

  /** The router a command that acts on a whole router means: named, or by one of its models, or (one router) the only one. */
  const routerTarget = async (ctx: ExtensionCommandContext, command: string, argument: string | undefined) => {
    let router: CommandRouter | undefined;
    if (!argument) {
      if (!several) router = routers[0];
      else if (!ctx.hasUI)
        return void reply(
          ctx,
          routersText.whichRouter(
            command,
            routers.map((candidate) => candidate.name),
          ),
          "error",
        );
      else {
        router = await chooseAmong(ctx, routersText.chooseRouter(command), routers);
        if (!router) return void reply(ctx, routersText.cancelled(command));
      }
    } else {
      router = routerNamed(argument, routers);
      // Not a router's name: a model names its router; neither, and the user most likely mistyped a name.
      const aModel = argument.includes("/") || !several || routers.some((candidate) => idsOf(candidate).includes(argument));
      if (!router && !aModel) return void reply(ctx, routersText.unknownRouter(argument, routers), "error");
      router ??= (await modelTarget(ctx, command, argument, false))?.router;
    }
    if (!router) return undefined;
    const session = usable(ctx, router);
    return session && { router, session };
  };

  return { listedIds, completeModels, completeRouters, modelTarget, routerTarget };
}
