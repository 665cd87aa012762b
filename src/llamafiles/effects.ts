/**
 * The effects behind the local-server statechart: each actor the machine names, built on
 * real processes, files and HTTP. This is the one seam between the chart and the world:
 * tests of the chart replace exactly these actors. The machine decides; these only do.
 */
import { fromCallback, fromPromise } from "xstate";
import type {
  LaunchSpec,
  LocalServerEvent,
  PortProbe,
  ProcessCommand,
  ServerIdentity,
  SpawnError,
} from "../../machines/local-server.machine.ts";
import { sleep } from "../pi-session/sleep.ts";
import type { llamafilesTimeouts } from "../timeouts.ts";
import { findOwnedServer, forgetOwnership } from "./process/ownership-record.ts";
import { waitUntilPortFree } from "./process/port-free.ts";
import { isTrackedChild, onChildExit } from "./process/process-table.ts";
import { tailLog, writeExitFooter } from "./process/server-log.ts";
import { endProcessGroup, isAlive, signalGroup } from "./process/signals.ts";
import { spawnServer } from "./process/spawn.ts";
import { askModels } from "./server-http.ts";

export interface LocalServerEffectsOptions {
  /** The intervals and bounds of the effects (src/timeouts.ts); tests shorten some. */
  timeouts: typeof llamafilesTimeouts;
  /** Shows the foreign-port dialog; resolves false without a UI. */
  askAboutForeignServer: (model: LaunchSpec, advertised: string[]) => Promise<boolean>;
}

export function localServerActors(options: LocalServerEffectsOptions) {
  const t = options.timeouts;
  return {
    probePort: fromPromise<PortProbe, { model: LaunchSpec }>(async ({ input, signal }) => {
      const { port } = input.model;
      const owned = findOwnedServer(port);
      const answer = await askModels(port, { timeoutMs: t.probeMs, signal });
      if (owned) return { kind: "ours", pid: owned.pid, servesId: owned.modelId, ready: answer.kind === "serving" };
      return answer.kind === "refused" ? { kind: "free" } : { kind: "occupied" };
    }),

    identifyServer: fromPromise<ServerIdentity, { model: LaunchSpec }>(async ({ input, signal }) => {
      for (;;) {
        const answer = await askModels(input.model.port, { timeoutMs: t.probeMs, signal });
        if (answer.kind === "serving") return { ids: answer.ids };
        if (answer.kind === "unexpected") return { ids: [] };
        if (answer.kind === "refused") throw new Error("the server on the port went away while pi waited for it");
        await sleep(t.readinessPollMs, signal);
      }
    }),

    waitForReady: fromPromise<ServerIdentity, { model: LaunchSpec }>(async ({ input, signal }) => {
      for (;;) {
        const answer = await askModels(input.model.port, { timeoutMs: t.probeMs, signal });
        if (answer.kind === "serving") return { ids: answer.ids };
        await sleep(t.readinessPollMs, signal);
      }
    }),

    serverProcess: fromCallback<ProcessCommand, { model: LaunchSpec; attachPid: number | undefined }>(({ input, sendBack, receive }) => {
      const { model } = input;
      const send = (event: LocalServerEvent) => sendBack(event);
      let pid = input.attachPid;
      let ended = false;
      let released = false;
      let stopWatching = () => {};

      const reportExit = (code: number | null, signal: string | null, spawnError?: SpawnError) => {
        if (ended) return;
        ended = true;
        send({ type: "PROCESS_EXITED", code, signal, spawnError, logTail: tailLog(model.logPath) });
      };

      if (pid === undefined) {
        const child = spawnServer(model, (error) => reportExit(null, null, error));
        if (child?.pid !== undefined) {
          pid = child.pid;
          send({ type: "PROCESS_STARTED", pid });
          stopWatching = onChildExit(pid, ({ code, signal }) => reportExit(code, signal));
        }
      } else if (isTrackedChild(pid)) {
        // Our own child, spawned before a /reload: its exit status is exact.
        stopWatching = onChildExit(pid, ({ code, signal }) => reportExit(code, signal));
      } else {
        // Started by an earlier pi process: we can only watch it exist.
        const attached = pid;
        const timer = setInterval(() => {
          if (isAlive(attached)) return;
          writeExitFooter(model.logPath, null, null);
          forgetOwnership(model.port, attached);
          reportExit(null, null);
        }, t.attachedPidPollMs);
        timer.unref();
        stopWatching = () => clearInterval(timer);
      }

      receive((command) => {
        if (command.type === "RELEASE") released = true;
        else if (pid !== undefined && !ended) signalGroup(pid, command.type === "TERM" ? "SIGTERM" : "SIGKILL");
      });

      return () => {
        stopWatching();
        if (ended || released || pid === undefined) return;
        // Left `owned` without the stop sequence (actor stopped from outside): never leave it running.
        endProcessGroup(pid);
      };
    }),

    watchAdoptedServer: fromCallback<ProcessCommand, { model: LaunchSpec }>(({ input, sendBack }) => {
      const controller = new AbortController();
      void (async () => {
        try {
          for (;;) {
            await sleep(t.adoptedHealthPollMs, controller.signal);
            const answer = await askModels(input.model.port, { timeoutMs: t.probeMs, signal: controller.signal });
            if (answer.kind !== "serving" || !answer.ids.includes(input.model.id)) {
              sendBack({ type: "SERVER_LOST" } satisfies LocalServerEvent);
              return;
            }
          }
        } catch {
          // aborted: the machine left `adopted`
        }
      })();
      return () => controller.abort();
    }),

    askAboutForeignServer: fromPromise<boolean, { model: LaunchSpec; advertised: string[] }>(({ input }) =>
      options.askAboutForeignServer(input.model, input.advertised),
    ),

    waitPortFree: fromPromise<void, { port: number }>(({ input, signal }) =>
      waitUntilPortFree(input.port, { timeoutMs: t.portReleaseMs, pollMs: t.portReleasePollMs, connectMs: t.portConnectMs, signal }),
    ),
  };
}
