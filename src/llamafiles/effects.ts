/**
 * The effects behind the local-server statechart: each actor the machine names,
 * built on real processes, files and HTTP. The machine decides; these only do.
 */
import { fromCallback, fromPromise } from "xstate";
import {
  KILL_GRACE_MS,
  type LaunchSpec,
  type LocalServerEvent,
  type PortProbe,
  type ProcessCommand,
  type ServerIdentity,
} from "../../machines/local-server.machine.ts";
import { findOwnedServer, forgetOwnership } from "./process/ownership-record.ts";
import { waitUntilPortFree } from "./process/port-free.ts";
import { isTrackedChild, onChildExit } from "./process/process-table.ts";
import { askModels, sleep } from "./server-http.ts";
import { isAlive, signalGroup } from "./process/signals.ts";
import { spawnServer } from "./process/spawn.ts";
import { tailLog, writeExitFooter } from "./process/server-log.ts";

export interface LocalServerEffectsOptions {
  /** How often readiness and adoption poll /v1/models. */
  readinessPollMs: number;
  /** Timeout of one probe (spec §5.4: 1 s). */
  probeTimeoutMs: number;
  /** How often an adopted server (which we cannot watch as a process) is health-checked. */
  adoptedHealthPollMs: number;
  /** How long to wait for a port to be released after our server exited. */
  portReleaseTimeoutMs: number;
  /** Shows the foreign-port dialog; resolves false without a UI. */
  askAboutForeignServer: (model: LaunchSpec, advertised: string[]) => Promise<boolean>;
}

export const defaultEffectsOptions = {
  readinessPollMs: 250,
  probeTimeoutMs: 1_000,
  adoptedHealthPollMs: 2_000,
  portReleaseTimeoutMs: 10_000,
} satisfies Omit<LocalServerEffectsOptions, "askAboutForeignServer">;

export function localServerActors(options: LocalServerEffectsOptions) {
  return {
    probePort: fromPromise<PortProbe, { model: LaunchSpec }>(async ({ input, signal }) => {
      const { port } = input.model;
      const owned = findOwnedServer(port);
      const answer = await askModels(port, { timeoutMs: options.probeTimeoutMs, signal });
      if (owned) return { kind: "ours", pid: owned.pid, servesId: owned.modelId, ready: answer.kind === "serving" };
      return answer.kind === "refused" ? { kind: "free" } : { kind: "occupied" };
    }),

    identifyServer: fromPromise<ServerIdentity, { model: LaunchSpec }>(async ({ input, signal }) => {
      for (;;) {
        const answer = await askModels(input.model.port, { timeoutMs: options.probeTimeoutMs, signal });
        if (answer.kind === "serving") return { ids: answer.ids };
        if (answer.kind === "unexpected") return { ids: [] };
        if (answer.kind === "refused") throw new Error("the server on the port went away while pi waited for it");
        await sleep(options.readinessPollMs, signal);
      }
    }),

    waitForReady: fromPromise<ServerIdentity, { model: LaunchSpec }>(async ({ input, signal }) => {
      for (;;) {
        const answer = await askModels(input.model.port, { timeoutMs: options.probeTimeoutMs, signal });
        if (answer.kind === "serving") return { ids: answer.ids };
        await sleep(options.readinessPollMs, signal);
      }
    }),

    serverProcess: fromCallback<ProcessCommand, { model: LaunchSpec; attachPid: number | undefined }>(
      ({ input, sendBack, receive }) => {
        const { model } = input;
        const send = (event: LocalServerEvent) => sendBack(event);
        let pid = input.attachPid;
        let ended = false;
        let released = false;
        let stopWatching = () => {};

        const reportExit = (code: number | null, signal: string | null, spawnError?: string) => {
          if (ended) return;
          ended = true;
          send({ type: "PROCESS_EXITED", code, signal, spawnError, logTail: tailLog(model.logPath) });
        };

        if (pid === undefined) {
          const child = spawnServer(model, (message) => reportExit(null, null, message));
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
          }, 250);
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
          const leader = pid;
          signalGroup(leader, "SIGTERM");
          setTimeout(() => {
            if (isAlive(leader)) signalGroup(leader, "SIGKILL");
          }, KILL_GRACE_MS).unref();
        };
      },
    ),

    watchAdoptedServer: fromCallback<ProcessCommand, { model: LaunchSpec }>(({ input, sendBack }) => {
      const controller = new AbortController();
      void (async () => {
        try {
          for (;;) {
            await sleep(options.adoptedHealthPollMs, controller.signal);
            const answer = await askModels(input.model.port, { timeoutMs: options.probeTimeoutMs, signal: controller.signal });
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
      waitUntilPortFree(input.port, { timeoutMs: options.portReleaseTimeoutMs, signal }),
    ),
  };
}
