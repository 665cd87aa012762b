/**
 * The local servers of one pi session, kept warm within a count (`keepWarm`) and a memory
 * budget, one local-server machine per model, spawned here as a child:
 *
 *   active: servers: settled ⇄ makingRoom            → quitting: (lettingGo →) waiting → stopped
 *           session: new → takingOver → sweeping → started            (any state) → detached
 *
 * This machine owns the policy: which server is current, which stay warm, which one a new
 * selection stops to make room (the least recently used, never a pinned one, never the one
 * whose answer is streaming, and one on the port the new model needs), and when it refuses.
 * Its children do the rest (start, adopt, share, stop: machines/local-server.machine.ts) and
 * report everything to it. With keepWarm 1 (the default) a selection stops the old server
 * first, then starts the new one: what one server at a time has always done.
 *
 * It also owns what a new extension instance does with what this pi process held before
 * (/reload, /new, … keep the servers running): at the session's start it takes them over, the
 * most recent ones warm within keepWarm and the rest let go of, and sweeps servers an earlier
 * pi left behind with nobody to stop them.
 *
 * No I/O and no prose: status and notices leave as typed emitted events
 * (src/llamafiles/messages.ts words them); its own effects and its children's are provided by
 * src/llamafiles/effects.ts. docs/architecture.md draws this chart.
 */
import { and, assertEvent, assign, emit, enqueueActions, fromPromise, not, setup, stateIn } from "xstate";
import {
  findingNotices,
  IDLE_STATUS,
  type LaunchSpec,
  type LocalNotice,
  type LocalServerReport,
  type LocalServerStatus,
  localServerMachine,
  type RecordFinding,
} from "./local-server.machine.ts";

/** A local model as the fleet sees it: how to launch it, and how it counts against the budget. */
export interface WarmSpec extends LaunchSpec {
  /** The user's estimate of what its server takes (bytes), counted against `memoryBudget`. */
  memoryBytes?: number;
  /** Never stopped to make room for another model (quitting pi still stops it). */
  pinned?: boolean;
}

export interface FleetSettings {
  /** How many local servers may run at once (1: one at a time). */
  keepWarm: number;
  /** The sum of the running servers' `memoryBytes` may not exceed this. */
  memoryBudgetBytes?: number;
  /** The configured models: a server held from before a /reload is kept warm only as one of them (same id, same port). */
  models?: WarmSpec[];
}

/** A server this pi process holds a lease on from an earlier extension instance (the process table). */
export interface HeldServer {
  port: number;
  modelId: string;
}

/** Why there is no room for a model: what holds it. */
export type RoomProblem =
  /** Every server that may run at once is pinned. */
  | { kind: "keep-warm-full"; keepWarm: number; held: string[] }
  /** The budget cannot hold the model next to the servers that must stay. */
  | { kind: "over-budget"; needBytes: number; budgetBytes: number; heldBytes: number; held: string[] }
  /** A pinned server holds the port the model needs. */
  | { kind: "port-held"; port: number; heldBy: string }
  /** The model's own estimate exceeds the whole budget. */
  | { kind: "larger-than-budget"; needBytes: number; budgetBytes: number };

/** Something the user should hear of: a server's notice, or the fleet's own. */
export type FleetNotice =
  | LocalNotice
  | { kind: "no-room"; model: WarmSpec; problem: RoomProblem }
  /**
   * A warm server was stopped to make room (said only when more than one may run); one that
   * other pi sessions use (`otherUsers` > 0) was only let go of.
   */
  | { kind: "made-room"; stopped: WarmSpec; forModel: WarmSpec; otherUsers: number };

/** One server of the fleet, as the status shows it. */
export interface FleetServer {
  model: WarmSpec;
  status: LocalServerStatus;
  current: boolean;
  /** Larger is more recent. */
  lastUsed: number;
  /** When it was last used (epoch ms), for /llamafiles: the clock is read by the facade, not here. */
  lastUsedAt?: number;
  /** Its last answer is the first since a saved conversation was restored into it (counted by the facade). */
  restoredAnswer?: boolean;
}

/** What the footer, /llamafiles, the working indicator and waiting prompts read. */
export interface FleetStatus {
  phase: "active" | "ended";
  /**
   * What to show for the model pi uses: its server's status; while room is made for it, the
   * status of the server being stopped (so one server at a time reads as it always has).
   */
  shown: LocalServerStatus;
  /** The model pi selected, if it waits for room. */
  waitingFor: WarmSpec | undefined;
  /** The model pi uses (selected), undefined after a switch to a model of another provider. */
  current: WarmSpec | undefined;
  servers: FleetServer[];
  /** The last selection refused for want of room, kept until the next selection. */
  refusal: { model: WarmSpec; problem: RoomProblem } | undefined;
}

export type FleetEvent =
  | { type: "SELECT"; model: WarmSpec }
  /**
   * pi's session started (on every session_start; RPC mode sends two): the first takes over
   * what this pi held before, with the model the session starts with (it is selected next).
   */
  | { type: "SESSION_STARTED"; selected: WarmSpec | undefined }
  /** Raised by the take-over: a server this pi holds from before a /reload comes back warm, not current. */
  | { type: "KEEP_WARM"; model: WarmSpec }
  | { type: "DESELECT" }
  | { type: "QUIT" }
  | { type: "DETACH" }
  | { type: "ANSWER_STARTED"; modelId: string }
  | { type: "ANSWER_ENDED"; modelId: string }
  | LocalServerReport;

export type FleetEmitted = { type: "status"; status: FleetStatus } | { type: "notice"; notice: FleetNotice };

interface Entry {
  model: WarmSpec;
  status: LocalServerStatus;
  lastUsed: number;
  /** The server reported since it was last asked to start (until then its status is the fleet's "starting"). */
  reported: boolean;
}

export interface FleetContext extends FleetSettings {
  servers: Record<string, Entry>;
  current: string | undefined;
  waiting: WarmSpec | undefined;
  /** Servers asked to stop (or let go) to make room for `waiting`. */
  victims: string[];
  /** The model whose answer streams now. */
  streaming: string | undefined;
  refusal: { model: WarmSpec; problem: RoomProblem } | undefined;
  clock: number;
  /** The model the session started with (its held server is the selection's, never carried over). */
  startedWith: WarmSpec | undefined;
}

const serverId = (modelId: string) => `server:${modelId}`;

const notProvided = (name: string) => () => {
  throw new Error(`local-fleet machine: actor "${name}" was not provided`);
};
const live = (status: LocalServerStatus) => status.phase === "starting" || status.phase === "ready" || status.phase === "stopping";
const ended = (status: LocalServerStatus) => status.phase === "ended";

/** Which servers must stop (or be let go of) before `model` can start, or why it cannot. */
export function planRoom(
  context: Pick<FleetContext, "keepWarm" | "memoryBudgetBytes" | "servers" | "streaming">,
  model: WarmSpec,
): { victims: string[] } | { problem: RoomProblem } {
  const others = Object.values(context.servers).filter((entry) => entry.model.id !== model.id && live(entry.status));
  const staying = others.filter((entry) => entry.status.phase !== "stopping");
  const victims = new Set(others.filter((entry) => entry.status.phase === "stopping").map((entry) => entry.model.id));
  const budget = context.memoryBudgetBytes;
  const need = model.memoryBytes ?? 0;
  if (budget !== undefined && need > budget) return { problem: { kind: "larger-than-budget", needBytes: need, budgetBytes: budget } };
  for (const entry of staying) {
    if (entry.model.port !== model.port) continue;
    if (entry.model.pinned) return { problem: { kind: "port-held", port: model.port, heldBy: entry.model.id } };
    victims.add(entry.model.id);
  }
  const kept = () => staying.filter((entry) => !victims.has(entry.model.id));
  const memory = (entries: Entry[]) => entries.reduce((sum, entry) => sum + (entry.model.memoryBytes ?? 0), 0);
  const fits = () => kept().length + 1 <= context.keepWarm && (budget === undefined || memory(kept()) + need <= budget);
  const candidates = kept()
    .filter((entry) => !entry.model.pinned)
    .sort((a, b) => a.lastUsed - b.lastUsed);
  while (!fits()) {
    const next = candidates.shift();
    if (!next) {
      const held = kept().map((entry) => entry.model.id);
      return kept().length + 1 > context.keepWarm
        ? { problem: { kind: "keep-warm-full", keepWarm: context.keepWarm, held } }
        : { problem: { kind: "over-budget", needBytes: need, budgetBytes: budget!, heldBytes: memory(kept()), held } };
    }
    victims.add(next.model.id);
  }
  return { victims: [...victims] };
}

/** Ports of the servers the fleet has: never let go of as held from before. */
const fleetPorts = (context: Pick<FleetContext, "servers">) => Object.values(context.servers).map((entry) => entry.model.port);

/**
 * What a new extension instance does with the servers this pi held before (`held`, oldest
 * first): those of configured models (same id, same port) are candidates, the most recent
 * keepWarm − 1 of them stay warm (`kept`); every other held server is let go of (its keeper
 * stops it unless another pi uses it). Never touched: a server on the port of one the fleet
 * already has, or of the model the session starts with (its selection re-attaches to it).
 * `keep` is every port not to let go of.
 */
export function carryOver(
  context: Pick<FleetContext, "keepWarm" | "models" | "servers" | "startedWith">,
  held: HeldServer[],
): { kept: WarmSpec[]; keep: number[] } {
  const mine = new Set([...fleetPorts(context), ...(context.startedWith ? [context.startedWith.port] : [])]);
  const configured = held
    .filter((server) => !mine.has(server.port))
    .map((server) => context.models?.find((model) => model.id === server.modelId && model.port === server.port))
    .filter((model) => model !== undefined);
  const room = Math.max(0, context.keepWarm - 1);
  const kept = room > 0 ? configured.slice(-room) : [];
  return { kept, keep: [...mine, ...kept.map((model) => model.port)] };
}

/** Servers beyond what may stay warm when no local model is current (keepWarm − 1, least recent first). */
function surplus(context: FleetContext): string[] {
  const warm = Object.values(context.servers)
    .filter((entry) => live(entry.status) && entry.status.phase !== "stopping" && !entry.model.pinned)
    .sort((a, b) => b.lastUsed - a.lastUsed);
  const pinned = Object.values(context.servers).filter((entry) => live(entry.status) && entry.model.pinned).length;
  return warm.slice(Math.max(0, context.keepWarm - 1 - pinned)).map((entry) => entry.model.id);
}

function statusOf(context: FleetContext, phase: FleetStatus["phase"]): FleetStatus {
  const entries = Object.values(context.servers);
  const current = context.current ? context.servers[context.current] : undefined;
  // While room is made, the server being stopped is what there is to see (one already stopping
  // first; one whose answer still streams is not stopped yet, so the waiting model shows instead).
  const inTheWay = context.waiting
    ? entries.filter((entry) => context.victims.includes(entry.model.id) && live(entry.status) && entry.model.id !== context.streaming)
    : [];
  const stopping = inTheWay.find((entry) => entry.status.phase === "stopping") ?? inTheWay[0];
  // Once the room is made, the waiting model is about to start.
  const about: LocalServerStatus | undefined = context.waiting ? { ...IDLE_STATUS, phase: "starting", model: context.waiting } : undefined;
  const shown =
    phase === "ended" ? { ...IDLE_STATUS, phase: "ended" as const } : (stopping?.status ?? about ?? current?.status ?? IDLE_STATUS);
  return {
    phase,
    shown,
    waitingFor: context.waiting,
    current: context.waiting ?? current?.model,
    servers: entries
      .sort((a, b) => b.lastUsed - a.lastUsed)
      .map((entry) => ({
        model: entry.model,
        status: entry.status,
        current: entry.model.id === context.current && !context.waiting,
        lastUsed: entry.lastUsed,
      })),
    refusal: context.refusal,
  };
}

export const localFleetMachine = setup({
  types: {
    context: {} as FleetContext,
    input: {} as FleetSettings,
    events: {} as FleetEvent,
    emitted: {} as FleetEmitted,
  },
  actors: {
    server: localServerMachine,
    /** The servers this pi process holds a lease on from an earlier extension instance. */
    findHeldServers: fromPromise<HeldServer[]>(notProvided("findHeldServers")),
    /** Lets go of every server this pi holds but those on the `keep` ports. */
    letGoOfHeldServers: fromPromise<void, { keep: number[] }>(notProvided("letGoOfHeldServers")),
    /** Stops servers an earlier pi left with nobody to stop them; what it found, as values. */
    sweepLeftBehind: fromPromise<RecordFinding[]>(notProvided("sweepLeftBehind")),
  },
  guards: {
    "the model's server is warm": ({ context }, model: WarmSpec) => {
      const status = context.servers[model.id]?.status;
      return status !== undefined && (status.phase === "ready" || status.phase === "starting");
    },
    "there is room for the model": ({ context }, model: WarmSpec) => {
      const plan = planRoom(context, model);
      return "victims" in plan && plan.victims.length === 0;
    },
    "room can be made for the model": ({ context }, model: WarmSpec) => "victims" in planRoom(context, model),
    "the room is made": ({ context }) => {
      if (!context.waiting || context.victims.some((id) => live(context.servers[id]!.status))) return false;
      const plan = planRoom(context, context.waiting);
      return "victims" in plan && plan.victims.length === 0;
    },
    "every server has ended": ({ context }) => Object.values(context.servers).every((entry) => ended(entry.status)),
    "what this pi held is not taken over yet": and([
      not(stateIn("#localFleet.active.session.sweeping")),
      not(stateIn("#localFleet.active.session.started")),
    ]),
  },
  actions: {
    "publish status": emit(({ context }) => ({ type: "status" as const, status: statusOf(context, "active") })),
    "publish the end": emit(({ context }) => ({ type: "status" as const, status: statusOf(context, "ended") })),
    /** Keeps what a server reported, and passes its notices on. */
    "follow the server": enqueueActions(({ context, enqueue, event }) => {
      assertEvent(event, ["SERVER_STATUS", "SERVER_NOTICE"]);
      const entry = Object.values(context.servers).find((candidate) => serverId(candidate.model.id) === event.serverId);
      if (!entry) return;
      if (event.type === "SERVER_NOTICE") {
        // A server let go of to make room: the fleet's own notice already said it runs on.
        const saidByTheFleet =
          event.notice.kind === "left-running" &&
          !event.notice.quitting &&
          context.keepWarm > 1 &&
          context.victims.includes(entry.model.id);
        if (!saidByTheFleet) enqueue.emit({ type: "notice", notice: event.notice });
        return;
      }
      // A new server says it is idle before it takes the selection: it is starting already.
      if (!entry.reported && event.status.phase === "idle" && !event.status.failure) return;
      enqueue.assign({ servers: { ...context.servers, [entry.model.id]: { ...entry, status: event.status, reported: true } } });
    }),
    /** Starts (or brings up again) the model's server, spawning it the first time; it is starting until it reports. */
    "start the server": enqueueActions(({ context, enqueue }, model: WarmSpec) => {
      const entry = context.servers[model.id];
      if (!entry) enqueue.spawnChild("server", { id: serverId(model.id), input: { serverId: serverId(model.id) } });
      if (!entry || !live(entry.status)) {
        const starting: LocalServerStatus = { ...IDLE_STATUS, phase: "starting", model };
        enqueue.assign({
          servers: { ...context.servers, [model.id]: { ...(entry ?? { lastUsed: 0 }), model, status: starting, reported: false } },
        });
      }
      enqueue.sendTo(serverId(model.id), { type: "SELECT", model });
    }),
    /** The model pi uses from now on (and the most recently used). */
    "make it current": assign(({ context }, model: WarmSpec) => {
      const entry = context.servers[model.id];
      return {
        current: model.id,
        waiting: undefined,
        victims: [],
        refusal: undefined,
        clock: context.clock + 1,
        servers: entry ? { ...context.servers, [model.id]: { ...entry, lastUsed: context.clock + 1 } } : context.servers,
      };
    }),
    "warm it, least recent": assign(({ context }, model: WarmSpec) => ({
      servers: context.servers[model.id]
        ? { ...context.servers, [model.id]: { ...context.servers[model.id]!, lastUsed: -1 - Object.keys(context.servers).length } }
        : context.servers,
    })),
    "forget the current model": assign({ current: undefined, waiting: undefined, victims: [] }),
    /** Asks the servers in the way to stop (a shared one is only let go of); one whose answer streams waits for its end. */
    "make room for the model": enqueueActions(({ context, enqueue }, model: WarmSpec) => {
      const plan = planRoom(context, model);
      if (!("victims" in plan)) return; // (the guard that led here found room)
      enqueue.assign({ waiting: model, victims: plan.victims, current: model.id, refusal: undefined });
      for (const id of plan.victims) {
        const entry = context.servers[id]!;
        if (entry.status.phase === "stopping" || id === context.streaming) continue;
        enqueue.sendTo(serverId(id), { type: "DESELECT" });
        if (context.keepWarm > 1)
          enqueue.emit({
            type: "notice",
            notice: { kind: "made-room", stopped: entry.model, forModel: model, otherUsers: Math.max(0, entry.status.users - 1) },
          });
      }
    }),
    "stop the victims whose answer ended": enqueueActions(({ context, enqueue, event }) => {
      assertEvent(event, "ANSWER_ENDED");
      if (!context.victims.includes(event.modelId)) return;
      const entry = context.servers[event.modelId];
      if (entry && live(entry.status) && entry.status.phase !== "stopping") enqueue.sendTo(serverId(event.modelId), { type: "DESELECT" });
    }),
    /** Nothing to use: says why, starts nothing. */
    refuse: enqueueActions(({ context, enqueue }, model: WarmSpec) => {
      const plan = planRoom(context, model);
      if (!("problem" in plan)) return; // (the guards before this one found room)
      enqueue.assign({ refusal: { model, problem: plan.problem }, current: model.id, waiting: undefined, victims: [] });
      // A prompt tries the refused model again: its error says why, without a second notice.
      if (context.refusal?.model.id !== model.id)
        enqueue.emit({ type: "notice", notice: { kind: "no-room", model, problem: plan.problem } });
    }),
    "stop the servers beyond keepWarm": enqueueActions(({ context, enqueue }) => {
      for (const id of surplus(context)) if (id !== context.streaming) enqueue.sendTo(serverId(id), { type: "DESELECT" });
    }),
    "note the answer": assign(({ event }) => {
      assertEvent(event, ["ANSWER_STARTED", "ANSWER_ENDED"]);
      return { streaming: event.type === "ANSWER_STARTED" ? event.modelId : undefined };
    }),
    "tell every server": enqueueActions(({ context, enqueue }, command: { type: "QUIT" } | { type: "DETACH" }) => {
      for (const id of Object.keys(context.servers)) enqueue.sendTo(serverId(id), command);
    }),
    "remember the model the session starts with": assign(({ event }) => {
      assertEvent(event, "SESSION_STARTED");
      return { startedWith: event.selected };
    }),
    /** The most recent held servers come back warm (through KEEP_WARM, which checks the room); the rest are let go of. */
    "carry over the held servers": enqueueActions(({ context, enqueue }, held: HeldServer[]) => {
      const { kept, keep } = carryOver(context, held);
      enqueue.spawnChild("letGoOfHeldServers", { input: { keep } });
      for (const model of kept) enqueue.raise({ type: "KEEP_WARM", model });
    }),
    "let go of held servers the fleet does not have": enqueueActions(({ context, enqueue }) => {
      const keep = [...fleetPorts(context), ...(context.startedWith ? [context.startedWith.port] : [])];
      enqueue.spawnChild("letGoOfHeldServers", { input: { keep } });
    }),
    "tell what the sweep found": enqueueActions(({ enqueue }, found: RecordFinding[]) => {
      for (const notice of findingNotices(found)) enqueue.emit({ type: "notice", notice });
    }),
  },
}).createMachine({
  id: "localFleet",
  initial: "active",
  context: ({ input }) => ({
    keepWarm: Math.max(1, input.keepWarm),
    memoryBudgetBytes: input.memoryBudgetBytes,
    models: input.models,
    servers: {},
    current: undefined,
    waiting: undefined,
    victims: [],
    streaming: undefined,
    refusal: undefined,
    clock: 0,
    startedWith: undefined,
  }),
  on: {
    DETACH: { target: ".detached", actions: { type: "tell every server", params: { type: "DETACH" } } },
  },
  states: {
    active: {
      type: "parallel",
      // (Events the `servers` region handles in each of its states are handled there alone: a
      // transition of both a region and `active` would run twice, once for each region.)
      on: {
        SERVER_NOTICE: { actions: "follow the server" },
        ANSWER_STARTED: { actions: "note the answer" },
        KEEP_WARM: [
          {
            guard: { type: "there is room for the model", params: ({ event }) => event.model },
            actions: [
              { type: "start the server", params: ({ event }) => event.model },
              { type: "warm it, least recent", params: ({ event }) => event.model },
              "publish status",
            ],
          },
          // No room for it after all (the budget, or pinned servers): let go of it, never leave it
          // running outside the fleet.
          { actions: "let go of held servers the fleet does not have" },
        ],
        QUIT: [
          {
            guard: "what this pi held is not taken over yet",
            target: "quitting.lettingGo",
            actions: { type: "tell every server", params: { type: "QUIT" } },
          },
          { target: "quitting.waiting", actions: { type: "tell every server", params: { type: "QUIT" } } },
        ],
      },
      states: {
        /** Which servers run, and which one is current. */
        servers: {
          initial: "settled",
          states: {
            settled: {
              on: {
                SERVER_STATUS: { actions: ["follow the server", "publish status"] },
                ANSWER_ENDED: { actions: ["note the answer", "publish status"] },
                SELECT: [
                  {
                    guard: { type: "the model's server is warm", params: ({ event }) => event.model },
                    actions: [{ type: "make it current", params: ({ event }) => event.model }, "publish status"],
                  },
                  {
                    guard: { type: "there is room for the model", params: ({ event }) => event.model },
                    actions: [
                      { type: "start the server", params: ({ event }) => event.model },
                      { type: "make it current", params: ({ event }) => event.model },
                      "publish status",
                    ],
                  },
                  {
                    guard: { type: "room can be made for the model", params: ({ event }) => event.model },
                    target: "makingRoom",
                    actions: { type: "make room for the model", params: ({ event }) => event.model },
                  },
                  { actions: [{ type: "refuse", params: ({ event }) => event.model }, "publish status"] },
                ],
                DESELECT: { actions: ["forget the current model", "stop the servers beyond keepWarm", "publish status"] },
              },
            },
            /** The selected model waits until the servers in its way have stopped (or were let go of). */
            makingRoom: {
              entry: "publish status",
              // Checked after every event: a stopped server's status is what makes the room.
              always: {
                guard: "the room is made",
                target: "settled",
                actions: [
                  { type: "start the server", params: ({ context }) => context.waiting! },
                  { type: "make it current", params: ({ context }) => context.waiting! },
                  "publish status",
                ],
              },
              on: {
                SERVER_STATUS: { actions: ["follow the server", "publish status"] },
                ANSWER_ENDED: { actions: ["note the answer", "stop the victims whose answer ended", "publish status"] },
                SELECT: [
                  {
                    guard: { type: "the model's server is warm", params: ({ event }) => event.model },
                    target: "settled",
                    actions: [{ type: "make it current", params: ({ event }) => event.model }, "publish status"],
                  },
                  {
                    guard: { type: "room can be made for the model", params: ({ event }) => event.model },
                    target: "makingRoom",
                    reenter: true,
                    actions: { type: "make room for the model", params: ({ event }) => event.model },
                  },
                  { target: "settled", actions: [{ type: "refuse", params: ({ event }) => event.model }, "publish status"] },
                ],
                DESELECT: {
                  target: "settled",
                  actions: ["forget the current model", "stop the servers beyond keepWarm", "publish status"],
                },
              },
            },
          },
        },
        /** What this pi held before the session started (/reload, /new, …), taken over once per extension instance. */
        session: {
          initial: "new",
          states: {
            new: {
              on: { SESSION_STARTED: { target: "takingOver", actions: "remember the model the session starts with" } },
            },
            takingOver: {
              invoke: {
                id: "findHeldServers",
                src: "findHeldServers",
                onDone: { target: "sweeping", actions: { type: "carry over the held servers", params: ({ event }) => event.output } },
                onError: "sweeping",
              },
            },
            /** Servers an earlier pi left with nobody to stop them: stopped, and said once. */
            sweeping: {
              invoke: {
                id: "sweepLeftBehind",
                src: "sweepLeftBehind",
                onDone: { target: "started", actions: { type: "tell what the sweep found", params: ({ event }) => event.output } },
                onError: "started",
              },
            },
            /** A later SESSION_STARTED (RPC mode sends two) changes nothing. */
            started: {},
          },
        },
      },
    },

    /** pi quits: every server stops (or, where other pi sessions use it, is let go of). */
    quitting: {
      initial: "waiting",
      entry: "publish status",
      on: {
        SERVER_STATUS: { actions: "follow the server" },
        SERVER_NOTICE: { actions: "follow the server" },
      },
      states: {
        /** Before it took over what it held: all of that is let go of (but the fleet's own servers), then the wait. */
        lettingGo: {
          invoke: {
            id: "letGoOfHeldServers",
            src: "letGoOfHeldServers",
            input: ({ context }) => ({ keep: fleetPorts(context) }),
            onDone: "waiting",
            onError: "waiting",
          },
        },
        waiting: {
          always: { guard: "every server has ended", target: "#localFleet.stopped" },
        },
      },
    },

    stopped: { type: "final", entry: "publish the end" },
    detached: { type: "final", entry: "publish the end" },
  },
});
