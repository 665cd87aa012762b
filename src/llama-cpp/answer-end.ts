/**
 * A streamed answer's end, once: at `data: [DONE]` (pi-ai stops reading there, so the stream may
 * never be read to its close), at its close, on an error, or when the reader cancels it.
 */
export function onAnswerEnd(response: Response, onEnd: () => void): Response {
  if (!response.body) {
    onEnd();
    return response;
  }
  let open = true;
  const end = () => {
    if (open) onEnd();
    open = false;
  };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
          return;
        }
        controller.enqueue(value);
        if (open && decoder.decode(value, { stream: true }).includes("[DONE]")) end();
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
