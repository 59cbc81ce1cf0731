// scripts/lib/local-state/plan.mts on small hand-made memory folders: which copies and index entries a local
// gateway's state dir gets, the ids that must not collide, and each history entry's updatedAt (from the content,
// else the archive's name, never the file's mtime). The whole command runs against real OpenClaw in
// local-state.test.mts. Run: npx tsx test/run.mts local-state
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planSessions, writeCopies } from "../scripts/lib/local-state/plan.mts";
import { tempDir } from "./helpers/tmp.mts";

const A = "aaaaaaaa-1111-4222-8333-444444444444";
const B = "bbbbbbbb-1111-4222-8333-444444444444";
const C = "cccccccc-1111-4222-8333-444444444444";

const header = (id: string, at: string) => JSON.stringify({ type: "session", version: 3, id, timestamp: at });
const message = (at: string, ms?: number) =>
  JSON.stringify({ type: "message", timestamp: at, message: { role: "user", timestamp: ms } });

function memory(files: Record<string, string>): string {
  const dir = join(tempDir("local-state-plan"), "sessions");
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("planSessions", () => {
  test("the cloud's entries keep their keys with bare file names; every other conversation gets an entry", async () => {
    const archive = `${B}.jsonl.reset.2026-03-01T10-00-00.000Z`;
    const dir = memory({
      "sessions.json": JSON.stringify({
        "agent:main:main": {
          sessionId: A,
          updatedAt: 1,
          sessionFile: `/data/agents/main/sessions/${A}.jsonl`,
        },
      }),
      [`${A}.jsonl`]: `${header(A, "2026-01-01T00:00:00.000Z")}\n`,
      // The newest of both clocks counts, wherever the line is.
      [`${C}.jsonl`]: `${header(C, "2026-02-01T00:00:00.000Z")}\n${message("2026-02-03T00:00:00.000Z", Date.parse("2026-02-05T00:00:00Z"))}\n${message("2026-02-02T00:00:00.000Z")}\n`,
      // No timestamp inside: the time in the archive's name.
      [archive]: `{"type":"custom"}\n`,
      "notes.txt": "not a conversation",
    });
    // An mtime that must not be used.
    utimesSync(join(dir, archive), new Date("2030-01-01T00:00:00Z"), new Date("2030-01-01T00:00:00Z"));
    const plan = await planSessions(dir, "main");
    assert.deepEqual(plan.warnings, []);
    assert.equal(plan.index["agent:main:main"].sessionFile, `${A}.jsonl`);
    assert.equal(plan.index[`agent:main:history:${C}`].updatedAt, Date.parse("2026-02-05T00:00:00Z"));
    const archiveKey = `agent:main:history:reset:${B}:2026-03-01t10-00-00.000z`;
    assert.equal(plan.index[archiveKey].updatedAt, Date.parse("2026-03-01T10:00:00.000Z"));
    assert.deepEqual(
      plan.sessions.map((s) => [s.origin, s.source]).sort(),
      [
        ["history", `${C}.jsonl`],
        ["history", archive],
        ["index", `${A}.jsonl`],
      ].sort(),
    );
    // The archive is copied under a transcript name with a new id, in its name and (without a header) as is.
    const archiveFile = plan.index[archiveKey].sessionFile as string;
    assert.equal(archiveFile, `${plan.index[archiveKey].sessionId}.jsonl`);
    assert.equal(plan.copies.size, 3);
  });

  test("two entries sharing a session id across different transcripts: the second gets its own id, header included", async () => {
    const topic = `${A}-topic-42.jsonl`;
    const dir = memory({
      "sessions.json": JSON.stringify({
        "agent:main:main": { sessionId: A, updatedAt: 1, sessionFile: `${A}.jsonl` },
        "agent:main:telegram:group:1:topic:42": { sessionId: A, updatedAt: 2, sessionFile: topic },
      }),
      [`${A}.jsonl`]: `${header(A, "2026-01-01T00:00:00.000Z")}\n`,
      [topic]: `${header(A, "2026-01-02T00:00:00.000Z")}\n${message("2026-01-02T00:00:01.000Z")}\n`,
    });
    const plan = await planSessions(dir, "main");
    assert.equal(plan.index["agent:main:main"].sessionId, A);
    const moved = plan.index["agent:main:telegram:group:1:topic:42"];
    assert.notEqual(moved.sessionId, A);
    assert.equal(moved.sessionFile, `${moved.sessionId}-topic-42.jsonl`);
    const out = tempDir("local-state-plan-out");
    const written = await writeCopies(plan, out);
    assert.deepEqual(Object.keys(written).sort(), [`${A}.jsonl`, moved.sessionFile].sort());
    const lines = readFileSync(join(out, moved.sessionFile as string), "utf8").split("\n");
    assert.equal(JSON.parse(lines[0]).id, moved.sessionId);
    assert.equal(lines[1], message("2026-01-02T00:00:01.000Z"));
  });

  test("an unreadable sessions.json is one sentence naming the file", async () => {
    const dir = memory({ "sessions.json": "{ not json" });
    await assert.rejects(planSessions(dir, "main"), (error: Error) => {
      assert.equal(error.name, "Failure");
      assert.match(error.message, /sessions\.json is not a readable session index/);
      return true;
    });
  });
});
