/**
 * Settings of the `ai-server` provider: the seed's environment variables (names and meanings
 * unchanged), over an optional ~/.pi/agent/ai-server.json. There is no built-in host: without
 * AI_SERVER_URL (or "url" in the file) the provider is not registered at all.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { validateAiServerFile } from "./config-validator.generated.js";
import { parseJsonWithComments } from "../pi-session/json-with-comments.ts";
import { describeSchemaError } from "../pi-session/schema-errors.ts";

export const AI_SERVER_PROVIDER = "ai-server";

/** A plain ssh target (user@host, host, [v6]:port): never something ssh could read as an option. */
export const SSH_TARGET = /^[A-Za-z0-9_[][A-Za-z0-9_.@:[\]-]*$/;

export interface FallbackModel {
  id: string;
  name?: string;
  contextWindow?: number;
  maxTokens?: number;
  reasoning?: boolean;
  input?: ("text" | "image")[];
}

/** Where one setting came from, so an error can name the variable (or file field) to fix. */
export interface Sourced<T> {
  value: T;
  /** e.g. "AI_SERVER_CLIENT_CERT", `"clientCert" in ~/.pi/agent/ai-server.json`, or the default's rule. */
  source: string;
}

export interface AiServerSettings {
  url: string;
  ca: Sourced<string>;
  clientCert: Sourced<string>;
  clientKey: Sourced<string>;
  timeoutMs: number;
  sshHost: Sourced<string> | undefined;
  presetPath: string;
  fallbackModels: FallbackModel[];
}

export interface AiServerSettingsResult {
  /** Undefined: not configured (no URL), or the configuration is unusable (see errors). */
  settings: AiServerSettings | undefined;
  warnings: string[];
  errors: string[];
}

type FileSettings = {
  url?: string;
  certsDir?: string;
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  timeoutMs?: number;
  sshHost?: string;
  presetPath?: string;
  models?: FallbackModel[];
};

const expandHome = (path: string, home: string) => (path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path);

export function loadAiServerSettings(options: {
  env: Record<string, string | undefined>;
  agentDir: string;
  home?: string;
}): AiServerSettingsResult {
  const { env } = options;
  const home = options.home ?? env.HOME ?? homedir();
  const filePath = join(options.agentDir, "ai-server.json");
  const fileLabel = "~/.pi/agent/ai-server.json";
  const warnings: string[] = [];
  const errors: string[] = [];

  let file: FileSettings = {};
  let text: string | undefined;
  try {
    text = readFileSync(filePath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") errors.push(`ai-server: cannot read ${filePath} (${(error as NodeJS.ErrnoException).code}).`);
  }
  if (text !== undefined) {
    try {
      const parsed = parseJsonWithComments(text);
      if (validateAiServerFile(parsed)) file = parsed as FileSettings;
      else {
        for (const error of validateAiServerFile.errors ?? []) errors.push(`ai-server: ${describeSchemaError(parsed, error, fileLabel)}.`);
      }
    } catch (error) {
      errors.push(`ai-server: ${filePath} is not valid JSON (${(error as Error).message}).`);
    }
  }

  const pick = (variable: string, field: keyof FileSettings): Sourced<string> | undefined => {
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: variable };
    const fromFile = file[field];
    if (typeof fromFile === "string") return { value: fromFile, source: `"${field}" in ${fileLabel}` };
    return undefined;
  };

  const url = pick("AI_SERVER_URL", "url");
  if (!url) return { settings: undefined, warnings, errors };
  if (!/^https:\/\/[^\s/]+(\/.*)?$/.test(url.value)) {
    errors.push(`ai-server: ${url.source}=${url.value} is not an https:// URL (the router is reached over mTLS).`);
  }

  const certsDir = pick("AI_SERVER_CERTS_DIR", "certsDir");
  const dir = certsDir ? expandHome(certsDir.value, home) : join(options.agentDir, "certs");
  const dirRule = certsDir ? `$${certsDir.source === "AI_SERVER_CERTS_DIR" ? "AI_SERVER_CERTS_DIR" : "certsDir"}` : "~/.pi/agent/certs";
  const pem = (variable: string, field: keyof FileSettings, fileName: string): Sourced<string> => {
    const given = pick(variable, field);
    if (given) return { value: expandHome(given.value, home), source: given.source };
    return { value: join(dir, fileName), source: `${variable} (default ${dirRule}/${fileName})` };
  };

  let timeoutMs = file.timeoutMs ?? 300_000;
  const timeoutText = env.AI_SERVER_TIMEOUT_MS;
  if (timeoutText !== undefined && timeoutText !== "") {
    if (/^[1-9]\d*$/.test(timeoutText)) timeoutMs = Number(timeoutText);
    else warnings.push(`ai-server: AI_SERVER_TIMEOUT_MS=${timeoutText} is not a positive whole number of milliseconds; using ${timeoutMs}.`);
  }

  const sshHost = pick("AI_SERVER_SSH_HOST", "sshHost");
  if (sshHost && !SSH_TARGET.test(sshHost.value)) {
    errors.push(`ai-server: ${sshHost.source}=${JSON.stringify(sshHost.value)} is not a plain ssh target like user@host.`);
  }
  const presetPath = pick("AI_SERVER_PRESET_PATH", "presetPath")?.value ?? "~/.llama-models.ini";
  if (!/^[A-Za-z0-9_.~/+-]+$/.test(presetPath)) {
    errors.push(`ai-server: AI_SERVER_PRESET_PATH=${JSON.stringify(presetPath)} may only contain letters, digits and _ . ~ / + -.`);
  }

  if (errors.length > 0) return { settings: undefined, warnings, errors };
  return {
    settings: {
      url: url.value.replace(/\/+$/, ""),
      ca: pem("AI_SERVER_CA", "ca", "root-ca.pem"),
      clientCert: pem("AI_SERVER_CLIENT_CERT", "clientCert", "client.pem"),
      clientKey: pem("AI_SERVER_CLIENT_KEY", "clientKey", "client-key.pem"),
      timeoutMs,
      sshHost,
      presetPath,
      fallbackModels: file.models ?? [],
    },
    warnings,
    errors,
  };
}
