/**
 * An ExtensionUIContext that records what the extension shows and answers dialogs
 * from a script. Methods without a behaviour here are recorded no-ops.
 */
import type { ExtensionUIContext } from "@earendil-works/pi-coding-agent";

export interface UiCall {
  method: string;
  args: unknown[];
}

export interface RecordingUi {
  ui: ExtensionUIContext;
  calls: UiCall[];
  notifications: Array<{ message: string; type: string }>;
  /** Every footer status text for a key, in order (undefined = cleared). */
  statuses(key: string): Array<string | undefined>;
  confirms: Array<{ title: string; message: string; answer: boolean }>;
  /** The answer the next confirm dialogs give (default: No, as Esc would). */
  answerConfirm(answer: boolean): void;
  /** Raw terminal input, as a key press reaches onTerminalInput listeners (e.g. "\x1b" for Esc). */
  press(data: string): void;
}

export function createRecordingUi(): RecordingUi {
  const calls: UiCall[] = [];
  const notifications: RecordingUi["notifications"] = [];
  const confirms: RecordingUi["confirms"] = [];
  let confirmAnswer = false;
  const inputListeners = new Set<(data: string) => unknown>();
  const known: Partial<ExtensionUIContext> = {
    notify: (message, type = "info") => void notifications.push({ message, type }),
    confirm: async (title, message) => {
      confirms.push({ title, message, answer: confirmAnswer });
      return confirmAnswer;
    },
    select: async () => undefined,
    input: async () => undefined,
    editor: async () => undefined,
    getEditorText: () => "",
    getToolsExpanded: () => false,
    getAllThemes: () => [],
    getTheme: () => undefined,
    setTheme: () => ({ success: false, error: "recording UI" }),
    onTerminalInput: (listener) => {
      inputListeners.add(listener);
      return () => inputListeners.delete(listener);
    },
  };
  // pi copies the UI object's methods, so every method must be an own property.
  const methods = [
    "select",
    "confirm",
    "input",
    "notify",
    "onTerminalInput",
    "setStatus",
    "setWorkingMessage",
    "setWorkingVisible",
    "setWorkingIndicator",
    "setHiddenThinkingLabel",
    "setWidget",
    "setFooter",
    "setHeader",
    "setTitle",
    "custom",
    "pasteToEditor",
    "setEditorText",
    "getEditorText",
    "editor",
    "addAutocompleteProvider",
    "setEditorComponent",
    "getEditorComponent",
    "getAllThemes",
    "getTheme",
    "setTheme",
    "getToolsExpanded",
    "setToolsExpanded",
  ] as const;
  const ui = Object.fromEntries(
    methods.map((method) => [
      method,
      (...args: unknown[]) => {
        calls.push({ method, args });
        const impl = (known as Record<string, unknown>)[method];
        return typeof impl === "function" ? (impl as (...a: unknown[]) => unknown)(...args) : undefined;
      },
    ]),
  ) as unknown as ExtensionUIContext;
  return {
    ui,
    calls,
    notifications,
    confirms,
    statuses: (key) => calls.filter((c) => c.method === "setStatus" && c.args[0] === key).map((c) => c.args[1] as string | undefined),
    answerConfirm: (answer) => {
      confirmAnswer = answer;
    },
    press: (data) => {
      for (const listener of [...inputListeners]) listener(data);
    },
  };
}
