/** Shared pieces of the model-based tests (tests/model/): event offers, transition names, coverage. */
import type { AnyEventObject, AnyStateMachine, AnyStateNode, AnyTransitionDefinition, Snapshot } from "xstate";
import { getStateNodes } from "xstate/graph";

/** The event types the active state nodes of `snapshot` have transitions for. */
export function acceptedEventTypes(snapshot: Snapshot<unknown> & { _nodes?: AnyStateNode[] }): string[] {
  const accepted = new Set<string>();
  for (const node of snapshot._nodes ?? []) for (const type of node.transitions.keys()) accepted.add(type);
  return [...accepted];
}

/** A transition's name that is the same in a machine and in its `.provide()`d copy. */
export function transitionKey(t: AnyTransitionDefinition): string {
  const siblings = t.eventType ? (t.source.transitions.get(t.eventType) ?? []) : (t.source.always ?? []);
  const guard = t.guard ? ` [${typeof t.guard === "object" && "type" in t.guard ? t.guard.type : "inline guard"}]` : "";
  const target = t.target?.map((n) => n.id).join(",") ?? "(no state change)";
  return `${t.source.id} --${t.eventType || "always"}${guard}--> ${target} (#${siblings.indexOf(t) + 1})`;
}

/** Collects the transitions an actor takes and the states it enters (pass `inspect` to createActor). */
export function coverageRecorder(rootId: string, initial: string) {
  const fired = new Set<string>();
  const visited = new Set<string>([rootId, `${rootId}.${initial}`]);
  return {
    inspect(event: { type: string }) {
      if (event.type !== "@xstate.microstep") return;
      const microstep = event as unknown as { _transitions: AnyTransitionDefinition[]; snapshot: { _nodes?: AnyStateNode[] } };
      for (const transition of microstep._transitions) {
        fired.add(transitionKey(transition));
        // Transient states (left at once by `always`) appear only as targets.
        for (const node of transition.target ?? []) for (let n: AnyStateNode | undefined = node; n; n = n.parent) visited.add(n.id);
      }
      for (const node of microstep.snapshot._nodes ?? []) visited.add(node.id);
    },
    /** States and transitions of `machine` that no replay exercised. */
    missing(machine: AnyStateMachine) {
      const nodes = getStateNodes(machine.root);
      const transitions = nodes.flatMap((node) => [...[...node.transitions.values()].flat(), ...(node.always ?? [])]);
      return {
        missingStates: nodes.map((n) => n.id).filter((id) => !visited.has(id)),
        missingTransitions: transitions.map(transitionKey).filter((key) => !fired.has(key)),
        transitionCount: transitions.length,
      };
    },
  };
}

/** Serializes an event for path keys, with launch specs shortened to their id. */
export const serializeEvent = (event: AnyEventObject) => JSON.stringify(event, (key, value) => (key === "model" && value?.id ? value.id : value));
