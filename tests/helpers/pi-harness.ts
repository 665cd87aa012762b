/**
 * A real pi runtime (the SDK's services + runtime path) with this package loaded as an
 * extension from the repository root, exactly as `pi -e .` loads it, in a throwaway HOME.
 * UI calls are recorded (tests/helpers/recording-ui.ts); stderr lines are captured.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentSessionRuntime } from "@earendil-works/pi-coding-agent";
import { FAKE_SERVER, REPO_ROOT, runTag } from "./fake-llamafile.ts";
import { findProcesses, waitFor } from "./processes.ts";
import { createRecordingUi, type RecordingUi } from "./recording-ui.ts";

export interface PiHarnessOptions {
  /** The whole `providers.llamafiles` block, or just its models (then in README's form, with api and baseUrl). */
  llamafiles?: Record<string, unknown> | Array<Record<string, unknown>>;
  /** Raw models.json text (overrides `llamafiles`). */
  modelsJsonText?: string;
  /** "provider/id" pi starts with (settings.json default model). */
  preselect?: string;
  /** Reuse a HOME (e.g. a second pi after the first quit). */
  home?: string;
  /** Without a UI: ctx.hasUI false, dialogs impossible (print/json mode). */
  noUi?: boolean;
  /** pi settings (settings.json), merged with the preselected model. */
  settings?: Record<string, unknown>;
  /** Writes more files into the agent dir before pi starts. */
  setup?: (agentDir: string) => void;
  /** pi's own tools (read, bash, edit, …) active, as in a real session; off by default. */
  withTools?: boolean;
  /** The AI_SERVER_* variables for this pi; every other AI_SERVER_* variable is removed. */
  aiServerEnv?: Record<string, string>;
  /**
   * pi's availability passes land only after it chose the start model: what pi's racing
   * background passes sometimes do (src/pi-versions/lost-start-model.ts). Every refresh of pi's
   * models before the session exists does nothing; later ones run as usual.
   */
  availabilityLateAtBoot?: boolean;
}

export interface PiHarness {
  home: string;
  runtime: AgentSessionRuntime;
  ui: RecordingUi;
  stderr: string[];
  footer(): Array<string | undefined>;
  notifications(): Array<{ message: string; type: string }>;
  select(ref: string): Promise<void>;
  prompt(text: string): Promise<{ text: string; error: string | undefined }>;
  command(line: string): Promise<string | undefined>;
  reload(): Promise<void>;
  quit(): Promise<void>;
  cleanup(): Promise<void>;
}

const live = new Set<PiHarness>();

export function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), "pi-llama-test-"));
  mkdirSync(join(home, ".pi", "agent"), { recursive: true });
  return home;
}

export async function startPi(options: PiHarnessOptions): Promise<PiHarness> {
  const home = options.home ?? makeHome();
  const agentDir = join(home, ".pi", "agent");
  mkdirSync(agentDir, { recursive: true });
  process.env.HOME = home;
  process.env.PI_CODING_AGENT_DIR = agentDir;
  process.env.PI_OFFLINE = "1";
  // No test may reach a real router: only the variables the test gives exist.
  for (const name of Object.keys(process.env)) if (name.startsWith("AI_SERVER_")) delete process.env[name];
  Object.assign(process.env, options.aiServerEnv ?? {});
  if (options.modelsJsonText !== undefined) {
    writeFileSync(join(agentDir, "models.json"), options.modelsJsonText);
  } else if (options.llamafiles) {
    const block = Array.isArray(options.llamafiles)
      ? { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models: options.llamafiles }
      : options.llamafiles;
    writeFileSync(join(agentDir, "models.json"), JSON.stringify({ providers: { llamafiles: block } }, null, 2));
  }
  options.setup?.(agentDir);
  const settings: Record<string, unknown> = { ...options.settings };
  if (options.preselect) {
    const [provider, ...rest] = options.preselect.split("/");
    Object.assign(settings, { defaultProvider: provider, defaultModel: rest.join("/") });
  }
  if (Object.keys(settings).length > 0) writeFileSync(join(agentDir, "settings.json"), JSON.stringify(settings));

  const pi = await import("@earendil-works/pi-coding-agent");
  const cwd = home;
  let availabilityHeld = false;
  const makeServices = async () => {
    const modelRuntime = await pi.ModelRuntime.create({ authPath: join(agentDir, "auth.json"), modelsPath: join(agentDir, "models.json") });
    if (options.availabilityLateAtBoot) {
      const refresh = modelRuntime.refresh.bind(modelRuntime);
      availabilityHeld = true;
      modelRuntime.refresh = (async (o?: Parameters<typeof refresh>[0]) =>
        availabilityHeld ? { aborted: false, errors: new Map() } : refresh(o)) as typeof refresh;
    }
    return pi.createAgentSessionServices({
      cwd,
      agentDir,
      modelRuntime,
      resourceLoaderOptions: {
        additionalExtensionPaths: [REPO_ROOT],
        noExtensions: true,
        noSkills: true,
        noPromptTemplates: true,
        noThemes: true,
        noContextFiles: true,
      },
    });
  };
  const runtime = await pi.createAgentSessionRuntime(
    async (o) => {
      const services = await makeServices();
      const created = await pi.createAgentSessionFromServices({
        services,
        sessionManager: o.sessionManager,
        sessionStartEvent: o.sessionStartEvent,
        noTools: options.withTools ? undefined : "all",
      });
      availabilityHeld = false;
      return { ...created, services, diagnostics: services.diagnostics };
    },
    { cwd, agentDir, sessionManager: pi.SessionManager.inMemory(cwd) },
  );

  const ui = createRecordingUi();
  const stderr: string[] = [];
  const originalWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stderr.push(...String(chunk).split("\n").filter(Boolean));
    return (originalWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;

  const bind = (session: typeof runtime.session) =>
    session.bindExtensions(options.noUi ? ({ mode: "print" } as never) : { uiContext: ui.ui, mode: "tui" });
  runtime.setRebindSession(bind);
  await bind(runtime.session);

  let disposed = false;
  const harness: PiHarness = {
    home,
    runtime,
    ui,
    stderr,
    footer: () => ui.statuses("llamafiles"),
    notifications: () => ui.notifications,
    async select(ref) {
      const [provider, ...rest] = ref.split("/");
      const model = runtime.services.modelRuntime.getModel(provider!, rest.join("/"));
      if (!model) throw new Error(`pi has no model ${ref}`);
      await runtime.session.setModel(model);
    },
    async prompt(text) {
      await runtime.session.prompt(text);
      const last = runtime.session.messages.at(-1) as { role: string; errorMessage?: string } | undefined;
      return { text: runtime.session.getLastAssistantText() ?? "", error: last?.role === "assistant" ? last.errorMessage : undefined };
    },
    async command(line) {
      const before = ui.notifications.length;
      await runtime.session.prompt(line);
      return ui.notifications.slice(before).at(-1)?.message;
    },
    async reload() {
      await runtime.session.reload();
    },
    async quit() {
      if (disposed) return;
      disposed = true;
      await runtime.dispose();
    },
    async cleanup() {
      try {
        await harness.quit();
      } finally {
        process.stderr.write = originalWrite;
        live.delete(harness);
        // Whatever a failing test left behind: end it (only our tagged fake servers).
        for (const pid of findProcesses(FAKE_SERVER, runTag())) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
        await waitFor(() => findProcesses(FAKE_SERVER, runTag()).length === 0, "leftover fake servers to die", 5_000);
        if (!options.home) rmSync(home, { recursive: true, force: true });
      }
    },
  };
  live.add(harness);
  return harness;
}

/** For afterEach: clean up every harness a test started, even when it failed midway. */
export async function cleanupAll(): Promise<void> {
  // Newest first: each harness restores the stderr writer it found.
  for (const harness of [...live].reverse()) await harness.cleanup();
}
