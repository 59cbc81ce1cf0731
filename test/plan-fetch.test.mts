// scripts/lib/sync/plan-fetch.mts: the fetch planner of an incremental transfer, from a listing and the last
// sync's provenance. Run: npx tsx test/run.mts plan-fetch
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_FETCH_REQUESTS, planFetch } from "../scripts/lib/sync/plan-fetch.mts";
import type { StreamResult } from "../scripts/lib/remote/stream.mts";
import type { FileRecord, Provenance } from "../scripts/lib/store/provenance.mts";
import { tempDir } from "./helpers/tmp.mts";

const root = tempDir("plan-fetch");

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
/** Names travel as the hex of their bytes. */
const hex = (name: string) => Buffer.from(name).toString("hex");
const listing = (files: Record<string, string>): StreamResult => ({
  mode: "manifest",
  info: {},
  wireBytes: 10,
  files: Object.entries(files).map(([name, text]) => ({
    name,
    size: Buffer.byteLength(text),
    sha256: sha(text),
  })),
});
const record = (stored: string, cloud = stored, extra: Partial<FileRecord> = {}): FileRecord => ({
  size: Buffer.byteLength(stored),
  sha256: sha(stored),
  cloudSize: Buffer.byteLength(cloud),
  cloudSha256: sha(cloud),
  syncedAt: "2026-11-01T00:00:00.000Z",
  ...extra,
});
const provenance = (files: Record<string, FileRecord>): Provenance =>
  ({ format: 1, lastSync: {} as Provenance["lastSync"], files }) as Provenance;

function backup(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

describe("planFetch", () => {
  test("unchanged files stay home, a grown transcript comes as its new bytes, the rest whole", async () => {
    const dir = backup("mixed", { "a.jsonl": "1\n", "b.jsonl": "1\n", "sessions.json": "{}" });
    const plan = await planFetch(
      listing({
        "a.jsonl": "1\n",
        "b.jsonl": "1\n2\n",
        "sessions.json": '{"k":{}}',
        "new.jsonl": "x\n",
        "c.jsonl.lock": "",
      }),
      dir,
      provenance({ "a.jsonl": record("1\n"), "b.jsonl": record("1\n"), "sessions.json": record("{}") }),
    );
    assert.ok(plan);
    assert.deepEqual(
      plan.unchanged.map((f) => [f.name, f.unchanged]),
      [["a.jsonl", true]],
    );
    assert.deepEqual(plan.requests, [
      `=${hex("b.jsonl")}:2:${sha("1\n")}`,
      `=${hex("sessions.json")}:0:-`,
      `=${hex("new.jsonl")}:0:-`,
    ]);
    assert.deepEqual([...plan.prefixes], [["b.jsonl", join(dir, "b.jsonl")]]);
  });

  test("a local copy that differs from the record is fetched whole (the backup is not trusted as a prefix)", async () => {
    const dir = backup("edited", { "a.jsonl": "edited\n" });
    const plan = await planFetch(
      listing({ "a.jsonl": "1\n2\n" }),
      dir,
      provenance({ "a.jsonl": record("1\n") }),
    );
    assert.deepEqual(plan?.requests, [`=${hex("a.jsonl")}:0:-`]);
    const same = await planFetch(
      listing({ "a.jsonl": "1\n" }),
      dir,
      provenance({ "a.jsonl": record("1\n") }),
    );
    assert.deepEqual(
      same?.requests,
      [`=${hex("a.jsonl")}:0:-`],
      "cloud unchanged but local copy edited: fetched again",
    );
  });

  test("a redacted transcript is fetched whole; a pruned one unchanged in the cloud stays pruned", async () => {
    const dir = backup("redacted", { "r.jsonl": "[REDACTED]\n" });
    const plan = await planFetch(
      listing({ "r.jsonl": "secret\nmore\n", "p.jsonl": "old\n" }),
      dir,
      provenance({
        "r.jsonl": record("[REDACTED]\n", "secret\n", { redactions: 1 }),
        "p.jsonl": record("old\n", "old\n", { prunedAt: "2026-11-02T00:00:00.000Z" }),
      }),
    );
    assert.deepEqual(plan?.requests, [`=${hex("r.jsonl")}:0:-`]);
    assert.deepEqual(
      plan?.unchanged.map((f) => f.name),
      ["p.jsonl"],
    );
  });

  test("any name travels (as hex); any number of changed files is planned as requests (no full-stream cliff)", async () => {
    const dir = backup("limits", {});
    const odd = await planFetch(listing({ "abc-topic-x y.jsonl": "x\n" }), dir, provenance({}));
    assert.deepEqual(odd?.requests, [`=${hex("abc-topic-x y.jsonl")}:0:-`]);
    const many: Record<string, string> = {};
    for (let i = 0; i < 2 * MAX_FETCH_REQUESTS + 1; i++) many[`s${i}.jsonl`] = `${i}\n`;
    assert.equal(
      (await planFetch(listing(many), dir, provenance({}))).requests.length,
      2 * MAX_FETCH_REQUESTS + 1,
    );
  });
});
