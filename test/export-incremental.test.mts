// The SQLite exporter's incremental protocol (scripts/lib/remote/export-sqlite.mjs with openclaw/known.mts), run by
// the real Node 24 from .tools as sync runs it, read by the sync's own stream reader: a listing with the backup's
// bucket digests lists only what differs; `fetch` sends a grown transcript as its new events, anything else whole.
// Run: npx tsx test/run.mts export-incremental
// test tier: full — Node 24 from .tools
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { makeSqliteState, runNode24, settle, EXPORTER, type SqliteState } from "./helpers/sqlitestate.mts";
import { REMOTE_NODE_FLAGS } from "../scripts/lib/remote/transport.mts";
import { remoteFilterArgs } from "../scripts/lib/openclaw/files.mts";
import { exporterDigest, knownFromProvenance } from "../scripts/lib/openclaw/known.mts";
import { readRemoteStream, type StreamResult } from "../scripts/lib/remote/stream.mts";
import type { Provenance } from "../scripts/lib/store/provenance.mts";
import { tempDir } from "./helpers/tmp.mts";

const scratch = tempDir("export-incremental");
let state: SqliteState;
let runs = 0;
before(async () => {
  state = await makeSqliteState(join(scratch, "state"), { layout: "C" });
});

async function exporter(
  args: string[],
  prefixes?: Map<string, string>,
): Promise<StreamResult & { stderr: string; code: number | null }> {
  const run = await runNode24(
    [...REMOTE_NODE_FLAGS, "--input-type=module", "-", ...args],
    readFileSync(EXPORTER),
  );
  if (run.code !== 0)
    return { code: run.code, stderr: run.stderr } as StreamResult & { stderr: string; code: number };
  const dir = join(scratch, `stage-${++runs}`);
  mkdirSync(dir);
  const result = await readRemoteStream(Readable.from([run.stdout]), { stagingDir: dir, prefixes });
  return { ...result, stderr: run.stderr, code: run.code };
}

const where = () => [state.root, "main", ...remoteFilterArgs()];
const hex = (name: string) => Buffer.from(name).toString("hex");

/** The provenance a sync of `listing` would have written (names, sizes and hashes as the bot sent them). */
function provenanceOf(listing: StreamResult): Provenance {
  const files: Provenance["files"] = {};
  for (const file of listing.files)
    files[file.name] = {
      size: file.size,
      sha256: file.sha256,
      cloudSize: file.size,
      cloudSha256: file.sha256,
      syncedAt: "2026-11-30T00:00:00.000Z",
    };
  return { format: 1, lastSync: {} as Provenance["lastSync"], files };
}

const APPEND = `
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(process.argv[1]);
const id = process.argv[2];
const seq = db.prepare("SELECT max(seq) AS seq FROM transcript_events WHERE session_id = ?").get(id).seq + 1;
db.prepare("INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)")
  .run(id, seq, JSON.stringify({ type: "message", id: "new-" + seq, message: { role: "user", content: "one more" } }), Date.now());
db.close();
`;

describe("export-sqlite.mjs: the incremental protocol", () => {
  test("an unchanged database: the listing names every bucket matched and lists nothing", async () => {
    const full = await exporter(["manifest", ...where()]);
    assert.equal(full.code, 0, full.stderr);
    const known = knownFromProvenance(provenanceOf(full));
    const listing = await exporter(["manifest", ...where(), ...known.args]);
    assert.equal(listing.code, 0, listing.stderr);
    assert.deepEqual(listing.files, []);
    const matched = known.matched(listing.info)!;
    assert.deepEqual(
      matched.files.map((f) => [f.name, f.size, f.sha256]).sort(),
      full.files.map((f) => [f.name, f.size, f.sha256]).sort(),
    );
    assert.ok(listing.wireBytes < 600, `${listing.wireBytes} bytes`);
  });

  test("a grown transcript: listed with its new hash, fetched as its new events only; a wrong prefix is sent whole; a missing name is gone", async () => {
    const before = await exporter(["stream", ...where()]);
    assert.equal(before.code, 0, before.stderr);
    const transcript = before.files.find((f) => /^[0-9a-f-]{36}\.jsonl$/.test(f.name))!;
    const appended = await runNode24(["-e", APPEND, state.dbPath, transcript.name.slice(0, 36)], "");
    assert.equal(appended.code, 0, appended.stderr);
    const after = await exporter(["stream", ...where()]);
    const grown = after.files.find((f) => f.name === transcript.name)!;
    assert.ok(grown.size > transcript.size);

    const known = knownFromProvenance(provenanceOf(before));
    const listing = await exporter(["manifest", ...where(), ...known.args]);
    const listed = listing.files.find((f) => f.name === transcript.name);
    assert.deepEqual(
      [listed?.size, listed?.sha256],
      [grown.size, grown.sha256],
      "the grown transcript is listed",
    );
    const all = [...listing.files, ...known.matched(listing.info)!.files];
    assert.deepEqual(
      all.map((f) => [f.name, f.size, f.sha256]).sort(),
      after.files.map((f) => [f.name, f.size, f.sha256]).sort(),
      "listed + matched = the whole manifest",
    );

    const fetched = await exporter(
      [
        "fetch",
        ...where(),
        `=${hex(transcript.name)}:${transcript.size}:${transcript.sha256}`,
        `=${hex("sessions.json")}:10:${"0".repeat(64)}`,
        `=${hex("0b7c1e2a-0000-4000-a000-00000000ffff.jsonl")}:0:-`,
      ],
      new Map([[transcript.name, transcript.path!]]),
    );
    assert.equal(fetched.code, 0, fetched.stderr);
    const append = fetched.files.find((f) => f.name === transcript.name)!;
    assert.equal(append.appendedFrom, transcript.size, "sent from the end of what the backup holds");
    assert.ok(
      readFileSync(append.path!).equals(readFileSync(grown.path!)),
      "byte for byte the full export's",
    );
    const index = fetched.files.find((f) => f.name === "sessions.json")!;
    assert.equal(index.appendedFrom, undefined, "a prefix that does not match: the whole file");
    assert.ok(
      readFileSync(index.path!).equals(
        readFileSync(after.files.find((f) => f.name === "sessions.json")!.path!),
      ),
    );
    assert.equal(fetched.files.length, 2, "the missing name is reported gone, not sent");
  });

  test("a malformed request or digest argument fails with a sentence before any output", async () => {
    for (const [args, message] of [
      [["manifest", ...where(), "%3:abcd"], /%BUCKETS:DIGESTS/],
      [["fetch", ...where(), "=zz:0:-"], /not =HEXNAME:OFFSET:SHA256/],
      [["stream", ...where(), "=61:0:-"], /fetch mode only/],
      [["manifest", ...where(), `^${"0".repeat(16)}.${"0".repeat(16)}`], /with %known only/],
      [["manifest", ...where(), "%1:" + "0".repeat(16), "^abc"], /not \^IDENTITY\.DIGESTS/],
    ] as const) {
      const result = await exporter([...args]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, message);
    }
  });
});

describe("export-sqlite.mjs: the stamp (an idle day reads nothing)", () => {
  let stamped: SqliteState;
  before(async () => {
    stamped = await makeSqliteState(join(scratch, "stamped"), { layout: "B", leftovers: true });
    await settle(stamped.root);
  });
  const at = () => [stamped.root, "main", ...remoteFilterArgs()];
  /** The provenance a sync of `answer` writes, with the answer's stamp. */
  const recorded = (answer: StreamResult, exporter = exporterDigest()): Provenance => ({
    ...provenanceOf(answer),
    exportStamp: { stamp: answer.info.stamp, exporter },
  });

  test("an old database: the answer has a stamp; asked with it and the same digests, nothing is hashed and every bucket matches", async () => {
    const full = await exporter(["stream", ...at()]);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.info.stamp ?? "", /^[0-9a-f]{16}\.[0-9a-f]{16}$/);
    assert.equal(Number(full.info.hashed), full.files.length);
    const known = knownFromProvenance(recorded(full));
    assert.equal(known.args.length, 2, "the stamp travels with the digests");
    const idle = await exporter(["manifest", ...at(), ...known.args]);
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(idle.info.hashed, "0", "nothing read");
    assert.deepEqual(idle.files, []);
    assert.equal(idle.info.stamp, full.info.stamp);
    assert.deepEqual(
      known
        .matched(idle.info)!
        .files.map((f) => [f.name, f.size, f.sha256])
        .sort(),
      full.files.map((f) => [f.name, f.size, f.sha256]).sort(),
    );
    // The same listing without the stamp reads everything and finds the same.
    const read = await exporter(["manifest", ...at(), known.args[0]]);
    assert.equal(Number(read.info.hashed), full.files.length);
    assert.deepEqual(read.files, []);
    assert.equal(read.info.stamp, full.info.stamp, "the same stamp for the same database and answer");
  });

  test("the stamp does not hold when anything it covers changed: a leftover rewritten in place with its old mtime put back, another backup, another exporter", async () => {
    const full = await exporter(["stream", ...at()]);
    assert.ok(full.info.stamp);
    // Another backup (a file the provenance lacks): the digests differ from the stamp's, everything is read.
    const partial = recorded(full);
    const dropped = Object.keys(partial.files).find((name) => name !== "sessions.json")!;
    delete partial.files[dropped];
    const other = await exporter(["manifest", ...at(), ...knownFromProvenance(partial).args]);
    assert.equal(Number(other.info.hashed), full.files.length);
    assert.ok(
      other.files.some((f) => f.name === dropped),
      "the file the backup lacks is listed",
    );
    // A stamp another exporter made is not sent.
    assert.equal(knownFromProvenance(recorded(full, "0".repeat(16))).args.length, 1);
    // A leftover file rewritten with the same size and its old mtime put back: its ctime moved.
    const sessionsDir = join(stamped.root, "agents", "main", "sessions");
    const leftover = readdirSync(sessionsDir).find((name) => name.includes(".jsonl.reset."))!;
    const path = join(sessionsDir, leftover);
    const { size, mtime } = statSync(path);
    const bytes = readFileSync(path);
    bytes[bytes.indexOf(0x7d)] = 0x20; // same size, other bytes
    writeFileSync(path, bytes);
    utimesSync(path, mtime, mtime);
    assert.equal(statSync(path).size, size);
    const known = knownFromProvenance(recorded(full));
    const changed = await exporter(["manifest", ...at(), ...known.args]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.ok(Number(changed.info.hashed) > 0, "read again");
    const listed = changed.files.find((f) => f.name === leftover);
    assert.ok(listed, "the rewritten file is listed");
    assert.notEqual(listed.sha256, full.files.find((f) => f.name === leftover)!.sha256);
    assert.equal(changed.info.stamp, undefined, "its mtime is old but its ctime is not: no stamp yet");
  });

  test("a database written a moment ago gets no stamp; an event added after a stamp is listed", async () => {
    await settle(stamped.root);
    const full = await exporter(["stream", ...at()]);
    assert.ok(full.info.stamp, full.stderr);
    const transcript = full.files.find((f) => /^[0-9a-f-]{36}\.jsonl$/.test(f.name))!;
    const appended = await runNode24(["-e", APPEND, stamped.dbPath, transcript.name.slice(0, 36)], "");
    assert.equal(appended.code, 0, appended.stderr);
    const listing = await exporter(["manifest", ...at(), ...knownFromProvenance(recorded(full)).args]);
    assert.equal(listing.code, 0, listing.stderr);
    assert.ok(Number(listing.info.hashed) > 0);
    assert.ok(
      listing.files.some((f) => f.name === transcript.name && f.size > transcript.size),
      "the grown transcript is listed",
    );
    assert.equal(listing.info.stamp, undefined, "written a moment ago: a later write could keep its mtime");
  });
});
