// A bad `command` gives an error notification with the log path, /llamafiles
// reports nothing running, and pi stays usable. Also: a server that exits before it is
// ready, or crashes after, is reported with the last lines of its log; the next prompt
// starts it again, as the message says.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, startPi } from "../helpers/pi-harness.ts";
import { freePort, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("a command that does not exist: error with the log path, nothing running, pi still usable", async () => {
  const [port, goodPort] = [await freePort(), await freePort()];
  const pi = await startPi({
    llamafiles: [
      { id: "broken", name: "Broken", command: "/nonexistent/llamafile", args: ["--server", "--port", "{{port}}"], port },
      fakeModelEntry({ id: "good", name: "Good", port: goodPort, flags: ["--reply", "still usable"] }),
    ],
  });
  const logPath = join(pi.home, ".pi", "llamafile_logs", "broken.log");

  await pi.select("llamafiles/broken");
  const failed = await pi.prompt("hi");

  const expected = `Broken could not be started: command "/nonexistent/llamafile" was not found (use an absolute path, or a name on PATH). Log: ${logPath}`;
  expect(
    pi
      .notifications()
      .filter((n) => n.type === "error")
      .map((n) => n.message.split("\n")[0]),
  ).toEqual([expected]);
  expect(failed.error?.split("\n")[0]).toBe(expected);
  expect(await pi.command("/llamafiles")).toBe("No llamafile server is running");
  expect(pi.footer()).toEqual(["Starting Broken..."].concat([undefined as unknown as string]));
  expect(readFileSync(logPath, "utf8")).toContain('Could not start Broken: command "/nonexistent/llamafile" was not found');

  await pi.select("llamafiles/good");
  expect(await pi.prompt("hi")).toEqual({ text: "still usable", error: undefined });
});

test("exit before ready: the notification quotes the log's last lines; the log is 0600 with header and footer", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "dies", name: "Dies", port, flags: ["--exit-on-startup", "7"] })] });
  await pi.select("llamafiles/dies");
  await waitFor(() => pi.notifications().some((n) => n.type === "error"), "the error");
  const logPath = join(pi.home, ".pi", "llamafile_logs", "dies.log");
  const message = pi.notifications().find((n) => n.type === "error")!.message;

  expect(message).toMatch(new RegExp(`^Dies exited \\(code=7, signal=null\\) before it was ready\\. Log: ${logPath}\\nLast lines:\\n`));
  expect(message).toContain("exiting on startup with code 7");
  expect(statSync(logPath).mode & 0o777).toBe(0o600);
  const log = readFileSync(logPath, "utf8").trim().split("\n");
  expect(log[0]).toMatch(/^--- \d{4}-\d\d-\d\dT[\d:.]+Z Starting Dies ---$/);
  expect(log.at(-1)).toMatch(/^--- \d{4}-\d\d-\d\dT[\d:.]+Z Process exited \(code=7, signal=null\) ---$/);
  expect(await pi.command("/llamafiles")).toBe("No llamafile server is running");
});

test("a crash after ready is reported with the log tail, and the next prompt starts the server again", async () => {
  const port = await freePort();
  const home = makeHome();
  // The first server crashes 300 ms after ready; the one the next prompt starts stays up.
  const flags = ["--die-after-ms", "300", "--crash-marker", join(home, "crashed-once")];
  const pi = await startPi({ home, llamafiles: [fakeModelEntry({ id: "flaky", name: "Flaky", port, flags })] });
  await pi.select("llamafiles/flaky");
  await pi.prompt("hi");
  await waitFor(() => pi.notifications().some((n) => n.type === "error"), "the crash report");

  const message = pi.notifications().find((n) => n.type === "error")!.message;
  expect(message).toMatch(/^Flaky exited \(code=3, signal=null\) after it was ready; the next prompt starts it again\. Log: /);
  expect(message).toContain("crashing");
  expect(await pi.command("/llamafiles")).toBe("No llamafile server is running");
  expect(pi.footer().at(-1)).toBeUndefined();
  // The next prompt does what the message said: a fresh server answers it.
  expect(await pi.prompt("again")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
  expect(readFileSync(join(pi.home, ".pi", "llamafile_logs", "flaky.log"), "utf8").match(/Starting Flaky/g)).toHaveLength(2);
});
