/**
 * The local models this pi offers: the ones declared in models.json, then the discovered ones,
 * which a scan after start-up or `/llamafiles scan` replaces while pi runs. Everything that
 * looks a model up by id (the registration, the supervisor, a request, the footer) asks here,
 * so a model found later is as usable as one known at start.
 */
import type { LlamafileModel } from "./config.ts";

export interface LocalModels {
  /** Declared first, then discovered: the order /model lists them in. */
  all(): LlamafileModel[];
  discovered(): LlamafileModel[];
  /** A model offered now, or one offered earlier in this pi (its server may still run after a rescan dropped it). */
  get(id: string): LlamafileModel | undefined;
  /** The discovered models from now on; whether anything pi registers changed. */
  replaceDiscovered(next: LlamafileModel[]): boolean;
}

export function localModels(declared: LlamafileModel[]): LocalModels {
  let found: LlamafileModel[] = [];
  let byId = new Map(declared.map((model) => [model.id, model]));
  const earlier = new Map<string, LlamafileModel>();
  return {
    all: () => [...declared, ...found],
    discovered: () => found,
    get: (id) => byId.get(id) ?? earlier.get(id),
    replaceDiscovered(next) {
      // At start there is nothing to compare with: the comparison costs more than the models' registration.
      const changed = found.length === 0 ? next.length > 0 : JSON.stringify(next) !== JSON.stringify(found);
      for (const model of found) earlier.set(model.id, model);
      found = next;
      byId = new Map([...declared, ...found].map((model) => [model.id, model]));
      return changed;
    },
  };
}
