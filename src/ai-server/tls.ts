/**
 * The client certificate, its key and the CA, read once. Both HTTP clients (got for the
 * control plane, undici for chat) are built from this one material.
 */
import { readFileSync, statSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { AiServerSettings, Sourced } from "./config.ts";

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface TlsMaterialResult {
  material: TlsMaterial | undefined;
  warnings: string[];
  errors: string[];
}

const what = { ca: "CA certificate", clientCert: "client certificate", clientKey: "client private key" } as const;

export function loadTlsMaterial(settings: Pick<AiServerSettings, "ca" | "clientCert" | "clientKey">): TlsMaterialResult {
  const warnings: string[] = [];
  const errors: string[] = [];
  const read = (name: keyof typeof what, file: Sourced<string>): Buffer | undefined => {
    try {
      return readFileSync(file.value);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "the file does not exist" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a folder" : String(code);
      errors.push(`ai-server: cannot read the ${what[name]} ${file.value} (${reason}); set by ${file.source}. See README "Client set-up".`);
      return undefined;
    }
  };
  const ca = read("ca", settings.ca);
  const cert = read("clientCert", settings.clientCert);
  const key = read("clientKey", settings.clientKey);
  if (!ca || !cert || !key) return { material: undefined, warnings, errors };

  const mode = statSync(settings.clientKey.value).mode & 0o777;
  if (mode & 0o077) {
    warnings.push(
      `ai-server: the private key ${settings.clientKey.value} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); it is the only credential for the router: chmod 600 ${settings.clientKey.value}`,
    );
  }
  try {
    createSecureContext({ ca, cert, key });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    errors.push(
      code.includes("KEY_VALUES_MISMATCH")
        ? `ai-server: the client certificate ${settings.clientCert.value} and the key ${settings.clientKey.value} do not belong together (set by ${settings.clientCert.source} and ${settings.clientKey.source}).`
        : `ai-server: the certificate files are not usable PEM (${(error as Error).message}): ${settings.clientCert.value}, ${settings.clientKey.value}, ${settings.ca.value}.`,
    );
    return { material: undefined, warnings, errors };
  }
  return { material: { ca, cert, key }, warnings, errors };
}
