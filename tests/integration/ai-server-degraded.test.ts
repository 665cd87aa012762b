// Degrade, don't vanish: with the client certificate material missing, the fallback models
// stay listed and a prompt on one fails with the reason; every /ai-server-* command says it.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("a missing client certificate: fallback models listed, prompts and commands say what is missing", async () => {
  const closedPort = await freePort();
  const pi = await startPi({
    settings: { retry: { enabled: false } },
    setup: (agentDir) =>
      writeFileSync(join(agentDir, "ai-server.json"), JSON.stringify({ models: [{ id: "qwen-fallback", contextWindow: 32768 }] })),
    aiServerEnv: {
      AI_SERVER_URL: `https://localhost:${closedPort}`,
      AI_SERVER_CERTS_DIR: "/nonexistent/certs",
      AI_SERVER_CA: "/nonexistent/certs/root-ca.pem",
      AI_SERVER_CLIENT_CERT: "/nonexistent/certs/client.pem",
      AI_SERVER_CLIENT_KEY: "/nonexistent/certs/client.key",
    },
  });
  const missing =
    'ai-server: cannot read the client certificate /nonexistent/certs/client.pem (the file does not exist); set by AI_SERVER_CLIENT_CERT. See README "Client set-up".';
  expect(pi.notifications()).toContainEqual({ type: "error", message: missing });
  expect(pi.runtime.services.modelRuntime.getModels("ai-server").map((m) => [m.id, m.contextWindow])).toEqual([["qwen-fallback", 32768]]);

  await pi.select("ai-server/qwen-fallback");
  const { error } = await pi.prompt("hi");
  expect(error).toContain(missing);
  expect(error).toMatch(/root-ca\.pem .* does not exist/);

  for (const command of ["/ai-server-status", "/ai-server-refresh", "/ai-server-load qwen-fallback", "/ai-server-preset"]) {
    const before = pi.notifications().length;
    await pi.command(command);
    const replies = pi.notifications().slice(before);
    expect(replies, command).toHaveLength(1);
    expect(replies[0]).toMatchObject({ type: "error" });
    expect(replies[0]!.message, command).toContain(missing);
  }
});
