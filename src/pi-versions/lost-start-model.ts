/**
 * pi can start a session without the model it was asked for when that model belongs to a native
 * provider (the short `providers.llamafiles` block, src/llamafiles/provider.ts). Such a provider
 * is available only once an availability pass has checked it, and pi runs these passes in the
 * background; a pass that starts later makes an earlier one drop its result. Seen on pi 1.6.0
 * (about once in ten full test runs on a busy 2-core machine): the pass pi awaits before choosing
 * the start model lost to the one `registerProvider` began, so the session started with no model
 * at all although settings (or the resumed session) named a llamafiles model.
 *
 * At session_start, with pi's placeholder model (no model chosen), this takes the lost one back:
 * the model named by `--model`, else by the resumed session, else by settings, when it is this
 * provider's and pi knows it. pi's own availability pass is awaited first (local only:
 * models.json and stored keys, no network). Any other situation is left exactly as pi made it;
 * when pi fell back to another provider's model, that model stays.
 */
import type { ExtensionAPI, ExtensionContext } from "@earendil-works/pi-coding-agent";
import type { StartModel } from "../pi-session/start-model.ts";

/** How often an availability pass is awaited before giving up (each may lose to a newer one, and the newest wins). */
const ATTEMPTS = 3;

type Context = Pick<ExtensionContext, "model" | "modelRegistry" | "sessionManager">;

/** pi's "no model": the placeholder its agent starts with, which no provider has. */
const PLACEHOLDER_PROVIDER = "unknown";

/**
 * The model pi was asked to start with, in pi's own order: `--model`, else the resumed
 * session's last model change (only a session with messages is resumed), else settings.
 */
function wantedModel(ctx: Context, start: StartModel | undefined): StartModel | undefined {
  if (start?.fromCommandLine) return start;
  const branch = ctx.sessionManager.getBranch();
  if (branch.some((entry) => entry.type === "message")) {
    for (let i = branch.length - 1; i >= 0; i--) {
      const entry = branch[i]!;
      if (entry.type === "model_change") return { provider: entry.provider, id: entry.modelId };
    }
  }
  return start;
}

/** Resolves once done; never throws (pi's session goes on as it is). */
export async function restoreLostStartModel(
  pi: Pick<ExtensionAPI, "setModel">,
  ctx: Context,
  provider: string,
  start: StartModel | undefined,
): Promise<void> {
  try {
    // Only pi's "no model": a model pi made up for `--model provider/new-id` is the user's choice.
    if (ctx.model && ctx.model.provider !== PLACEHOLDER_PROVIDER) return;
    const wanted = wantedModel(ctx, start);
    if (wanted?.provider !== provider) return;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await ctx.modelRegistry.refresh({ allowNetwork: false });
      const model = ctx.modelRegistry.find(provider, wanted.id);
      if (!model) return;
      if (await pi.setModel(model)) return;
    }
  } catch {
    // A pi without these calls, or one that refused: the session keeps no model, as pi decided.
  }
}
