// The one version-dependent decision (src/pi-versions/): which pi may miss a native provider at
// start-up (pi #9962, fixed in 0.99.2), on both sides of the fix and for versions pi could report.
import { expect, test } from "vitest";
import { nativeProviderRacesStartUp } from "../../src/pi-versions/native-provider-start.ts";

test.each([
  ["0.87.1", true],
  ["0.99.1", true],
  ["0.99.2", false],
  ["0.100.0", false],
  ["1.0.3", false],
  ["1.6.0", false],
  ["1.6.0-20261120.1", false],
  ["2.0.0", false],
  ["unknown", true],
  ["", true],
])("pi %s: a native provider may be missed at start-up: %s", (version, races) => {
  expect(nativeProviderRacesStartUp(version)).toBe(races);
});
