// scripts/restore.mts into the REAL OpenClaw 2026.9.6 (SQLite era), --local: `--prefer backup` (the backup's
// session becomes current under the conflicting key, the instance's own moves to its restore-displaced key and
// keeps every line and its metadata), the workspace at 2026.9.6's default (<state>/workspace), and OpenClaw's
// importer failing after part of the import: restore says what the database holds, takes the rest out of
// sessions/ (a gateway would exit 78 on it), exits 1, and a second run adds only what is missing.
// test tier: full — the real OpenClaw 2026.9.6 and Node 24 from .tools
// Run: npx tsx test/run.mts restore-sqlite
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { delimiter, join } from "node:path";
import { conversation, makeStateDir, rng } from "../scripts/dev/statedir.mts";
import { runCommand, runScript, syncLocal, type RunResult } from "./helpers/run.mts";
import { migrateWithOpenClaw, runExporter } from "./helpers/sqlitestate.mts";
import { tempDir } from "./helpers/tmp.mts";
import { ensureTools, toolPath } from "../scripts/dev/test-tools.mts";
import { classify } from "../scripts/lib/openclaw/files.mts";
import type { RestoreSummary } from "../scripts/lib/restore/run.mts";

ensureTools();
const NODE24 = toolPath("node24");
const VERSION = "2026.9.6";
const root = tempDir("restore-sqlite");
chmodSync(root, 0o755);
const HOME = join(root, "home");
mkdirSync(HOME, { recursive: true });

/** A folder with `openclaw` and `node` as on a bot's PATH; `doctorTail` runs after the real doctor (a failure). */
function botBin(name: string, doctorTail = ""): string {
  const bin = join(root, `bin-${name}`);
  mkdirSync(bin, { recursive: true });
  const real = `${NODE24} ${toolPath(`openclaw-${VERSION}`)}`;
  writeFileSync(
    join(bin, "openclaw"),
    doctorTail
      ? `#!/bin/sh\nif [ "$1" = doctor ]; then\n${doctorTail}\nfi\nexec ${real} "$@"\n`
      : `#!/bin/sh\nexec ${real} "$@"\n`,
    { mode: 0o755 },
  );
  symlinkSync(NODE24, join(bin, "node"));
  return bin;
}
const REAL_BIN = botBin("real");

const cloud = makeStateDir(join(root, "cloud"), { secondAgent: false });
const memory = join(root, "memory");
const WORKSPACE = {
  "MEMORY.md": "# Memory\n\n- Dana prefers short answers.\n",
  "SOUL.md": "# Soul\n\nCalm and precise.\n",
  "memory/2026-11-19.md": "# 2026-11-19\n\nMoved the review to Friday.\n",
};
before(async () => {
  const synced = await syncLocal(cloud.root, memory, ["--quiet"]);
  assert.equal(synced.code, 0, synced.stderr);
  for (const [path, text] of Object.entries(WORKSPACE)) {
    mkdirSync(join(memory, "workspace", "memory"), { recursive: true });
    writeFileSync(join(memory, "workspace", path), text);
  }
});
const backupSessions = join(memory, "sessions");
const backupIndex = () =>
  JSON.parse(readFileSync(join(backupSessions, "sessions.json"), "utf8")) as Record<
    string,
    { sessionId: string }
  >;

function restore(bin: string, state: string, args: string[]): Promise<RunResult> {
  return runScript("restore.mts", ["--local", "--memory", memory, "--state-dir", state, ...args], {
    env: { PATH: `${bin}${delimiter}${process.env.PATH}`, HOME },
    timeoutMs: 600_000,
  });
}

function summaryOf(result: RunResult): RestoreSummary {
  assert.equal(result.code, 0, `restore failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as RestoreSummary;
}

async function sessionsJson(
  state: string,
): Promise<{ key: string; sessionId: string; updatedAt?: number }[]> {
  const result = await runCommand(
    join(REAL_BIN, "openclaw"),
    ["sessions", "--json", "--limit", "all", "--agent", "main"],
    {
      env: { HOME, OPENCLAW_STATE_DIR: state },
      cwd: HOME,
      timeoutMs: 120_000,
    },
  );
  assert.equal(result.code, 0, `openclaw sessions failed: ${result.stderr}`);
  return (
    JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as {
      sessions: { key: string; sessionId: string; updatedAt?: number }[];
    }
  ).sessions;
}

/** Lines of every export file but the index. */
async function exportedLines(state: string): Promise<{ lines: Set<string>; files: Map<string, Buffer> }> {
  const exported = await runExporter(["stream", state, "main"]);
  assert.equal(exported.code, 0, exported.stderr);
  const lines = new Set<string>();
  for (const [name, bytes] of exported.files)
    if (name !== "sessions.json")
      for (const line of bytes.toString("utf8").split("\n")) if (line) lines.add(line);
  return { lines, files: exported.files };
}

const OWN_MAIN = "0a11ce00-0000-4000-a000-000000000001";
const OWN_MAIN_UPDATED = Date.parse("2026-11-28T11:00:00Z");

/** An upgraded instance whose database holds its own agent:main:main (a key the backup uses for another session),
 * and a workspace of its own at 2026.9.6's default, <state>/workspace, with its own SOUL.md. */
async function upgradedInstance(name: string): Promise<string> {
  const state = join(root, name);
  const sessions = join(state, "agents", "main", "sessions");
  mkdirSync(sessions, { recursive: true });
  const now = Date.parse("2026-11-28T10:00:00Z");
  writeFileSync(join(sessions, `${OWN_MAIN}.jsonl`), conversation(rng(7), OWN_MAIN, now, 4).lines.join(""));
  writeFileSync(
    join(sessions, "sessions.json"),
    JSON.stringify({
      "agent:main:main": {
        sessionId: OWN_MAIN,
        updatedAt: OWN_MAIN_UPDATED,
        sessionFile: `${OWN_MAIN}.jsonl`,
        chatType: "direct",
      },
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    join(state, "openclaw.json"),
    `${JSON.stringify({ meta: { lastTouchedVersion: VERSION }, gateway: { mode: "local" } })}\n`,
  );
  await migrateWithOpenClaw(state, HOME);
  mkdirSync(join(state, "workspace"), { recursive: true });
  writeFileSync(join(state, "workspace", "SOUL.md"), "# Soul\n\nThe template of a new instance.\n");
  return state;
}

describe("restore into the real OpenClaw 2026.9.6 (SQLite era)", () => {
  test("--prefer backup: the backup's session is current under the conflicting key, the instance's own is listed under its restore-displaced key with every line and its updatedAt; a second run changes nothing", async () => {
    const state = await upgradedInstance("prefer");
    const own = await exportedLines(state);
    const summary = summaryOf(await restore(REAL_BIN, state, ["--prefer", "backup", "--json"]));
    const backupMain = backupIndex()["agent:main:main"].sessionId;
    const displaced = `agent:main:restore-displaced:${OWN_MAIN}`;
    assert.deepEqual(
      summary.keys.find((k) => k.key === "agent:main:main"),
      {
        key: "agent:main:main",
        action: "displace",
        target: displaced,
        sessionId: backupMain,
        reason: `--prefer backup: the bot's own session ${OWN_MAIN} moves to ${displaced}`,
      },
    );
    const listed = await sessionsJson(state);
    const main = listed.find((s) => s.key === "agent:main:main");
    assert.equal(main?.sessionId, backupMain, "the backup's session is not current");
    assert.ok((main?.updatedAt ?? 0) >= OWN_MAIN_UPDATED, "updatedAt of agent:main:main went backwards");
    const moved = listed.find((s) => s.key === displaced);
    assert.equal(
      moved?.sessionId,
      OWN_MAIN,
      "the instance's own session is not listed under its displaced key",
    );
    assert.equal(moved?.updatedAt, OWN_MAIN_UPDATED, "the instance's own session lost its updatedAt");
    const after = await exportedLines(state);
    for (const line of own.lines)
      assert.ok(after.lines.has(line), "a line of the instance's own session is gone");
    for (const name of readdirSync(backupSessions).filter((n) =>
      ["transcript", "archive"].includes(classify(n).kind),
    )) {
      const action = summary.files.find((f) => f.name === name)!;
      const text = readFileSync(join(backupSessions, name), "utf8").split("\n").filter(Boolean);
      if (action.headerId) text.shift();
      for (const line of text) assert.ok(after.lines.has(line), `a line of ${name} is not in the database`);
    }
    // The workspace: 2026.9.6's default with a state dir; the instance's own SOUL.md stays (the backup's beside it).
    assert.equal(summary.workspace?.path, join(state, "workspace"));
    assert.equal(readFileSync(join(state, "workspace", "MEMORY.md"), "utf8"), WORKSPACE["MEMORY.md"]);
    assert.equal(readFileSync(join(state, "workspace", "SOUL.md"), "utf8"), WORKSPACE["SOUL.md"]);
    assert.ok(readdirSync(join(state, "workspace")).some((n) => n.startsWith("SOUL.md.restore-displaced-")));
    assert.deepEqual(
      readdirSync(join(state, "agents", "main", "sessions")).filter(
        (n) => !n.startsWith("sessions.json.bak"),
      ),
      [],
      "legacy files left in sessions/",
    );
    const again = summaryOf(await restore(REAL_BIN, state, ["--prefer", "backup", "--json"]));
    assert.equal(again.changed, false, JSON.stringify(again.files.filter((f) => f.action !== "skip")));
    const brief = (all: { key: string; sessionId: string; updatedAt?: number }[]) =>
      all.map((s) => [s.key, s.sessionId, s.updatedAt]);
    assert.deepEqual(brief(await sessionsJson(state)), brief(listed));
  });

  test("the importer fails after a partial import: restore says what the database holds and what to do, leaves nothing in sessions/, and the next run adds only the rest", async () => {
    const state = join(root, "partial");
    mkdirSync(state, { recursive: true });
    writeFileSync(
      join(state, "openclaw.json"),
      `${JSON.stringify({ meta: { lastTouchedVersion: VERSION } })}\n`,
    );
    // The first doctor loses the group transcript before it imports (as if it could not read it), then fails.
    const group = Object.entries(backupIndex()).find(([key]) => key.endsWith(":group:-1001234561"))![1]
      .sessionId;
    const failing = botBin(
      "failing",
      `  mv "$OPENCLAW_STATE_DIR/agents/main/sessions/${group}.jsonl" "$OPENCLAW_STATE_DIR/../held-back.jsonl"\n  ${NODE24} ${toolPath(`openclaw-${VERSION}`)} "$@"\n  echo "Error: session store repair failed: EIO: i/o error" >&2\n  exit 1`,
    );
    const result = await restore(failing, state, []);
    assert.equal(result.code, 1, result.stderr);
    const sentence = result.stderr.split("\n").filter((l) => l.startsWith("restore: error:"));
    assert.equal(sentence.length, 1, result.stderr);
    assert.match(
      sentence[0],
      new RegExp(
        `^restore: error: OpenClaw's import \\('doctor --fix'\\) failed on the bot \\(exit 1: .*EIO.*\\): the database now holds (\\d+) of the (\\d+) restored transcripts \\(.*\\) but not ${group}\\.jsonl; the files it did not take were removed from sessions/ again so the gateway can start; the workspace files were not restored\\. Fix what 'openclaw doctor' reports on the bot, then run restore again: it adds only what is missing$`,
      ),
    );
    const [, held, sent] = /holds (\d+) of the (\d+)/.exec(sentence[0])!;
    assert.equal(Number(held), Number(sent) - 1);
    assert.deepEqual(
      readdirSync(join(state, "agents", "main", "sessions")).filter(
        (n) => n.endsWith(".jsonl") || n === "sessions.json",
      ),
      [],
      "files left for a gateway to trip over",
    );
    assert.ok(
      !existsSync(join(state, "workspace", "MEMORY.md")),
      "workspace files restored after a failed import",
    );
    const second = summaryOf(await restore(REAL_BIN, state, ["--json"]));
    assert.deepEqual(
      second.files.filter((f) => f.action !== "skip").map((f) => f.name),
      [`${group}.jsonl`],
      "the second run did not add exactly the missing transcript",
    );
    assert.equal(readFileSync(join(state, "workspace", "MEMORY.md"), "utf8"), WORKSPACE["MEMORY.md"]);
    const listed = await sessionsJson(state);
    assert.ok(listed.some((s) => s.sessionId === group));
  });
});
