/**
 * Settings of the `ai-server` provider: the AI_SERVER_* environment variables (README), over
 * an optional ~/.pi/agent/ai-server.json. There is no built-in host: without
 * AI_SERVER_URL (or "url" in the file) the provider is not registered at all.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseJsonWithComments } from "../pi-session/json-with-comments.ts";
import { describeSchemaError } from "../pi-session/schema-errors.ts";
import { validateAiServerFile } from "./config-validator.generated.js";

/** What can be wrong with the settings or the certificate files (src/ai-server/messages.ts words it). */
export type SettingsProblem =
  | { code: "file-unreadable"; path: string; errno: string | undefined }
  | { code: "file-not-json"; path: string; detail: string }
  | { code: "file-invalid"; problem: string }
  | { code: "url-not-https"; source: string; value: string }
  | { code: "url-has-credentials"; source: string; value: string }
  | { code: "control-characters"; source: string }
  | { code: "timeout-invalid"; value: string; using: number }
  | { code: "ssh-host-invalid"; source: string; value: string }
  | { code: "preset-path-invalid"; value: string }
  | { code: "pem-unreadable"; which: "ca" | "clientCert" | "clientKey"; path: string; source: string; errno: string | undefined }
  | { code: "key-readable-by-others"; path: string; mode: number }
  | { code: "pem-mismatch"; cert: string; key: string; certSource: string; keySource: string }
  | { code: "pem-invalid"; detail: string; files: string[] };

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
  warnings: SettingsProblem[];
  errors: SettingsProblem[];
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
  const warnings: SettingsProblem[] = [];
  const errors: SettingsProblem[] = [];

  let file: FileSettings = {};
  let text: string | undefined;
  try {
    text = readFileSync(filePath, "utf8");
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno !== "ENOENT") errors.push({ code: "file-unreadable", path: filePath, errno });
  }
  if (text !== undefined) {
    try {
      const parsed = parseJsonWithComments(text);
      if (validateAiServerFile(parsed)) file = parsed as FileSettings;
      else {
        for (const error of validateAiServerFile.errors ?? []) {
          const problem = describeSchemaError(parsed, error, fileLabel);
          if (problem) errors.push({ code: "file-invalid", problem });
        }
      }
    } catch (error) {
      errors.push({ code: "file-not-json", path: filePath, detail: (error as Error).message });
    }
  }

  const pick = (variable: string, field: keyof FileSettings): Sourced<string> | undefined => {
    const fromEnv = env[variable];
    const fromFile = file[field];
    const picked =
      fromEnv !== undefined && fromEnv !== ""
        ? { value: fromEnv, source: variable }
        : typeof fromFile === "string"
          ? { value: fromFile, source: `"${field}" in ${fileLabel}` }
          : undefined;
    // Nothing with control characters reaches a path, a URL or ssh.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (picked && /[\u0000-\u001f\u007f]/.test(picked.value)) errors.push({ code: "control-characters", source: picked.source });
    return picked;
  };

  const url = pick("AI_SERVER_URL", "url");
  if (!url) return { settings: undefined, warnings, errors };
  if (!/^https:\/\/[^\s/]+(\/.*)?$/.test(url.value)) {
    errors.push({ code: "url-not-https", source: url.source, value: url.value });
  } else if (/^https:\/\/[^/]*@/.test(url.value)) {
    // The client certificate is the credential: a user or password in the URL is never used or shown.
    errors.push({ code: "url-has-credentials", source: url.source, value: url.value });
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
    else warnings.push({ code: "timeout-invalid", value: timeoutText, using: timeoutMs });
  }

  const sshHost = pick("AI_SERVER_SSH_HOST", "sshHost");
  if (sshHost && !SSH_TARGET.test(sshHost.value)) {
    errors.push({ code: "ssh-host-invalid", source: sshHost.source, value: sshHost.value });
  }
  const presetPath = pick("AI_SERVER_PRESET_PATH", "presetPath")?.value ?? "~/.llama-models.ini";
  if (!/^[A-Za-z0-9_.~/+-]+$/.test(presetPath)) {
    errors.push({ code: "preset-path-invalid", value: presetPath });
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
