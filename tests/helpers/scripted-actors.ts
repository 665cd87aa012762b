/**
 * Stand-ins for the local machine's effect actors whose outcomes the test decides, for
 * unit and model-based tests of the chart itself. Each invoked promise actor parks until
 * the test resolves it; the process actor records the commands it was sent. And a stand-in
 * for the fleet, the parent a server reports to.
 */
import { type ActorRefFrom, createActor, type EventObject, fromCallback, fromPromise, type SimulatedClock, setup } from "xstate";
import {
  type CacheReadiness,
  type LaunchSpec,
  type LocalNotice,
  type LocalServerReport,
  type LocalServerStatus,
  localServerMachine,
  type PortProbe,
  type ProcessCommand,
  type SaveOutcome,
  type ServerIdentity,
  type SlotCache,
} from "../../machines/local-server.machine.ts";

interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function scriptedActors(options: { announcePid?: boolean } = {}) {
  const announcePid = options.announcePid ?? true;
  const pending = new Map<string, Pending<unknown>>();
  const park = <T>(name: string) =>
    new Promise<T>((resolve, reject) => pending.set(name, { resolve: resolve as (v: unknown) => void, reject }));
  const processes: Array<{ model: LaunchSpec; nonce: string | undefined; commands: ProcessCommand["type"][]; cleanedUp: boolean }> = [];
  let nextPid = 1000;
  /** How many idle watches run now. */
  const watching = { count: 0 };

  const actors = {
    probePort: fromPromise<PortProbe, { model: LaunchSpec }>(() => park("probePort")),
    identifyServer: fromPromise<ServerIdentity, { model: LaunchSpec }>(() => park("identifyServer")),
    waitForReady: fromPromise<ServerIdentity, { model: LaunchSpec }>(() => park("waitForReady")),
    waitPortFree: fromPromise<void, { port: number }>(() => park("waitPortFree")),
    watchAdoptedServer: fromCallback<ProcessCommand, { model: LaunchSpec }>(() => () => {}),
    prepareCache: fromPromise<CacheReadiness, { model: LaunchSpec }>(() => park("prepareCache")),
    saveSlot: fromPromise<SaveOutcome, { model: LaunchSpec; cache: SlotCache }>(() => park("saveSlot")),
    watchUse: fromCallback<EventObject, { model: LaunchSpec }>(() => {
      watching.count++;
      return () => {
        watching.count--;
      };
    }),
    serverProcess: fromCallback<ProcessCommand, { model: LaunchSpec; nonce: string | undefined }>(({ input, sendBack, receive }) => {
      const record = { model: input.model, nonce: input.nonce, commands: [] as ProcessCommand["type"][], cleanedUp: false };
      processes.push(record);
      // A server started now (pi claimed the port) announces its pid.
      if (announcePid && input.nonce !== undefined) sendBack({ type: "PROCESS_STARTED", pid: nextPid++ });
      receive((command) => record.commands.push(command.type));
      return () => {
        record.cleanedUp = true;
      };
    }),
  };

  return {
    actors,
    processes,
    watching,
    /** Settle the named invoke the machine is waiting on. */
    resolve(name: string, value?: unknown) {
      const p = pending.get(name);
      if (!p) throw new Error(`no pending ${name}`);
      pending.delete(name);
      p.resolve(value);
    },
    reject(name: string, error: unknown) {
      const p = pending.get(name);
      if (!p) throw new Error(`no pending ${name}`);
      pending.delete(name);
      p.reject(error);
    },
    isPending: (name: string) => pending.has(name),
  };
}

export function launchSpec(id: string, port = 8080): LaunchSpec {
  return { id, name: id.toUpperCase(), port, command: "/bin/true", args: [], env: {}, cwd: "/", logPath: `/logs/${id}.log` };
}

/**
 * One local server as the fleet would run it, under a stand-in parent that keeps what it
 * reports (a server reports to its parent and nobody else). Tests send events to `server` and
 * read its snapshot; `statuses` and `notices` are its reports, in order.
 */
export function serverAlone(actors: ReturnType<typeof scriptedActors>["actors"], options: { clock?: SimulatedClock } = {}) {
  const statuses: LocalServerStatus[] = [];
  const notices: LocalNotice[] = [];
  const fleet = setup({
    types: { events: {} as LocalServerReport },
    actors: { server: localServerMachine.provide({ actors }) },
  }).createMachine({
    invoke: { id: "server", src: "server", input: { serverId: "server:test" } },
    on: {
      SERVER_STATUS: { actions: ({ event }) => void statuses.push(event.status) },
      SERVER_NOTICE: { actions: ({ event }) => void notices.push(event.notice) },
    },
  });
  const parent = createActor(fleet, options.clock ? { clock: options.clock } : {}).start();
  const server = parent.getSnapshot().children.server as ActorRefFrom<typeof localServerMachine>;
  return { server, parent, statuses, notices };
}
