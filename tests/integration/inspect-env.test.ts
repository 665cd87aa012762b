// PI_LLAMA_INSPECT: set, the extension's machines stream @statelyai/inspect
// events to `npm run inspect`'s server; unset, nothing connects; pointing at a port where
// nothing listens changes nothing for pi, and never keeps a process alive or retries forever.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { startInspectServer } from "../../tools/inspect-server.ts";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, waitFor } from "../helpers/processes.ts";

afterEach(async () => {
  await cleanupAll();
  delete process.env.PI_LLAMA_INSPECT;
});

test("set: a pi session's local-server actor streams to the inspector server, which relays to a viewer", async () => {
  const server = await startInspectServer(0);
  try {
    const viewer = new WebSocket(server.inspectUrl);
    const seen: Array<{ type: string; name?: string; snapshot?: { value?: unknown } }> = [];
    viewer.on("message", (data) => seen.push(JSON.parse(String(data))));
    await new Promise((resolve) => viewer.once("open", resolve));

    process.env.PI_LLAMA_INSPECT = server.inspectUrl;
    const port = await freePort();
    const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "m", name: "M", port })] });
    await pi.select("llamafiles/m");
    await pi.prompt("hi");

    // The fleet (the root actor) and the server it spawned for the model.
    await waitFor(() => seen.some((e) => e.type === "@xstate.actor" && e.name === "localFleet"), "the fleet's registration");
    await waitFor(() => seen.some((e) => e.type === "@xstate.actor" && e.name === "server:m"), "the server's registration");
    await waitFor(
      () => seen.some((e) => e.type === "@xstate.snapshot" && JSON.stringify(e.snapshot?.value) === '{"owned":{"ready":"serving"}}'),
      "the ready snapshot",
    );
    viewer.close();
  } finally {
    await server.close();
  }
});

test("unset: nothing connects, not even to the inspector's default port", async () => {
  // If a default URL ever crept in, it would be `npm run inspect`'s default, ws://127.0.0.1:8791/ws.
  const listener = new WebSocketServer({ port: 8791, host: "127.0.0.1" });
  await new Promise((resolve, reject) => listener.once("listening", resolve).once("error", reject));
  let connections = 0;
  listener.on("connection", () => connections++);
  try {
    const port = await freePort();
    const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "m", name: "M", port })] });
    await pi.select("llamafiles/m");
    expect((await pi.prompt("hi")).error).toBeUndefined();
    expect(await import("../../src/pi-session/inspection.ts").then((m) => m.inspectionFromEnv({}))).toBeUndefined();
    expect(connections).toBe(0);
  } finally {
    listener.close();
  }
});

test("a URL where nothing listens: pi works as without it", async () => {
  process.env.PI_LLAMA_INSPECT = `ws://127.0.0.1:${await freePort()}/ws`;
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "m", name: "M", port, flags: ["--reply", "fine"] })] });
  await pi.select("llamafiles/m");
  expect(await pi.prompt("hi")).toEqual({ text: "fine", error: undefined });
  expect(pi.notifications().filter((n) => n.type !== "info")).toEqual([]);
});

test("a URL where nothing listens never keeps a process alive: it exits on its own after a few quick attempts", async () => {
  const script = `
    const { inspectionFromEnv } = await import(${JSON.stringify(fileURLToPath(new URL("../../src/pi-session/inspection.ts", import.meta.url)))});
    const { createActor, createMachine } = await import("xstate");
    const inspection = await inspectionFromEnv({ PI_LLAMA_INSPECT: "ws://127.0.0.1:${await freePort()}/ws" });
    const actor = createActor(createMachine({ id: "m", initial: "a", states: { a: { on: { GO: "b" } }, b: {} } }), { inspect: inspection.inspect });
    actor.start();
    actor.send({ type: "GO" });
  `;
  const started = Date.now();
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: "ignore",
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(8_000);
});
