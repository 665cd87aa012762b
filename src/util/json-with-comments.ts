/** pi accepts `//` comments and trailing commas in models.json; so must we (same rule as pi's stripJsonComments). */
export function parseJsonWithComments(text: string): unknown {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const stripped = withoutBom
    .replace(/"(?:\\.|[^"\\])*"|\/\/[^\n]*/g, (m) => (m[0] === '"' ? m : ""))
    .replace(/"(?:\\.|[^"\\])*"|,(\s*[}\]])/g, (m, tail: string | undefined) => tail ?? (m[0] === '"' ? m : ""));
  return JSON.parse(stripped);
}
