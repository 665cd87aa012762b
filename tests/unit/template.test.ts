// {{port}} substitution in args.
import { expect, test } from "vitest";
import { resolveArgs } from "../../src/llamafiles/process/port-template.ts";

test.each([
  ["present as its own element", ["--port", "{{port}}"], ["--port", "11434"]],
  ["inside an element", ["--port={{port}}"], ["--port=11434"]],
  ["absent", ["--server", "-m", "model.gguf"], ["--server", "-m", "model.gguf"]],
  ["repeated across elements", ["{{port}}", "x{{port}}"], ["11434", "x11434"]],
  ["several times in one element", ["{{port}}:{{port}}"], ["11434:11434"]],
  ["unknown tokens pass through", ["{{cwd}}", "{{modelId}}"], ["{{cwd}}", "{{modelId}}"]],
  ["whitespace-sensitive: {{ port }} is not the token", ["{{ port }}", "{{Port}}"], ["{{ port }}", "{{Port}}"]],
  ["empty args", [], []],
])("%s", (_name, args, expected) => {
  expect(resolveArgs(args, 11434)).toEqual(expected);
});

test("does not modify the configured array", () => {
  const args = ["--port", "{{port}}"];
  resolveArgs(args, 1);
  expect(args).toEqual(["--port", "{{port}}"]);
});
