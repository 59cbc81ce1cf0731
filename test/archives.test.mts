// The archive names of 2026.8.1+ (`<transcript>.deleted|reset.<ts>.<32 hex>[.zst]`, docs/naming.md): produced by
// the real OpenClaw 2026.9.6 `openclaw sessions delete` on a genuine state dir, and in a hand-built SQLite-era
// fixture. Sync backs them up under their decoded name, prune ages them with their session, verify checks them,
// local-state lists them.
// test tier: full — Node 24 and OpenClaw 2026.9.6 from .tools
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer, connect } from "node:net";
import { dirname, join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { makeSqliteState, migrateWithOpenClaw, node24 } from "./helpers/sqlitestate.mts";
import { runCommand, runScript } from "./helpers/run.mts";
import { toolPath } from "../scripts/dev/test-tools.mts";
import { classify } from "../scripts/lib/openclaw/files.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("archives");

const NEW_ARCHIVE = /^(.+\.jsonl)\.deleted\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z\.[0-9a-f]{32}$/;
const withNode24 = () => ({ PATH: `${dirname(node24())}:${process.env.PATH}` });

async function sync(state: string, memory: string, agent = "main") {
  const result = await runScript(
    "sync-memory.mts",
    ["--local", "--state-dir", state, "--agent", agent, "--memory", memory, "--json"],
    { env: withNode24(), timeoutMs: 300_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { unknownFiles: string[]; skippedFiles: unknown[] };
}

/** What the other scripts make of a backed-up archive: verify passes, prune ages it, local-state lists it. */
async function checkConsumers(memory: string, archive: string, home: string) {
  const verify = await runScript("verify.mts", [memory, "--json"]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.doesNotMatch(verify.stdout, /unknown-file/);

  const prune = await runScript("prune.mts", [
    "--memory",
    memory,
    "--older-than",
    "1d",
    "--keep-last",
    "1",
    "--now",
    "2030-01-01T00:00:00Z",
    "--dry-run",
    "--json",
  ]);
  assert.equal(prune.code, 0, prune.stderr);
  assert.ok(prune.stdout.includes(JSON.stringify(archive)), `prune does not age ${archive}: ${prune.stdout}`);

  const out = join(dirname(memory), "local-state");
  const local = await runScript(
    "local-state.mts",
    ["--memory", memory, "--out", out, "--openclaw", join(tmp, "no-openclaw"), "--json"],
    { env: { HOME: home } },
  );
  assert.equal(local.code, 0, local.stderr);
  const report = JSON.parse(local.stdout) as { sessions: { key: string; source?: string }[] };
  const listed = report.sessions.find((s) => s.source === archive);
  assert.ok(listed, `local-state does not list ${archive}`);
  assert.match(listed.key, /:history:deleted:/);
}

describe("the 2026.9.6 delete archive", () => {
  test("hand-built SQLite-era fixture (layout C): row and .zst file, backed up once, decoded, known", async () => {
    const state = await makeSqliteState(join(tmp, "fixture", "state"), { layout: "C" });
    const archive = [...state.expected.keys()].find((name) => NEW_ARCHIVE.test(name));
    assert.ok(archive, "the fixture holds a 2026.9.6-shaped delete archive");
    const memory = join(tmp, "fixture", "memory");
    const summary = await sync(state.root, memory, state.agentId);
    assert.deepEqual(summary.unknownFiles, []);
    assert.deepEqual(summary.skippedFiles, []);
    assert.ok(readFileSync(join(memory, "sessions", archive)).equals(state.expected.get(archive)!));
    assert.equal(classify(archive).kind, "archive");
    await checkConsumers(memory, archive, join(tmp, "fixture", "home"));
  });

  test("made by the real `openclaw sessions delete` (2026.9.6, through its gateway) on a genuine state dir", async () => {
    const generated = makeStateDir(join(tmp, "real", "state"));
    const stateDir = generated.root;
    const home = join(tmp, "real", "home");
    await migrateWithOpenClaw(stateDir, home);
    const openclaw = toolPath("openclaw-2026.9.6");
    const env = { HOME: home, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: "1", CI: "1" };
    const listed = await runCommand(node24(), [openclaw, "sessions", "--json", "--limit", "all"], {
      env,
      cwd: home,
      timeoutMs: 120_000,
    });
    assert.equal(listed.code, 0, listed.stderr);
    const sessions = (
      JSON.parse(listed.stdout.slice(listed.stdout.indexOf("{"))) as {
        sessions: { key: string; sessionId: string }[];
      }
    ).sessions;
    const victim = sessions.find((s) => s.key.startsWith("agent:main:"))!;
    assert.ok(victim, "a session of agent main to delete");

    const port = await freePort();
    const token = "archives-test-token";
    const gateway = spawn(
      node24(),
      [
        openclaw,
        "gateway",
        "--port",
        String(port),
        "--bind",
        "loopback",
        "--auth",
        "token",
        "--token",
        token,
      ],
      { env: { ...env, PATH: process.env.PATH }, cwd: home, stdio: "ignore" },
    );
    try {
      await waitForPort(port, 240_000);
      const deleted = await runCommand(
        node24(),
        [
          openclaw,
          "sessions",
          "delete",
          victim.key,
          "--yes",
          "--json",
          "--url",
          `ws://127.0.0.1:${port}`,
          "--token",
          token,
        ],
        { env, cwd: home, timeoutMs: 180_000 },
      );
      assert.equal(deleted.code, 0, deleted.stdout + deleted.stderr);
    } finally {
      gateway.kill("SIGTERM");
      await new Promise((resolve) =>
        gateway.exitCode !== null ? resolve(null) : gateway.once("exit", resolve),
      );
    }
    const onBot = readdirSync(join(stateDir, "agents", "main", "sessions")).filter((n) =>
      n.startsWith(`${victim.sessionId}.jsonl.deleted.`),
    );
    assert.equal(onBot.length, 1, `OpenClaw left ${onBot.join(", ") || "no archive"}`);
    assert.match(onBot[0], /\.[0-9a-f]{32}\.zst$/, "the 2026.9.6 shape");

    const memory = join(tmp, "real", "memory");
    const summary = await sync(stateDir, memory);
    assert.deepEqual(summary.unknownFiles, []);
    const archive = onBot[0].slice(0, -".zst".length);
    assert.match(archive, NEW_ARCHIVE);
    const text = readFileSync(join(memory, "sessions", archive), "utf8");
    assert.ok(text.includes(victim.sessionId), "the archive holds the deleted conversation");
    for (const line of text.split("\n").filter(Boolean)) JSON.parse(line);
    await checkConsumers(memory, archive, join(tmp, "real", "home-local"));
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`the OpenClaw gateway did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000}s`);
}
