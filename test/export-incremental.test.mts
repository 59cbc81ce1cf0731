// The SQLite exporter's incremental protocol (scripts/lib/remote/export-sqlite.mjs with openclaw/known.mts), run by
// the real Node 24 from .tools as sync runs it, read by the sync's own stream reader: a listing with the backup's
// bucket digests lists only what differs; `fetch` sends a grown transcript as its new events, anything else whole.
// Run: npx tsx test/run.mts export-incremental
// test tier: full — Node 24 from .tools
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { makeSqliteState, runNode24, EXPORTER, type SqliteState } from "./helpers/sqlitestate.mts";
import { REMOTE_NODE_FLAGS } from "../scripts/lib/remote/transport.mts";
import { remoteFilterArgs } from "../scripts/lib/openclaw/files.mts";
import { knownFromProvenance } from "../scripts/lib/openclaw/known.mts";
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
    const listing = await exporter(["manifest", ...where(), known.arg]);
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
    const listing = await exporter(["manifest", ...where(), known.arg]);
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
    ] as const) {
      const result = await exporter([...args]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, message);
    }
  });
});
