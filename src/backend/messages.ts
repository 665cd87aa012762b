/**
 * The words of the generic provider feature itself (each backend words its own notices in its
 * messages.ts): only what goes wrong below every backend.
 */

/** The statechart or its effects could not be loaded or ended: a bug or a broken install, said instead of thrown into pi. */
export function supervisorFailedText(provider: string, error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error);
  return `${provider}: its supervisor failed (${detail}); /reload starts it again. If it keeps failing, report it with this message.`;
}
