/**
 * A feature's statechart facade and its view, loaded on first use (pi's start-up does not
 * pay for XState and the effects), with the statechart inspector when PI_LLAMA_INSPECT is set.
 */
import type { InspectionEvent, Observer } from "xstate";
import { type Lazy, lazy } from "./lazy.ts";

export interface Machinery<S> {
  supervisor: S;
  /** Draws the footer again (pi clears it on every session change). */
  redraw(): void;
  dispose(): void;
}

export function lazyMachinery<S>(
  build: (inspect: Observer<InspectionEvent> | undefined) => Promise<{ supervisor: S; view: { redraw(): void; dispose(): void } }>,
): Lazy<Machinery<S>> {
  return lazy(async () => {
    const { inspectionFromEnv } = await import("./inspection.ts");
    const inspection = await inspectionFromEnv();
    const { supervisor, view } = await build(inspection?.inspect);
    return {
      supervisor,
      redraw: view.redraw,
      dispose() {
        view.dispose();
        inspection?.close();
      },
    };
  });
}
