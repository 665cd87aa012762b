/**
 * Which router a command argument means, when several are configured (pure: the commands ask
 * and tell). A model is given as `<id>` (the router that lists it; several: the user picks) or
 * `<server>/<id>`, where the server is a router's short name or its provider name. An id may hold
 * a `/` itself (a router's Hugging Face cache: `org/repo:quant`): an id a router lists wins over
 * the prefix. With one router, every argument means it, as before there were several.
 */

/** A router as a choice sees it. */
export interface RouterRef {
  name: string;
  provider: string;
}

export type ModelChoice<R> =
  | { kind: "found"; router: R; id: string }
  /** The id is on several routers: ask, or say how to tell them apart. */
  | { kind: "ambiguous"; id: string; routers: R[] }
  | { kind: "unknown-router"; given: string; id: string }
  /** No router lists the id; `known` in the `<server>/<id>` form. */
  | { kind: "unknown"; id: string; known: string[] };

/** The router named `given` (its short name or its provider name). */
export function routerNamed<R extends RouterRef>(given: string, routers: readonly R[]): R | undefined {
  return routers.find((router) => router.name === given || router.provider === given);
}

/** The router(s) of a model argument; `idsOf` gives the ids a router lists. */
export function chooseModelRouter<R extends RouterRef>(
  argument: string,
  routers: readonly R[],
  idsOf: (router: R) => readonly string[],
): ModelChoice<R> {
  // A listed id wins over a <server>/ prefix: ids of a router's Hugging Face cache hold a "/" (org/repo:quant).
  const holders = routers.filter((router) => idsOf(router).includes(argument));
  if (holders.length === 1) return { kind: "found", router: holders[0]!, id: argument };
  if (holders.length > 1) return { kind: "ambiguous", id: argument, routers: holders };
  const slash = argument.indexOf("/");
  if (slash >= 0) {
    const given = argument.slice(0, slash);
    const router = routerNamed(given, routers);
    if (router) return { kind: "found", router, id: argument.slice(slash + 1) };
    // Either a router that does not exist (box9/tiny-a) or an id nobody lists (org/repo:quant): the words say both.
    if (routers.length > 1) return { kind: "unknown-router", given, id: argument };
  }
  if (routers.length === 1) return { kind: "found", router: routers[0]!, id: argument };
  return { kind: "unknown", id: argument, known: routers.flatMap((router) => idsOf(router).map((id) => `${router.name}/${id}`)) };
}

export interface Completion {
  value: string;
  label: string;
  description: string;
}

/**
 * Tab completion of a model argument: the ids (with one router, as before), and among several
 * both forms, `<id>` (saying which routers list it) and `<server>/<id>`, filtered by the prefix.
 */
export function modelCompletions<R extends RouterRef>(
  prefix: string,
  routers: readonly R[],
  listed: (router: R) => ReadonlyArray<{ id: string; status: string }>,
): Completion[] {
  const item = (value: string, description: string) => ({ value, label: value, description });
  const matching = (items: Completion[]) => items.filter((candidate) => candidate.value.startsWith(prefix));
  if (routers.length === 1) return matching(listed(routers[0]!).map((model) => item(model.id, model.status)));
  const holders = new Map<string, string[]>();
  for (const router of routers) for (const { id } of listed(router)) holders.set(id, [...(holders.get(id) ?? []), router.name]);
  const plain = [...holders].map(([id, names]) => item(id, `on ${names.join(", ")}`));
  const qualified = routers.flatMap((router) => listed(router).map((model) => item(`${router.name}/${model.id}`, model.status)));
  return matching([...plain, ...qualified]);
}
