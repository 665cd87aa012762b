/**
 * The client certificate, its key and the CA, read once. Both HTTP clients (got for the
 * control plane, undici for chat) are built from this one material.
 */
import { readFileSync, statSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { AiServerSettings, SettingsProblem, Sourced } from "./config.ts";

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface TlsMaterialResult {
  material: TlsMaterial | undefined;
  warnings: SettingsProblem[];
  errors: SettingsProblem[];
}

export function loadTlsMaterial(settings: Pick<AiServerSettings, "ca" | "clientCert" | "clientKey">): TlsMaterialResult {
  const warnings: SettingsProblem[] = [];
  const errors: SettingsProblem[] = [];
  const read = (which: "ca" | "clientCert" | "clientKey", file: Sourced<string>): Buffer | undefined => {
    try {
      return readFileSync(file.value);
    } catch (error) {
      errors.push({ code: "pem-unreadable", which, path: file.value, source: file.source, errno: (error as NodeJS.ErrnoException).code });
      return undefined;
    }
  };
  const ca = read("ca", settings.ca);
  const cert = read("clientCert", settings.clientCert);
  const key = read("clientKey", settings.clientKey);
  if (!ca || !cert || !key) return { material: undefined, warnings, errors };

  const mode = statSync(settings.clientKey.value).mode & 0o777;
  if (mode & 0o077) warnings.push({ code: "key-readable-by-others", path: settings.clientKey.value, mode });
  try {
    createSecureContext({ ca, cert, key });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    errors.push(
      code.includes("KEY_VALUES_MISMATCH")
        ? {
            code: "pem-mismatch",
            cert: settings.clientCert.value,
            key: settings.clientKey.value,
            certSource: settings.clientCert.source,
            keySource: settings.clientKey.source,
          }
        : {
            code: "pem-invalid",
            detail: (error as Error).message,
            files: [settings.clientCert.value, settings.clientKey.value, settings.ca.value],
          },
    );
    return { material: undefined, warnings, errors };
  }
  return { material: { ca, cert, key }, warnings, errors };
}
