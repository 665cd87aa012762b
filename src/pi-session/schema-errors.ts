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

export function describeSchemaError(root: unknown, error: ErrorObject, rootPath: string): string {
  const path = jsonPath(rootPath, error.instancePath);
  if (error.keyword === "required") {
    return `${path}.${(error.params as { missingProperty: string }).missingProperty} is missing (required)`;
  }
  if (error.keyword === "additionalProperties") {
    return `${path} has an unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  }
  const value = valueAt(root, error.instancePath);
  return `${path} ${error.message ?? "is invalid"} (got ${value === undefined ? "undefined" : JSON.stringify(value)})`;
}
