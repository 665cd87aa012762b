/**
 * Statechart inspection for development: with PI_LLAMA_INSPECT=ws://127.0.0.1:<port>/ws
 * (printed by `npm run inspect`), both machines send @statelyai/inspect events to that
 * WebSocket. Unset: this module is never even loaded, and nothing connects. A URL where
 * nothing listens costs three quick attempts, then silence: no retry loop, no handle that
 * keeps pi alive.
 */
import type { InspectionEvent, Observer } from "xstate";

export const INSPECT_ENV = "PI_LLAMA_INSPECT";
const ATTEMPTS = 3;
const BUFFERED_EVENTS = 2_000;

export interface Inspection {
  /** Pass as `createActor(machine, { inspect })`. */
  inspect: Observer<InspectionEvent>;
  close(): void;
}

/** A WebSocket sender that buffers until connected and gives up after a few failed attempts. */
function webSocketSender(url: string) {
  let socket: WebSocket | undefined;
  let open = false;
  let gaveUp = false;
  let attempts = 0;
  let retry: NodeJS.Timeout | undefined;
  const buffer: string[] = [];
  const connect = () => {
    attempts++;
    let opened = false;
    try {
      socket = new WebSocket(url);
    } catch {
      gaveUp = true;
      buffer.length = 0;
      return;
    }
    socket.addEventListener("open", () => {
      opened = open = true;
      for (const message of buffer.splice(0)) socket!.send(message);
    });
    socket.addEventListener("close", () => {
      open = false;
      if (gaveUp) return;
      if (opened || attempts >= ATTEMPTS) {
        // The inspector went away (or never came): stop, quietly.
        gaveUp = true;
        buffer.length = 0;
        return;
      }
      retry = setTimeout(connect, 500 * attempts);
      retry.unref();
    });
    socket.addEventListener("error", () => {
      // "close" follows and decides.
    });
  };
  connect();
  return {
    send(message: string) {
      if (gaveUp) return;
      if (open) socket!.send(message);
      else {
        buffer.push(message);
        if (buffer.length > BUFFERED_EVENTS) buffer.shift();
      }
    },
    close() {
      gaveUp = true;
      clearTimeout(retry);
      buffer.length = 0;
      socket?.close();
    },
  };
}

/** undefined when PI_LLAMA_INSPECT is unset (the common case: nothing else happens). */
export async function inspectionFromEnv(env: Record<string, string | undefined> = process.env): Promise<Inspection | undefined> {
  const url = env[INSPECT_ENV];
  if (!url) return undefined;
  const { createInspector } = await import("@statelyai/inspect");
  const sender = webSocketSender(url);
  const inspector = createInspector({ send: (event) => sender.send(JSON.stringify(event)) });
  return {
    inspect: inspector.inspect as Observer<InspectionEvent>,
    close: () => sender.close(),
  };
}
