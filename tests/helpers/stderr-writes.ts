/** What `run` writes to stderr, chunk by chunk, kept off the terminal (print mode's notifications go there). */
export async function stderrWrites(run: () => Promise<unknown>): Promise<string[]> {
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await run();
  } finally {
    process.stderr.write = original;
  }
  return writes;
}
