/**
 * The latest status a statechart emitted, for readers outside it (views, commands, a prompt
 * waiting for a model): they read or follow the status, never the machine's snapshot.
 */
export interface StatusSource<S> {
  current(): S;
  /** Calls `listener` on every new status; returns an unsubscribe. */
  subscribe(listener: (status: S) => void): () => void;
}

export function statusChannel<S>(initial: S): StatusSource<S> & { publish(status: S): void } {
  let latest = initial;
  const listeners = new Set<(status: S) => void>();
  return {
    current: () => latest,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(status) {
      latest = status;
      for (const listener of [...listeners]) listener(status);
    },
  };
}

export type Verdict = "wait" | "done" | Error;

/**
 * Waits on a status stream: `verdict` looks at the current status and every later one and
 * says wait, done, or why it failed. The signal (Esc) cancels the wait, never the machine.
 */
export function settle<S>(source: StatusSource<S>, verdict: (status: S) => Verdict, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let unsubscribe = () => {};
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    const check = (status: S) => {
      const result = verdict(status);
      if (result === "done") finish();
      else if (result instanceof Error) finish(result);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    unsubscribe = source.subscribe(check);
    check(source.current());
  });
}
