/**
 * One request of any backend, loaded with the first one: it waits until the model's server is
 * ready (docs/architecture.md, "Why the provider waits"), then streams with pi-ai's own
 * implementation, with the model and fetch the backend plans, and watches the answer with one
 * observer: a failure in the backend's words, the answer's figures, the supervisor told when it
 * ends.
 */
import type { Api, AssistantMessageEventStream, Model } from "@earendil-works/pi-ai";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { observeAnswer } from "../llama-cpp/answer-observer.ts";
import type { ServedOverride } from "../llama-cpp/model-facts.ts";
import { answerTail } from "../llama-cpp/timings.ts";
import { abortedStream } from "../pi-session/ended-stream.ts";
import type { Backend, StartStream, Supervisor } from "./contract.ts";

export interface RequestDeps<Status, Notice> {
  backend: Backend<Status, Notice>;
  meter: AnswerMeter;
  supervisor(): Promise<Supervisor<Status, Notice>>;
  served(modelId: string): ServedOverride | undefined;
}

export async function streamWhenReady<Status, Notice>(
  deps: RequestDeps<Status, Notice>,
  model: Model<Api>,
  signal: AbortSignal | undefined,
  start: StartStream,
): Promise<AssistantMessageEventStream> {
  const supervisor = await deps.supervisor();
  try {
    await supervisor.ensureReady(model.id, signal);
  } catch (error) {
    // Esc while waiting: end as an aborted request (not as an error pi would retry).
    if (signal?.aborted) return abortedStream(model);
    throw error;
  }
  const tail = answerTail();
  // pi's listed copy may be older than what the server said it serves: the backend plans what is sent.
  const plan = deps.backend.planRequest(model, deps.served(model.id), tail);
  // pi-ai's API registry loads with the first request, not while pi starts.
  const apis = await import("@earendil-works/pi-ai/compat");
  const stream = start(plan.model, apis, plan.fetch);
  const ended = supervisor.answering(model.id);
  const meterKey = `${deps.backend.provider}/${model.id}`;
  return observeAnswer(stream, {
    event(event) {
      if (event.type === "error" && event.reason === "error") {
        const failure = plan.failureText();
        if (failure) event.error.errorMessage = failure;
      }
      deps.meter.see(event, meterKey, tail);
      if (event.type === "done") ended("done");
      else if (event.type === "error") ended(event.reason === "aborted" ? "aborted" : "error");
    },
  });
}
