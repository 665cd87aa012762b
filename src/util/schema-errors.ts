/** ajv errors as sentences that name the JSON path and the value found there. */
import type { ErrorObject } from "ajv";

const unescapePointer = (part: string) => part.replace(/~1/g, "/").replace(/~0/g, "~");

export function jsonPath(rootPath: string, instancePath: string): string {
  return (
    rootPath +
    instancePath
      .split("/")
      .slice(1)
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${unescapePointer(part)}`))
      .join("")
  );
}

function valueAt(root: unknown, instancePath: string): unknown {
  let value: unknown = root;
  for (const part of instancePath.split("/").slice(1)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[unescapePointer(part)];
  }
  return value;
}

/** The patterns the schemas use, in words. */
const PATTERN_WORDS: Record<string, string> = {
  "\\S": "must not be blank",
  "^[^\\u0000-\\u001f\\u007f]*$": "must not contain control characters",
  "^[^\\u0000]*$": "must not contain a NUL character",
  "^https://[^\\s/@]+(/[^\\u0000-\\u001f\\u007f]*)?$": "must be an https:// URL, without a user name, password or control characters",
  "^[A-Za-z0-9_[][A-Za-z0-9_.@:\\[\\]-]*$": "must be a plain ssh target like user@host",
  "^[A-Za-z0-9_.~/+-]+$": "may only contain letters, digits and _ . ~ / + -",
  "^[a-z0-9][a-z0-9-]{0,23}$": "must be a short name: lower-case letters, digits and -, at most 24, not starting with -",
  "^[0-9]+(\\.[0-9]+)? ?(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$": 'must be an amount of memory such as "22GiB" or "512 MB"',
};

/**
 * One ajv error as a sentence, or undefined for an error that only wraps another (the
 * `propertyNames` and `allOf` envelopes). Values are shown as JSON, so control characters
 * appear escaped, never raw.
 */
export function describeSchemaError(root: unknown, error: ErrorObject, rootPath: string): string | undefined {
  const path = jsonPath(rootPath, error.instancePath);
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
  if (error.keyword === "propertyNames" || error.keyword === "allOf") return undefined;
  if (propertyName !== undefined) {
    return error.keyword === "not"
      ? `${path}.${propertyName} is pi's own variable and cannot be set here`
      : `${path} has ${JSON.stringify(propertyName)}, which is not a valid environment variable name (letters, digits, _; not starting with a digit)`;
  }
  if (error.keyword === "required") {
    return `${path}.${(error.params as { missingProperty: string }).missingProperty} is missing (required)`;
  }
  if (error.keyword === "additionalProperties") {
    return `${path} has an unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  }
  const value = valueAt(root, error.instancePath);
  const words = error.keyword === "pattern" ? PATTERN_WORDS[(error.params as { pattern: string }).pattern] : undefined;
  // A user name or password in a URL is never repeated back.
  const shown = value === undefined ? "undefined" : JSON.stringify(value).replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@"\s]*@/gi, "$1***@");
  return `${path} ${words ?? error.message ?? "is invalid"} (got ${shown})`;
}
