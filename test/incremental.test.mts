// The incremental SQLite-era sync against its oracle, over days: a file-era state dir (scripts/dev/statedir.mts)
// migrated by the real OpenClaw 2026.9.6 (`doctor --fix`, layout C with zstd events), then changed day by day the
// way a bot changes its database (new events, a compressed one among them, an event rewritten in the middle, a
// new session, a deleted session, an idle day). Each day the same run is made three ways:
//   inc    the incremental sync, with its history (listing with the backup's bucket digests, then fetch);
//   full   the same history, but the provenance removed first, so the run exports everything;
//   fresh  an empty backup, a first (full) sync.
// The oracle: inc's memory/sessions equals full's byte for byte, every day; and each file fresh has, inc has with
// the same bytes (inc keeps, in addition, what the bot deleted: absence never deletes). Each day's changes are
// made a while before its sync (helpers/sqlitestate.mts settle()), so the exporter stamps its answers and an idle
// day's listing reads nothing (checked by asking the exporter that listing before the day's sync).
// Run: npx tsx test/run.mts incremental
// test tier: full — the real OpenClaw 2026.9.6 and Node 24 from .tools
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { migrateWithOpenClaw, node24, runNode24, settle } from "./helpers/sqlitestate.mts";
import { knownFromProvenance } from "../scripts/lib/openclaw/known.mts";
import { remoteFilterArgs } from "../scripts/lib/openclaw/files.mts";
import { REMOTE_NODE_FLAGS } from "../scripts/lib/remote/transport.mts";
import { readRemoteStream } from "../scripts/lib/remote/stream.mts";
import { Readable } from "node:stream";
import { syncLocal, type RunResult } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";

/** Changes one day brings, applied with node:sqlite on Node 24 (the database's real schema, whatever it is). */
const DAY = `
const { DatabaseSync } = require("node:sqlite");
const zlib = require("node:zlib");
const [dbPath, opsText] = process.argv.slice(1);
const ops = JSON.parse(opsText);
const db = new DatabaseSync(dbPath);
db.exec("PRAGMA foreign_keys = ON; BEGIN; PRAGMA defer_foreign_keys = ON");
const sessions = db.prepare("SELECT session_id FROM transcript_events GROUP BY session_id ORDER BY session_id").all().map((r) => r.session_id);
const pick = (i) => sessions[i % sessions.length];
const clone = (table, where, args, change) => {
  for (const row of db.prepare("SELECT * FROM " + table + " WHERE " + where).all(...args)) {
    const copy = { ...row, ...change(row) };
    const cols = Object.keys(copy);
    db.prepare("INSERT INTO " + table + " (" + cols.join(", ") + ") VALUES (" + cols.map(() => "?").join(", ") + ")").run(...cols.map((c) => copy[c]));
  }
};
const last = (id) => db.prepare("SELECT max(seq) AS seq FROM transcript_events WHERE session_id = ?").get(id).seq;
for (const op of ops) {
  if (op.op === "append") {
    const id = pick(op.session);
    for (let n = 0; n < op.lines; n++) {
      const event = JSON.stringify({ type: "message", id: "day" + op.tag + "-" + n, parentId: null, timestamp: "2026-12-0" + op.day + "T10:00:00.000Z", message: { role: "user", content: [{ type: "text", text: "day " + op.day + " line " + n + " " + "x".repeat(op.long ? 1500 : 20) }] } });
      const seq = last(id) + 1;
      if (op.long) {
        // stored as OpenClaw stores an event of 1 KiB or more: zstd, with the navigation of an existing one
        const nav = db.prepare("SELECT navigation_json FROM transcript_events WHERE navigation_json IS NOT NULL LIMIT 1").get();
        db.prepare("INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json) VALUES (?, ?, NULL, ?, ?, ?, ?)")
          .run(id, seq, Date.now(), zlib.zstdCompressSync(Buffer.from(event)), Buffer.byteLength(event), nav.navigation_json);
      } else {
        db.prepare("INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)").run(id, seq, event, Date.now());
      }
    }
  } else if (op.op === "rewrite") {
    // an event in the middle changes (a compaction or an edit): the transcript is no longer an append
    const id = pick(op.session);
    const row = db.prepare("SELECT seq, event_json FROM transcript_events WHERE session_id = ? AND event_json IS NOT NULL AND seq > 0 ORDER BY seq LIMIT 1").get(id);
    db.prepare("UPDATE transcript_events SET event_json = ? WHERE session_id = ? AND seq = ?").run(row.event_json.replace(/"timestamp":"[^"]*"/, '"timestamp":"2026-12-03T00:00:00.000Z"'), id, row.seq);
  } else if (op.op === "new") {
    const from = pick(op.session);
    const id = op.id;
    clone("session_windows", "session_id = ?", [from], () => ({ session_id: id, session_key: "agent:main:new:" + op.id }));
    clone("transcript_events", "session_id = ?", [from], () => ({ session_id: id }));
    clone("session_nodes", "current_session_id = ? LIMIT 1", [from], (row) => {
      const entry = JSON.parse(row.entry_json);
      return { session_key: "agent:main:new:" + op.id, current_session_id: id, entry_json: JSON.stringify({ ...entry, sessionId: id, updatedAt: 1796000000000 }) };
    });
  } else if (op.op === "delete") {
    const id = pick(op.session);
    db.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(id);
    db.prepare("DELETE FROM session_nodes WHERE current_session_id = ?").run(id);
    db.prepare("DELETE FROM session_windows WHERE session_id = ?").run(id);
    console.log(id);
  } else if (op.op === "touch-index") {
    const row = db.prepare("SELECT session_key, entry_json FROM session_nodes ORDER BY rowid LIMIT 1").get();
    db.prepare("UPDATE session_nodes SET entry_json = ? WHERE session_key = ?").run(JSON.stringify({ ...JSON.parse(row.entry_json), updatedAt: 1796100000000 + op.day }), row.session_key);
  }
}
db.exec("COMMIT");
db.close();
`;

type Op = Record<string, unknown> & { op: string };

const DAYS: Array<{ name: string; ops: Op[]; idle?: boolean }> = [
  {
    name: "new lines in two sessions (one of them a compressed event), the index updated",
    ops: [
      { op: "append", session: 0, lines: 3, day: 1, tag: "a" },
      { op: "append", session: 1, lines: 1, day: 1, tag: "b", long: true },
      { op: "touch-index", day: 1 },
    ],
  },
  { name: "an idle day", ops: [], idle: true },
  {
    name: "an event rewritten in the middle of a transcript, a new session, more lines",
    ops: [
      { op: "rewrite", session: 2 },
      { op: "new", session: 0, id: "0d0d0d0d-1111-4222-8333-444455556666" },
      { op: "append", session: 0, lines: 2, day: 3, tag: "c" },
    ],
  },
  {
    name: "a session deleted, another grown",
    ops: [
      { op: "delete", session: 3 },
      { op: "append", session: 1, lines: 4, day: 4, tag: "d" },
    ],
  },
  { name: "another idle day", ops: [], idle: true },
];

function contents(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) out.set(name, readFileSync(join(dir, name)));
  return out;
}

/**
 * The files as sorted [name, sha256] pairs, with the run's time taken out of the names of the copies continuity
 * keeps (`<transcript>.bak.<time of the run>`): two runs at different times name the same copy differently.
 */
function runTimeFree(files: Map<string, string>): Array<[string, string]> {
  return [...files]
    .map(([name, sum]): [string, string] => [
      name.replace(/\.bak\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/, ".bak.<run time>"),
      sum,
    ])
    .sort((a, b) => (a.join(" ") < b.join(" ") ? -1 : 1));
}

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir))
    out.set(
      name,
      createHash("sha256")
        .update(readFileSync(join(dir, name)))
        .digest("hex"),
    );
  return out;
}

describe("SQLite era: the incremental sync equals a full export, day after day (real OpenClaw 2026.9.6 database)", () => {
  const scratch = tempDir("incremental");
  let state: string;
  let dbPath: string;
  const env = () => ({ PATH: `${dirname(node24())}:${process.env.PATH}`, OCSYNC_RETRY_DELAY_MS: "50" });
  const run = async (memory: string, extra: string[] = []): Promise<RunResult & { summary: any }> => {
    const result = await syncLocal(state, memory, ["--json", "--agent", "main", ...extra], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    return { ...result, summary: JSON.parse(result.stdout) };
  };

  before(async () => {
    state = join(scratch, "state");
    makeStateDir(state, { turns: 200, plantedText: `pasted log: ${"0123456789abcdef".repeat(120)}` });
    await migrateWithOpenClaw(state, join(scratch, "home"));
    dbPath = join(state, "agents", "main", "agent", "openclaw-agent.sqlite");
    await settle(state);
  });

  /** What the exporter answers the listing a sync of `memory` makes next (its bucket digests and stamp). */
  const listing = async (memory: string) => {
    const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    const known = knownFromProvenance(provenance);
    const exporter = join(
      dirname(fileURLToPath(import.meta.url)),
      "..",
      "scripts",
      "lib",
      "remote",
      "export-sqlite.mjs",
    );
    const answer = await runNode24(
      [...REMOTE_NODE_FLAGS, exporter, "manifest", state, "main", ...remoteFilterArgs(), ...known.args],
      "",
    );
    assert.equal(answer.code, 0, answer.stderr);
    return {
      stamped: known.args.length === 2,
      ...(await readRemoteStream(Readable.from([answer.stdout]), {})),
    };
  };

  test("every day: inc = full byte for byte; fresh ⊆ inc; idle days move a few hundred bytes", async (t) => {
    const inc = join(scratch, "inc");
    const full = join(scratch, "full");
    const first = await run(inc);
    assert.equal(first.summary.incremental, false, "the first run exports everything");
    assert.equal((await run(full)).summary.incremental, false);
    const deleted: string[] = [];
    let yesterday = contents(join(inc, "sessions"));
    for (const [i, day] of DAYS.entries()) {
      const changed = await runNode24(["-e", DAY, dbPath, JSON.stringify(day.ops)], "");
      assert.equal(changed.code, 0, `day ${i + 1} (${day.name}): ${changed.stderr}`);
      deleted.push(...changed.stdout.toString().split("\n").filter(Boolean));
      if (!day.idle) await settle(state);
      else {
        // The listing this day's sync will make: nothing changed since the stamp the last run saved.
        const asked = await listing(inc);
        assert.ok(asked.stamped, `day ${i + 1}: the provenance holds the exporter's stamp`);
        assert.equal(asked.info.hashed, "0", `day ${i + 1}: the idle listing reads nothing`);
        assert.deepEqual(asked.files, []);
      }

      const today = await run(inc);
      assert.equal(today.summary.incremental, true, `day ${i + 1}: incremental`);
      rmSync(join(full, "sync-provenance.json"));
      const everything = await run(full);
      assert.equal(everything.summary.incremental, false, `day ${i + 1}: the full run exports everything`);
      const fresh = join(scratch, `fresh-${i + 1}`);
      await run(fresh);

      const incFiles = files(join(inc, "sessions"));
      assert.deepEqual(
        runTimeFree(incFiles),
        runTimeFree(files(join(full, "sessions"))),
        `day ${i + 1} (${day.name}): inc ≠ full`,
      );
      for (const [name, sum] of files(join(fresh, "sessions")))
        assert.equal(incFiles.get(name), sum, `day ${i + 1}: ${name} differs from a fresh full sync`);
      for (const id of deleted)
        assert.ok(incFiles.has(`${id}.jsonl`), `day ${i + 1}: the deleted session ${id} stays in the backup`);

      // What a perfect transfer would move: the new bytes of what grew, the whole of what changed otherwise.
      const now = contents(join(inc, "sessions"));
      const fresh_bytes: Buffer[] = [];
      for (const [name, bytes] of now) {
        const old = yesterday.get(name);
        if (old?.equals(bytes)) continue;
        fresh_bytes.push(
          old && bytes.subarray(0, old.length).equals(old) ? bytes.subarray(old.length) : bytes,
        );
      }
      yesterday = now;
      const limit = gzipSync(Buffer.concat(fresh_bytes), { level: 1 }).length;
      const wire = today.summary.bytes.transferred;
      t.diagnostic(
        `day ${i + 1} (${day.name}): ${wire} bytes on the wire; gzip of the new bytes ${limit}; a full export ${everything.summary.bytes.transferred}`,
      );
      if (day.idle) {
        assert.equal(
          today.summary.files.new + today.summary.files.updated,
          0,
          `day ${i + 1}: nothing changed`,
        );
        assert.ok(wire < 2048, `day ${i + 1}: an idle day moved ${wire} bytes`);
      } else {
        assert.ok(
          today.summary.files.new + today.summary.files.updated > 0,
          `day ${i + 1}: something changed`,
        );
        // The records' framing, the listing and each fetch's gzip header: under 2 KiB a day in all.
        assert.ok(
          wire < 1.2 * limit + 2048,
          `day ${i + 1}: ${wire} bytes vs ${limit} of gzip-compressed new bytes`,
        );
      }
    }
  });
});
