// @ts-check
/**
 * The stop story of a local server, in one place. Plain JavaScript: the keeper
 * (src/llamafiles/process/keeper.mjs) runs it, and so does pi (src/llamafiles/process/signals.ts).
 *
 * Who stops a server: its keeper, always while it lives (it outlives pi). The keeper stops the
 * server when the pi whose chart decided the stop asks it to (`term`, refused with `shared`
 * while other pi sessions use the server), and on its own when the last pi using the server is
 * gone without a word. Only a server whose keeper is gone too (killed with pi, or from an older
 * version) is stopped by pi itself, after proving it is the server pi started. Either way:
 *
 *   1. SIGTERM to the server's process group. The server is the leader of a group of its own,
 *      so a wrapper such as `sh -c` cannot orphan the real server; and the group is signalled
 *      only while a live member carries the server's marker, so a recycled id never is.
 *   2. Wait up to STOP_GRACE_MS (5 s) for the whole group to be gone.
 *   3. Still there: SIGKILL to the group. The stop counts as forced.
 *   4. Wait until the group is gone. The keeper then tells every pi using the server `exited`,
 *      with the leader's exit status and whether the stop was forced; the chart says
 *      `Stopped llamafile "<name>" (forced after 5s).` A keeper waits as long as it takes; pi,
 *      stopping a server left behind, gives up after STOP_GIVE_UP_MS.
 *
 * The charts only ask for a stop (machines/local-server.machine.ts, `owned.stopping`) and learn
 * from the exit whether it was forced; no other module holds the grace.
 */

/** How long a server may take to stop after SIGTERM before it gets SIGKILL. */
export const STOP_GRACE_MS = 5_000;

/** How long pi waits for a group it is stopping itself (its keeper gone) before it gives up. */
export const STOP_GIVE_UP_MS = 2 * STOP_GRACE_MS;

/**
 * @typedef {object} StoppableGroup
 * @property {() => boolean} isGone Whether no member of the server's group is left.
 * @property {(signal: "SIGTERM" | "SIGKILL") => boolean | void} signal Signals the group (only while it is proven to be the server's); false: not sent (nothing of the server left to signal).
 * @property {number} pollMs How often to look whether the group is gone.
 * @property {number} [giveUpMs] Stop waiting after this long (the group may still be there); undefined: wait as long as it takes.
 */

/**
 * Steps 1-4: SIGTERM, the grace, SIGKILL if the group is still there, then the wait for its end.
 * Resolves with whether SIGKILL was needed, and whether the group is gone.
 * @param {StoppableGroup} group
 * @returns {Promise<{ forced: boolean, gone: boolean }>}
 */
export async function stopGroup(group) {
  group.signal("SIGTERM");
  const termAt = Date.now();
  let graceOver = false;
  let forced = false;
  for (;;) {
    if (group.isGone()) return { forced, gone: true };
    const elapsed = Date.now() - termAt;
    if (!graceOver && elapsed >= STOP_GRACE_MS) {
      graceOver = true;
      // Not sent (only a member in its last moments was left): the stop was not forced.
      forced = group.signal("SIGKILL") !== false;
      continue;
    }
    if (group.giveUpMs !== undefined && elapsed >= group.giveUpMs) return { forced, gone: false };
    // Wake exactly at the end of the grace, so SIGKILL comes at 5 s, not a poll later.
    const wait = graceOver ? group.pollMs : Math.min(group.pollMs, STOP_GRACE_MS - elapsed);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
