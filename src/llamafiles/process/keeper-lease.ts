/**
 * This pi's side of a keeper (src/llamafiles/process/keeper.mjs): a lease on one server, held
 * as long as this pi uses it. The pi that started the server holds it through the keeper's
 * stdin/stdout; any other pi connects to the keeper's socket. JSON lines both ways.
 */
import { connect } from "node:net";
import type { Readable, Writable } from "node:stream";

export type KeeperEvent =
  | { event: "hello"; users: number; modelId: string; port: number; pid: number }
  | { event: "users"; count: number }
  | { event: "output" }
  | { event: "stopping"; why: string }
  | { event: "shared"; users: number }
  | { event: "exited"; code: number | null; signal: string | null; forced: boolean };

export type KeeperCommand =
  | { cmd: "server"; pid: number }
  | { cmd: "term" }
  | { cmd: "release" }
  | { cmd: "exited"; code: number | null; signal: string | null };

export class KeeperLease {
  private readonly listeners = new Set<(event: KeeperEvent | { event: "lost" }) => void>();
  private buffered = "";
  private open = true;
  /** The latest user count the keeper announced (this pi included). */
  users = 1;
  /** The server's pid (its process group), from the keeper's hello. */
  pid: number | undefined;
  /** Set once the keeper said the server's group is gone. */
  exit: Extract<KeeperEvent, { event: "exited" }> | undefined;

  private readonly input: Readable;
  private readonly output: Writable;

  constructor(input: Readable, output: Writable) {
    this.input = input;
    this.output = output;
    input.on("data", (chunk: Buffer) => this.receive(String(chunk)));
    const lost = () => this.lose();
    input.on("end", lost);
    input.on("close", lost);
    input.on("error", lost);
    output.on("error", lost);
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(command: KeeperCommand): void {
    if (!this.open) return;
    try {
      this.output.write(`${JSON.stringify(command)}\n`);
    } catch {
      this.lose();
    }
  }

  /** Listens to the keeper; `lost` means the lease ended (the keeper is gone, or we closed it). */
  on(listener: (event: KeeperEvent | { event: "lost" }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Lets go of the server: the keeper stops it if no other pi uses it. */
  close(): void {
    if (!this.open) return;
    this.send({ cmd: "release" });
    this.lose();
  }

  /** Never keep pi alive for this lease. */
  unref(): this {
    (this.input as Readable & { unref?(): void }).unref?.();
    (this.output as Writable & { unref?(): void }).unref?.();
    return this;
  }

  /** Keeps pi alive while this lease is open: a stop waits for the keeper's answer. */
  ref(): this {
    (this.input as Readable & { ref?(): void }).ref?.();
    (this.output as Writable & { ref?(): void }).ref?.();
    return this;
  }

  private receive(text: string): void {
    this.buffered += text;
    for (let newline = this.buffered.indexOf("\n"); newline >= 0; newline = this.buffered.indexOf("\n")) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      let event: KeeperEvent;
      try {
        event = JSON.parse(line) as KeeperEvent;
      } catch {
        continue;
      }
      if (event.event === "hello") {
        this.users = event.users;
        this.pid = event.pid;
      } else if (event.event === "users") this.users = event.count;
      else if (event.event === "exited") this.exit = event;
      for (const listener of [...this.listeners]) listener(event);
    }
  }

  private lose(): void {
    if (!this.open) return;
    this.open = false;
    this.input.destroy();
    this.output.destroy();
    for (const listener of [...this.listeners]) listener({ event: "lost" });
  }
}

/** Joins the server a keeper runs: resolves once the keeper said hello, or undefined when it cannot be reached in time. */
export function joinKeeper(socketPath: string, timeoutMs: number): Promise<KeeperLease | undefined> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const lease = new KeeperLease(socket, socket);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const off = lease.on((event) => {
      if (event.event === "hello") finish(lease);
      else if (event.event === "lost" || event.event === "stopping") finish(undefined);
    });
    function finish(result: KeeperLease | undefined) {
      clearTimeout(timer);
      off();
      if (!result) lease.close();
      resolve(result?.unref());
    }
  });
}
