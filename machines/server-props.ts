/**
 * What a llama.cpp server says about the model it serves (GET /props), each field only when
 * the server said it. Both charts keep it while their model is ready; src/llama-cpp/props.ts
 * reads it from the server's answer.
 */
export interface ServerProps {
  /** Tokens one request may use: the server's context divided among its parallel slots. */
  contextSize?: number;
  /** Requests the server serves at once (`--parallel`); each gets `contextSize` tokens. */
  slots?: number;
  /** The model takes images (llama-server loaded a multimodal projector). */
  vision?: boolean;
  /** The chat template can render tool calls. */
  toolCalls?: boolean;
}
