/**
 * Settings of the `ai-server` provider: the AI_SERVER_* environment variables (README), over
 * an optional ~/.pi/agent/ai-server.json. There is no built-in host: without AI_SERVER_URL
 * (or "url" in the file) and without `servers` in the file, nothing is registered at all.
 *
 * One router is today's set-up: AI_SERVER_URL or "url". Several are `servers`, each with a
 * name and a url; the top-level certificate files, timeoutMs and presetPath (and their
 * variables) are then the defaults every server falls back on. A router of "url" next to
 * `servers` is one more router, listed first. Each router becomes its own pi provider.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { expandHome } from "../util/home-path.ts";
import { parseJsonWithComments } from "../util/json-with-comments.ts";
import { describeSchemaError } from "../util/schema-errors.ts";
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
  /** A `servers` entry that cannot be used: skipped, the others load. */
  | { code: "server-skipped"; index: number; name: string | undefined; problems: string[] }
  | { code: "server-name-taken"; index: number; name: string; takenBy: string }
  /** Top-level `models` or `sshHost` belong to the router of "url", and there is none: they would be ignored silently. */
  | { code: "unused-top-level"; fields: string[] }
  | { code: "pem-unreadable"; which: "ca" | "clientCert" | "clientKey"; path: string; source: string; errno: string | undefined }
  | { code: "key-readable-by-others"; path: string; mode: number }
  | { code: "pem-mismatch"; cert: string; key: string; certSource: string; keySource: string }
  | { code: "pem-invalid"; detail: string; files: string[] };

/** A plain ssh target (user@host, host, [v6]:port): never something ssh could read as an option. */
export const SSH_TARGET = /^[A-Za-z0-9_[][A-Za-z0-9_.@:[\]-]*$/;

/** The name of the router of AI_SERVER_URL (or "url") when "name" does not say. */
export const DEFAULT_ROUTER_NAME = "main";

/** The provider of the first router: the one place it is spelled. The others are `ai-server-<name>`. */
export const FIRST_PROVIDER = "ai-server";

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

/** One router. */
export interface AiServerSettings {
  /** Its short name (`servers[].name`, or "name" / "main" for the router of AI_SERVER_URL). */
  name: string;
  /** The pi provider its models are listed under: "ai-server" for the first router, "ai-server-<name>" for the others. */
  provider: string;
  /** Whether other routers are configured: then every word about it names it. */
  amongSeveral: boolean;
  url: string;
  /** Its index in `servers`; undefined for the router of AI_SERVER_URL (the words name its settings by their variables). */
  entry: number | undefined;
  ca: Sourced<string>;
  clientCert: Sourced<string>;
  clientKey: Sourced<string>;
  timeoutMs: number;
  /** Where the timeout was set ("AI_SERVER_TIMEOUT_MS" for the router of AI_SERVER_URL, as the words always said). */
  timeoutSource: string;
  sshHost: Sourced<string> | undefined;
  presetPath: string;
  fallbackModels: FallbackModel[];
}

export interface AiServerSettingsResult {
  /** Every usable router, the first one first. Empty: not configured, or nothing usable (see errors). */
  servers: AiServerSettings[];
  warnings: SettingsProblem[];
  errors: SettingsProblem[];
}

type Fields = {
  url?: string;
  name?: string;
  certsDir?: string;
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  timeoutMs?: number;
  sshHost?: string;
  presetPath?: string;
  models?: FallbackModel[];
};
type FileSettings = Fields & { servers?: Fields[] };

const FILE_LABEL = "~/.pi/agent/ai-server.json";
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const PRESET_PATH = /^[A-Za-z0-9_.~/+-]+$/;
const PEM_FILES = { ca: "root-ca.pem", clientCert: "client.pem", clientKey: "client-key.pem" } as const;
const PEM_VARIABLES = { ca: "AI_SERVER_CA", clientCert: "AI_SERVER_CLIENT_CERT", clientKey: "AI_SERVER_CLIENT_KEY" } as const;

/** The file, checked against the schema: problems outside `servers[i]` make it unusable; each entry's own only skip that entry. */
function readFile(filePath: string, errors: SettingsProblem[]): { file: FileSettings; entryProblems: Map<number, string[]> } {
  const entryProblems = new Map<number, string[]>();
  let text: string;
  try {
    text = readFileSync(filePath, "utf8");
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno !== "ENOENT") errors.push({ code: "file-unreadable", path: filePath, errno });
    return { file: {}, entryProblems };
  }
  let parsed: unknown;
  try {
    parsed = parseJsonWithComments(text);
  } catch (error) {
    errors.push({ code: "file-not-json", path: filePath, detail: (error as Error).message });
    return { file: {}, entryProblems };
  }
  if (validateAiServerFile(parsed)) return { file: parsed as FileSettings, entryProblems };
  let fileUsable = true;
  for (const error of validateAiServerFile.errors ?? []) {
    const problem = describeSchemaError(parsed, error, FILE_LABEL);
    if (!problem) continue;
    const entry = /^\/servers\/(\d+)(\/|$)/.exec(error.instancePath);
    if (entry) {
      const index = Number(entry[1]);
      entryProblems.set(index, [...(entryProblems.get(index) ?? []), problem]);
    } else {
      fileUsable = false;
      errors.push({ code: "file-invalid", problem });
    }
  }
  return { file: fileUsable ? (parsed as FileSettings) : {}, entryProblems };
}

export function loadAiServerSettings(options: {
  env: Record<string, string | undefined>;
  agentDir: string;
  home?: string;
}): AiServerSettingsResult {
  const { env } = options;
  const home = options.home ?? env.HOME ?? homedir();
  const warnings: SettingsProblem[] = [];
  const errors: SettingsProblem[] = [];
  const { file, entryProblems } = readFile(join(options.agentDir, "ai-server.json"), errors);
  /** Errors of a setting every router uses: nothing is usable then. */
  let sharedBroken = errors.length > 0;
  /** Errors of the router of AI_SERVER_URL alone. */
  let mainBroken = false;

  const pick = (variable: string, field: keyof Fields, shared: boolean): Sourced<string> | undefined => {
    const fromEnv = env[variable];
    const fromFile = file[field];
    const picked =
      fromEnv !== undefined && fromEnv !== ""
        ? { value: fromEnv, source: variable }
        : typeof fromFile === "string"
          ? { value: fromFile, source: `"${field}" in ${FILE_LABEL}` }
          : undefined;
    // Nothing with control characters reaches a path, a URL or ssh.
    if (picked && CONTROL.test(picked.value)) {
      errors.push({ code: "control-characters", source: picked.source });
      if (shared) sharedBroken = true;
      else mainBroken = true;
    }
    return picked;
  };

  const url = pick("AI_SERVER_URL", "url", false);
  const listed = file.servers ?? [];
  if (!url && listed.length === 0) return { servers: [], warnings, errors };

  // The shared settings: the router of AI_SERVER_URL uses them, and they are the defaults of every entry of `servers`.
  const certsDir = pick("AI_SERVER_CERTS_DIR", "certsDir", true);
  const dir = certsDir ? expandHome(certsDir.value, home) : join(options.agentDir, "certs");
  const dirRule = certsDir ? `$${certsDir.source === "AI_SERVER_CERTS_DIR" ? "AI_SERVER_CERTS_DIR" : "certsDir"}` : "~/.pi/agent/certs";
  const sharedPem = (which: keyof typeof PEM_FILES): Sourced<string> => {
    const given = pick(PEM_VARIABLES[which], which, true);
    if (given) return { value: expandHome(given.value, home), source: given.source };
    return { value: join(dir, PEM_FILES[which]), source: `${PEM_VARIABLES[which]} (default ${dirRule}/${PEM_FILES[which]})` };
  };
  const shared = { ca: sharedPem("ca"), clientCert: sharedPem("clientCert"), clientKey: sharedPem("clientKey") };

  let timeoutMs = file.timeoutMs ?? 300_000;
  const timeoutText = env.AI_SERVER_TIMEOUT_MS;
  if (timeoutText !== undefined && timeoutText !== "") {
    if (/^[1-9]\d*$/.test(timeoutText)) timeoutMs = Number(timeoutText);
    else warnings.push({ code: "timeout-invalid", value: timeoutText, using: timeoutMs });
  }
  const timeoutSource =
    timeoutText && /^[1-9]\d*$/.test(timeoutText)
      ? "AI_SERVER_TIMEOUT_MS"
      : file.timeoutMs
        ? `"timeoutMs" in ${FILE_LABEL}`
        : "the default of AI_SERVER_TIMEOUT_MS";

  const presetPath = pick("AI_SERVER_PRESET_PATH", "presetPath", true)?.value ?? "~/.llama-models.ini";
  if (!PRESET_PATH.test(presetPath)) {
    errors.push({ code: "preset-path-invalid", value: presetPath });
    sharedBroken = true;
  }

  /** `position`: its place among every router configured, the broken ones too (the first is ai-server). */
  type Candidate = Omit<AiServerSettings, "provider" | "amongSeveral"> & { position: number };
  const candidates: Candidate[] = [];
  if (url) {
    if (!/^https:\/\/[^\s/]+(\/.*)?$/.test(url.value)) {
      errors.push({ code: "url-not-https", source: url.source, value: url.value });
      mainBroken = true;
    } else if (/^https:\/\/[^/]*@/.test(url.value)) {
      // The client certificate is the credential: a user or password in the URL is never used or shown.
      errors.push({ code: "url-has-credentials", source: url.source, value: url.value });
      mainBroken = true;
    }
    const sshHost = pick("AI_SERVER_SSH_HOST", "sshHost", false);
    if (sshHost && !SSH_TARGET.test(sshHost.value)) {
      errors.push({ code: "ssh-host-invalid", source: sshHost.source, value: sshHost.value });
      mainBroken = true;
    }
    candidates.push({
      position: 0,
      name: file.name ?? DEFAULT_ROUTER_NAME,
      url: url.value.replace(/\/+$/, ""),
      // The words have always said AI_SERVER_URL and AI_SERVER_TIMEOUT_MS for this router, wherever the value came from.
      entry: undefined,
      ...shared,
      timeoutMs,
      timeoutSource: "AI_SERVER_TIMEOUT_MS",
      sshHost,
      presetPath,
      fallbackModels: file.models ?? [],
    });
  } else {
    const unused = [
      ...(file.models ? ['"models"'] : []),
      ...(file.sshHost ? ['"sshHost"'] : []),
      ...(env.AI_SERVER_SSH_HOST ? ["AI_SERVER_SSH_HOST"] : []),
    ];
    if (unused.length > 0) warnings.push({ code: "unused-top-level", fields: unused });
  }

  // Each entry of `servers`: its own values, else the shared ones. A broken entry is skipped; the others load.
  listed.forEach((entry, index) => {
    const problems = entryProblems.get(index);
    const name = typeof entry?.name === "string" ? entry.name : undefined;
    if (problems) {
      warnings.push({ code: "server-skipped", index, name, problems });
      return;
    }
    const of = (field: string) => `"${field}" of ${entry.name} in ${FILE_LABEL}`;
    const entryDir = entry.certsDir ? expandHome(entry.certsDir, home) : undefined;
    const pem = (which: keyof typeof PEM_FILES): Sourced<string> => {
      const own = entry[which];
      if (own) return { value: expandHome(own, home), source: of(which) };
      if (entryDir) return { value: join(entryDir, PEM_FILES[which]), source: `${of(which)} (default its "certsDir"/${PEM_FILES[which]})` };
      return shared[which];
    };
    candidates.push({
      position: (url ? 1 : 0) + index,
      name: entry.name!,
      url: entry.url!.replace(/\/+$/, ""),
      entry: index,
      ca: pem("ca"),
      clientCert: pem("clientCert"),
      clientKey: pem("clientKey"),
      timeoutMs: entry.timeoutMs ?? timeoutMs,
      timeoutSource: entry.timeoutMs ? of("timeoutMs") : timeoutSource,
      sshHost: entry.sshHost ? { value: entry.sshHost, source: of("sshHost") } : undefined,
      presetPath: entry.presetPath ?? presetPath,
      fallbackModels: entry.models ?? [],
    });
  });

  if (sharedBroken) return { servers: [], warnings, errors };
  // Each router keeps its place (and provider) whatever happens to the others: a model ref stays valid.
  const usable = candidates.filter((candidate) => !(url && candidate.position === 0 && mainBroken));
  const seen = new Map<string, string>();
  const named = usable.filter((candidate) => {
    const index = candidate.entry ?? -1;
    const holder = seen.get(candidate.name);
    if (holder !== undefined) {
      warnings.push({ code: "server-name-taken", index, name: candidate.name, takenBy: holder });
      return false;
    }
    seen.set(candidate.name, index < 0 ? `the router of ${url!.source}` : `servers[${index}]`);
    return true;
  });
  const amongSeveral = named.length > 1;
  return {
    servers: named.map(({ position, ...candidate }) => ({
      ...candidate,
      provider: position === 0 ? FIRST_PROVIDER : `${FIRST_PROVIDER}-${candidate.name}`,
      amongSeveral,
    })),
    warnings,
    errors,
  };
}
