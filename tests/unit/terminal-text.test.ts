// Text from configs, servers and logs is made terminal-safe before it is shown: escape
// sequences removed, other control characters shown as "?", newlines kept.
import { expect, test } from "vitest";
import { terminalSafe } from "../../src/pi-session/terminal-text.ts";

test.each([
  ["clear screen and home", "\u001b[2J\u001b[HB running", "B running"],
  ["a colour", "\u001b[31mred\u001b[0m text", "red text"],
  ["a window title (OSC, BEL)", "\u001b]0;pwned\u0007name", "name"],
  ["a window title (OSC, ST)", "\u001b]2;pwned\u001b\\name", "name"],
  ["a hyperlink", "\u001b]8;;https://evil\u001b\\click\u001b]8;;\u001b\\", "click"],
  ["an 8-bit CSI", "\u009b2Jgone", "gone"],
  ["a device control string", "\u001bPq#0;2;0;0;0\u001b\\after", "after"],
  ["a bell and a backspace", "a\u0007b\u0008c", "a?b?c"],
  ["a carriage return that would overwrite the line", "safe\rEVIL", "safe\nEVIL"],
  ["a NUL", "a\u0000b", "a?b"],
  ["bidirectional overrides", "file\u202Eexe.txt", "file?exe.txt"],
  ["tabs", "a\tb", "a b"],
  ["plain text with newlines and unicode", "Qwen · 48 tok/s\n⚙ loading", "Qwen · 48 tok/s\n⚙ loading"],
])("%s", (_what, input, shown) => {
  expect(terminalSafe(input)).toBe(shown);
});
