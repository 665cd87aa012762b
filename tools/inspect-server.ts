/**
 * `npm run inspect [-- --port 8791]`: the offline statechart viewer's server, on 127.0.0.1
 * only. Serves inspect.html and its one asset (mermaid, from node_modules: no CDN), and
 * relays @statelyai/inspect events from pi (PI_LLAMA_INSPECT) to every open page over a
 * WebSocket at /ws; a page opened later gets the actors and their latest state replayed.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type WebSocket, WebSocketServer } from "ws";
import { INSPECT_ENV } from "../src/pi-session/inspection.ts";

const page = fileURLToPath(new URL("../inspect.html", import.meta.url));
const mermaid = createRequire(import.meta.url).resolve("mermaid/dist/mermaid.min.js");
const RECENT_EVENTS = 200;

export interface InspectServer {
  port: number;
  url: string;
  /** The value for PI_LLAMA_INSPECT. */
  inspectUrl: string;
  close(): Promise<void>;
}

export async function startInspectServer(port = 8791): Promise<InspectServer> {
  // What a page opened later needs: each actor's registration, its latest snapshot, recent events.
  const actors = new Map<string, string>();
  const snapshots = new Map<string, string>();
  const recent: string[] = [];

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/" || path === "/inspect.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      return res.end(readFileSync(page));
    }
    if (path === "/vendor/mermaid.min.js") {
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" });
      return res.end(readFileSync(mermaid));
    }
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found");
  });
  const sockets = new WebSocketServer({ server, path: "/ws" });
  sockets.on("connection", (socket: WebSocket) => {
    for (const message of [...actors.values(), ...snapshots.values(), ...recent]) socket.send(message);
    socket.on("message", (data) => {
      const message = String(data);
      let event: { type?: string; sessionId?: string };
      try {
        event = JSON.parse(message);
      } catch {
        return;
      }
      if (event.type === "@xstate.actor" && event.sessionId) actors.set(event.sessionId, message);
      else if (event.type === "@xstate.snapshot" && event.sessionId) snapshots.set(event.sessionId, message);
      else if (event.type === "@xstate.event") {
        recent.push(message);
        if (recent.length > RECENT_EVENTS) recent.shift();
      }
      for (const other of sockets.clients) if (other !== socket && other.readyState === other.OPEN) other.send(message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const bound = (server.address() as { port: number }).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/`,
    inspectUrl: `ws://127.0.0.1:${bound}/ws`,
    async close() {
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string", default: process.env.PI_LLAMA_INSPECT_PORT ?? "8791" } } });
  const server = await startInspectServer(Number(values.port)).catch((error: NodeJS.ErrnoException) => {
    console.error(
      error.code === "EADDRINUSE"
        ? `Port ${values.port} is in use: choose another with npm run inspect -- --port <n> (or PI_LLAMA_INSPECT_PORT).`
        : `Cannot start the inspector: ${error.message}`,
    );
    process.exit(1);
  });
  console.log(`Statechart inspector: ${server.url}  (open it in a browser)
Then run pi with:   ${INSPECT_ENV}=${server.inspectUrl} npm start
(or export ${INSPECT_ENV}=${server.inspectUrl} before any pi). Ctrl+C stops the inspector.`);
}
