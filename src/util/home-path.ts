/** `~` in the paths a user writes in a settings file: one rule for models.json and ai-server.json. */
import { join } from "node:path";

/** `~` and `~/x` are the user's home; everything else is kept (the schemas allow only absolute paths besides). */
export function expandHome(path: string, home: string): string {
  return path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path;
}
