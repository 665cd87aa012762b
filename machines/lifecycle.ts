/**
 * The one lifecycle vocabulary every backend's status speaks (docs/architecture.md):
 *
 *   idle → probing → starting → ready → stopping → idle … ended
 *
 * A local server and a model on a remote router go through the same phases: `probing` looks at
 * what runs (a port, the router's list), `starting` brings it up (a process that boots, a load),
 * `stopping` takes it down (a stop, an unload); `unreachable` is a remote backend that did not
 * answer; `ended` is a supervisor that is done (pi quit, or the session was replaced).
 */
export type ServerPhase = "idle" | "probing" | "starting" | "ready" | "stopping" | "unreachable" | "ended";
