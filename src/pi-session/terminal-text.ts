/**
 * Text from config files, servers and their logs, made safe to show in a terminal: escape
 * sequences (colours, cursor moves, screen clears, window titles, hyperlinks) are removed,
 * other control characters and bidirectional overrides become "?" (tabs become spaces), and
 * newlines stay. Every line the extension shows goes through this.
 */
// CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC (… ST), 8-bit CSI, then any two-character escape.
const ESCAPE_SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this module's job
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[PX^_][^\u001b]*(?:\u001b\\)?|\u009b[0-?]*[ -/]*[@-~]|\u001b[\s\S]?/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this module's job
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, "").replace(/\t/g, " ").replace(/\r\n?/g, "\n").replace(CONTROL, "?");
}
