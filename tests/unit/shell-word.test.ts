// Paths in commands the messages suggest (mv, rm) read back unchanged by sh (src/util/shell-word.ts).
import { expect, test } from "vitest";
import { shellWord } from "../../src/util/shell-word.ts";

test("a path in a command the user copies is quoted only when sh would read it otherwise", () => {
  expect(shellWord("/home/me/.pi/llamafile_cache/tiny-a")).toBe("/home/me/.pi/llamafile_cache/tiny-a");
  expect(shellWord("/home/Jo Doe/.pi/x")).toBe("'/home/Jo Doe/.pi/x'");
  expect(shellWord("/tmp/it's")).toBe("'/tmp/it'\\''s'");
});
