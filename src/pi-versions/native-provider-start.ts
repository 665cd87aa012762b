/**
 * A `providers.llamafiles` block without "api" and "baseUrl" composes in pi only under a native
 * provider (src/llamafiles/provider.ts). pi before 0.99.2 settles a native provider's
 * availability in a background pass that can lose the race against its own start-up: a
 * preselected model may not be restored, and `pi --list-models` may not list the models (pi
 * #9962; a concurrent availability pass leaves `getAvailable()` an old snapshot). pi 0.99.2 marks
 * the provider available when it is registered, so there the short block is enough.
 */
const FIXED_IN = [0, 99, 2] as const;

/** Whether this pi (its VERSION) may miss a native provider at start-up; an unreadable version counts as old. */
export function nativeProviderRacesStartUp(piVersion: string): boolean {
  const parts = /^(\d+)\.(\d+)\.(\d+)/.exec(piVersion)?.slice(1).map(Number);
  if (!parts) return true;
  for (let i = 0; i < 3; i++) if (parts[i] !== FIXED_IN[i]) return parts[i]! < FIXED_IN[i]!;
  return false;
}
