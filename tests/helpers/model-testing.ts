/**
 * Shared pieces of the model-based tests (tests/model/): which events a state can take, which
 * transitions a step fired, and coverage of every state and transition. Only public XState
 * APIs (StateNode.path/transitions/always, snapshot.matches/can, machine.getTransitionData), so
 * an XState upgrade cannot silently change what counts as covered.
 */
import type { AnyEventObject, AnyMachineSnapshot, AnyStateMachine, AnyStateNode, AnyTransitionDefinition, StateValue } from "xstate";
import { getStateNodes } from "xstate/graph";

/** The root and every state node below it. */
export const allNodes = (machine: AnyStateMachine): AnyStateNode[] => [machine.root, ...getStateNodes(machine.root)];

const stateValueAt = (path: string[]): StateValue => (path.length === 1 ? path[0]! : { [path[0]!]: stateValueAt(path.slice(1)) });

/** Is `node` active in `snapshot`? (the root always is). */
export function isActive(snapshot: AnyMachineSnapshot, node: AnyStateNode): boolean {
  return node.path.length === 0 || snapshot.matches(stateValueAt(node.path) as never);
}

/** Every event type some transition of `machine` listens to (external, done/error of invokes, delays). */
export function eventTypesOf(machine: AnyStateMachine): string[] {
  return [...new Set(allNodes(machine).flatMap((node) => [...node.transitions.keys()]))];
}

/** Of the candidate events, those that make `snapshot` transition (guards included). */
export function enabled(snapshot: AnyMachineSnapshot, candidates: AnyEventObject[]): AnyEventObject[] {
  return candidates.filter((event) => snapshot.can(event));
}

/** A transition's name that is the same in a machine and in its `.provide()`d copy. */
export function transitionKey(t: AnyTransitionDefinition): string {
  const siblings = t.eventType ? (t.source.transitions.get(t.eventType) ?? []) : (t.source.always ?? []);
  const name = typeof t.guard === "string" ? t.guard : typeof t.guard === "object" && "type" in t.guard ? t.guard.type : "inline guard";
  const guard = t.guard ? ` [${name}]` : "";
  const target = t.target?.map((n) => n.id).join(",") ?? "(no state change)";
  return `${t.source.id} --${t.eventType || "always"}${guard}--> ${target} (#${siblings.indexOf(t) + 1})`;
}

/**
 * The transitions one step fired: the event's own (as the machine selects them), then the
 * eventless ones taken from transient targets, told apart by where the step ended.
 */
export function firedTransitions(machine: AnyStateMachine, before: AnyMachineSnapshot, event: AnyEventObject, after: AnyMachineSnapshot) {
  const fired: AnyTransitionDefinition[] = [...machine.getTransitionData(before, event as never)];
  // A compound target enters its initial child too, whose eventless transitions then run.
  const withInitial = (node: AnyStateNode): AnyStateNode[] => [
    node,
    ...(node.type === "compound" ? (node.initial?.target ?? []).flatMap(withInitial) : []),
  ];
  const entered = (transition: AnyTransitionDefinition) => (transition.target ?? []).flatMap(withInitial);
  let frontier = fired.flatMap(entered);
  for (let depth = 0; frontier.length > 0 && depth < 5; depth++) {
    const next: AnyStateNode[] = [];
    for (const node of frontier) {
      if (!node.always?.length) continue;
      const taken = node.always.find((t) => entered(t).some((target) => isActive(after, target) || target.always?.length));
      if (taken) {
        fired.push(taken);
        next.push(...entered(taken));
      }
    }
    frontier = next;
  }
  return fired;
}

/** Collects the transitions replays fire and the states they enter. */
export function coverageRecorder(machine: AnyStateMachine) {
  const fired = new Set<string>();
  const visited = new Set<string>();
  const visit = (snapshot: AnyMachineSnapshot) => {
    for (const node of allNodes(machine)) if (isActive(snapshot, node)) visited.add(node.id);
  };
  return {
    start(snapshot: AnyMachineSnapshot) {
      visit(snapshot);
    },
    step(before: AnyMachineSnapshot, event: AnyEventObject, after: AnyMachineSnapshot) {
      for (const transition of firedTransitions(machine, before, event, after)) {
        fired.add(transitionKey(transition));
        // Transient states (left at once by `always`) appear only as targets, or as the source of
        // the eventless transition that left them (an initial child entered with its parent).
        for (const node of [...(transition.target ?? []), transition.source])
          for (let n: AnyStateNode | undefined = node; n; n = n.parent) visited.add(n.id);
      }
      visit(after);
    },
    /** States and transitions of `machine` that no replay exercised. */
    missing() {
      const nodes = allNodes(machine);
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
export const serializeEvent = (event: AnyEventObject) =>
  JSON.stringify(event, (key, value) => (key === "model" && value?.id ? value.id : value));

/**
 * What the generated paths themselves cover, before anything is replayed: the states they pass
 * through (transient ones included, as transition targets) and the event types they send,
 * against every state of `machine` and every event type it takes. Names what is missing.
 */
export function pathCoverage(
  machine: AnyStateMachine,
  paths: Array<{ steps: Array<{ state: AnyMachineSnapshot; event: AnyEventObject }> }>,
): { statesOnNoPath: string[]; eventTypesOnNoPath: string[] } {
  const onPaths = coverageRecorder(machine);
  const sent = new Set<string>();
  for (const { steps } of paths) {
    onPaths.start(steps[0]!.state);
    // Each step holds the state its event led to; the first is the start (xstate.init).
    for (let i = 1; i < steps.length; i++) {
      onPaths.step(steps[i - 1]!.state, steps[i]!.event, steps[i]!.state);
      sent.add(steps[i]!.event.type);
    }
  }
  return {
    statesOnNoPath: onPaths.missing().missingStates,
    eventTypesOnNoPath: eventTypesOf(machine).filter((type) => !sent.has(type)),
  };
}
