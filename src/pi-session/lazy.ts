/**
 * A part of the extension loaded on first use, so pi's start-up does not pay for it
 * (bench/local-lifecycle.ts measures the extension's own start-up cost).
 */
export interface Lazy<T> {
  /** Loads it (once) and resolves with it. */
  get(): Promise<T>;
  /** It, if it was loaded already. */
  loaded(): T | undefined;
  /** Whether anything asked for it yet (nothing asked: nothing to stop or dispose). */
  requested(): boolean;
}

export function lazy<T>(load: () => Promise<T>): Lazy<T> {
  let promise: Promise<T> | undefined;
  let value: T | undefined;
  return {
    get: () =>
      (promise ??= load().then(
        (loaded) => {
          value = loaded;
          return loaded;
        },
        (error: unknown) => {
          // A failed load is tried again by the next get, not remembered for ever.
          promise = undefined;
          throw error;
        },
      )),
    loaded: () => value,
    requested: () => promise !== undefined,
  };
}
