/**
 * Watching one answer as pi-ai streams it, without relaying it: the stream's own `push` is
 * wrapped once (a relay would cost an extra async hop per token). Whoever streams an answer
 * (src/backend/request.ts) passes one observer that does everything it needs, in the order it
 * states, instead of several wrappers stacked on each other.
 */
import type { AssistantMessageEvent, AssistantMessageEventStream } from "@earendil-works/pi-ai";

export interface AnswerObserver {
  /** Before pi-ai's event goes on: it may be amended (an error's message said in better words). */
  event(event: AssistantMessageEvent): void;
}

export function observeAnswer(stream: AssistantMessageEventStream, observer: AnswerObserver): AssistantMessageEventStream {
  const push = stream.push.bind(stream);
  stream.push = (event) => {
    observer.event(event);
    push(event);
  };
  return stream;
}
