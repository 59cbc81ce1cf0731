// Continuity, observed rather than assumed: a backup restored by scripts/restore.mts into a new instance of the
// REAL OpenClaw 2026.7.1 (file era) and 2026.9.6 (SQLite era); `openclaw agent --local` then continues the
// restored main session against a small OpenAI-compatible model server on 127.0.0.1 (a custom provider with
// `baseUrl` in openclaw.json), and the server must receive the restored earlier messages in its request.
// Run: npx tsx test/run.mts continuity
// test tier: full — the real OpenClaw 2026.7.1 and 2026.9.6 and Node 24 from .tools
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { tempDir } from "./helpers/tmp.mts";
import { runCommand, runScript, syncLocal } from "./helpers/run.mts";
import { modelConfig, startModelServer } from "./helpers/model-server.mts";
import { botBin } from "./helpers/sqlitestate.mts";
import { ensureTools } from "../scripts/dev/test-tools.mts";

ensureTools();
const root = tempDir("continuity-test");
const HOME = join(root, "home");
mkdirSync(HOME, { recursive: true });

/** The user messages of a transcript, in order (the text OpenClaw sends the model again). */
function userTexts(file: string): string[] {
  const texts: string[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    try {
      const entry = JSON.parse(line) as { type?: string; message?: { role?: string; content?: unknown } };
      if (entry.type !== "message" || entry.message?.role !== "user") continue;
      const content = entry.message.content;
      if (typeof content === "string") texts.push(content);
      else if (Array.isArray(content))
        texts.push(
          content
            .map((part: { text?: string }) => part.text ?? "")
            .join("")
            .trim(),
        );
    } catch {
      // a line held back mid-append is not in the backup anyway
    }
  }
  return texts.filter(Boolean);
}

const flatten = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((part: { text?: string }) => part.text ?? "").join("")
      : "";

for (const version of ["2026.7.1", "2026.9.6"]) {
  describe(`continuity with the real OpenClaw ${version}`, () => {
    test("the bot continues a restored session: the model receives the restored earlier messages", async () => {
      const dir = join(root, version);
      const cloud = makeStateDir(join(dir, "cloud"), { secondAgent: false });
      const memory = join(dir, "memory");
      const synced = await syncLocal(cloud.root, memory, ["--quiet"]);
      assert.equal(synced.code, 0, synced.stderr);
      const index = JSON.parse(readFileSync(join(memory, "sessions", "sessions.json"), "utf8"));
      const main = index["agent:main:main"] as { sessionId: string };
      const earlier = userTexts(join(memory, "sessions", `${main.sessionId}.jsonl`));
      assert.ok(earlier.length >= 2, "the backed-up main session has earlier user messages");

      const server = await startModelServer("Noted.");
      try {
        // The recreated instance: its own openclaw.json (the model provider, sessions that do not expire daily,
        // maintenance in warn mode), no sessions yet.
        const state = join(dir, "state");
        mkdirSync(state, { recursive: true });
        writeFileSync(
          join(state, "openclaw.json"),
          `${JSON.stringify(
            {
              meta: { lastTouchedVersion: version },
              gateway: { mode: "local" },
              ...modelConfig(server.baseUrl),
              session: { reset: { mode: "idle", idleMinutes: 5_256_000 }, maintenance: { mode: "warn" } },
            },
            null,
            2,
          )}\n`,
        );
        const env = { PATH: `${botBin(root, version)}${delimiter}${process.env.PATH}`, HOME };
        const restored = await runScript(
          "restore.mts",
          ["--local", "--state-dir", state, "--memory", memory, "--quiet"],
          { env, timeoutMs: 600_000 },
        );
        assert.equal(restored.code, 0, restored.stderr);

        const question = "What did I ask you before? (continuity check)";
        const agent = await runCommand(
          join(botBin(root, version), "openclaw"),
          [
            "agent",
            "--local",
            "--agent",
            "main",
            "--session-key",
            "agent:main:main",
            "--message",
            question,
            "--json",
          ],
          {
            env: { ...env, OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: undefined },
            cwd: HOME,
            timeoutMs: 600_000,
          },
        );
        assert.equal(agent.code, 0, `openclaw agent failed: ${agent.stderr.slice(-2000)}`);
        const reply = JSON.parse(agent.stdout.slice(agent.stdout.indexOf("{"))) as {
          meta?: { agentMeta?: { sessionId?: string } };
        };
        assert.equal(reply.meta?.agentMeta?.sessionId, main.sessionId, "the bot started a new session");
        assert.ok(server.requests.length > 0, "the model server was never called");
        const sent = server.requests.at(-1)!.messages ?? [];
        const users = sent.filter((m) => m.role === "user").map((m) => flatten(m.content));
        for (const text of earlier)
          assert.ok(
            users.some((u) => u.includes(text)),
            `the model did not receive the restored message ${JSON.stringify(text)}`,
          );
        assert.ok(users.at(-1)?.includes(question) || users.some((u) => u.includes(question)));
      } finally {
        await server.close();
      }
    });
  });
}
