/**
 * Waiting on a running statechart from outside (a prompt waiting for a model, a command
 * waiting for its result): `verdict` looks at every snapshot and says wait, done, or why it
 * failed; the signal (Esc) cancels the wait, never the machine.
 */
export type Verdict = "wait" | "done" | Error;

interface Watchable<S> {
  getSnapshot(): S;
  subscribe(listener: (snapshot: S) => void): { unsubscribe(): void };
}

export function settleOnSnapshot<S>(actor: Watchable<S>, verdict: (snapshot: S) => Verdict, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let unsubscribe = () => {};
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => settle(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    const check = (snapshot: S) => {
      const result = verdict(snapshot);
      if (result === "done") settle();
      else if (result instanceof Error) settle(result);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const subscription = actor.subscribe(check);
    unsubscribe = () => subscription.unsubscribe();
    check(actor.getSnapshot());
  });
}
