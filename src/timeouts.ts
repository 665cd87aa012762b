/**
 * Every timeout and poll interval of the effects, named once. The statecharts' own delays
 * (STARTUP_TIMEOUT, LOAD_TIMEOUT, UNLOAD_TIMEOUT, RESTART_HEALTH_TIMEOUT) are named in
 * machines/, where the inspector shows them; the stop grace of a local server, in its stop story
 * (src/llamafiles/process/stop-group.mjs).
 */

/** The llamafiles feature (local servers). */
export const llamafilesTimeouts = {
  /** One GET /v1/models probe of a port (adoption, readiness). */
  probeMs: 1_000,
  /** Between readiness probes while a server starts. */
  readinessPollMs: 250,
  /** Between health checks of an adopted server (we cannot watch it as a process). */
  adoptedHealthPollMs: 2_000,
  /** How long a stopped server's port may stay busy before the next start goes ahead anyway. */
  portReleaseMs: 10_000,
  /** Between checks that a port was released. */
  portReleasePollMs: 50,
  /** A connection attempt when checking whether a port is free. */
  portConnectMs: 500,
  /** How long to wait for a server another pi is starting on the port before giving up on joining it. */
  joinMs: 10_000,
  /**
   * Readiness probes prompted by the server's output are at least this far apart: the line that
   * says "ready" is probed within this much (a probe costs ~1 ms of CPU; a loading server's log
   * bursts cost at most 50 probes a second while they last).
   */
  hintGapMs: 20,
  /** Between checks that a stopped process group is gone. */
  groupGonePollMs: 100,
  /** How long pi waits for its own child's exit status when the keeper reports none. */
  leaderStatusMs: 1_000,
  /**
   * How long quitting pi waits for its servers to stop. The keeper sends SIGKILL after 5 s, so a
   * server still there long after is stuck (a process in uninterruptible sleep, a GPU driver):
   * pi then lets its keeper finish alone rather than hang on /quit.
   */
  quitWaitMs: 20_000,
  /** One request of the prompt cache's own (its probe, /props); a save or restore is bounded by the chart instead. */
  cacheRequestMs: 2_000,
  /**
   * Between looks at a server's request counters while its idle stop is on (at most a quarter of
   * its idleMinutes): GET /props, and GET /slots only while the server is awake.
   */
  usePollMs: 30_000,
} as const;

/** The local timeouts as values (tests shorten some). */
export type LlamafilesTimeouts = Record<keyof typeof llamafilesTimeouts, number>;

/** The ai-server feature (the remote router). */
export const aiServerTimeouts = {
  /** Discovery at pi's start: pi never waits longer for an unreachable router. */
  discoveryMs: 2_500,
  /** Any other control-plane request (GET /models, load, unload). */
  controlRequestMs: 15_000,
  /** One GET /health. */
  healthMs: 3_000,
  /** Between GET /health while the router restarts. */
  healthPollMs: 500,
  /** Between GET /models while a model loads or unloads. */
  loadPollMs: 500,
  /** ssh's ConnectTimeout, in seconds (ssh's own unit). */
  sshConnectSeconds: 10,
  /** One ssh command (reading or editing the preset). */
  sshCommandMs: 60_000,
  /** ssh running `systemctl --user restart`. */
  sshRestartMs: 120_000,
} as const;
