// The SQLite-era remote exporter (scripts/lib/remote/export-sqlite.mjs), run by the real Node 24 from .tools on
// databases built from the documented columns of layouts A, B and C.
// Run: npx tsx test/run.mts sqlite
// test tier: full — Node 24 from .tools
import { REMOTE_EXCLUDE } from "../scripts/lib/openclaw/files.mts";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { linkSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { makeSqliteState, runExporter, type Layout } from "./helpers/sqlitestate.mts";
import { tempDir } from "./helpers/tmp.mts";

const scratch = tempDir("sqlite");

/** Every file under a folder with its sha256, to prove the exporter changed nothing. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(root, path), createHash("sha256").update(readFileSync(path)).digest("hex"));
    }
  };
  walk(root);
  return files;
}

function assertSameFiles(actual: Map<string, Buffer>, expected: Map<string, Buffer>) {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, bytes] of expected)
    assert.ok(actual.get(name)!.equals(bytes), `${name} differs from what the database holds`);
}

describe("export-sqlite.mjs", () => {
  for (const layout of ["A", "B", "C"] as Layout[]) {
    test(`layout ${layout}: index, every generation in seq order, archives decoded; the state dir is untouched`, async () => {
      const state = await makeSqliteState(join(scratch, `layout-${layout}`), { layout });
      const before = snapshot(state.root);
      const result = await runExporter(["stream", state.root, "main"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.equal(result.info.get("era"), "sqlite");
      assert.equal(result.info.get("layout"), layout);
      assert.equal(result.info.get("user_version"), String({ A: 8, B: 20, C: 23 }[layout]));
      assert.equal(result.info.get("snapshot"), "immutable", "a closed database is opened immutable");
      assertSameFiles(result.files, state.expected);
      assert.deepEqual(result.end, { status: 0, count: state.expected.size });
      if (layout === "C") assert.ok(state.compressed > 0, "the fixture stores compressed events");
      assert.deepEqual(snapshot(state.root), before, "the exporter wrote into the state dir");
    });
  }

  test("events committed only to the WAL of a killed writer are exported, and nothing is written", async () => {
    const state = await makeSqliteState(join(scratch, "wal"), { layout: "C", walOnly: true });
    assert.ok(statSync(`${state.dbPath}-wal`).size > 0, "the killed writer left a WAL");
    const before = snapshot(state.root);
    const result = await runExporter(["stream", state.root, "main"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.info.get("snapshot"), "wal");
    assertSameFiles(result.files, state.expected);
    const live = result.files.get("0b7c1e2a-0000-4000-a000-000000000002.jsonl")!.toString("utf8");
    for (const line of state.walOnlyLines)
      assert.ok(live.includes(`${line}\n`), "a WAL-only event is missing");
    const afterRun = snapshot(state.root);
    for (const name of [relative(state.root, state.dbPath), `${relative(state.root, state.dbPath)}-wal`]) {
      assert.equal(afterRun.get(name), before.get(name), `${name} changed`);
    }
    assert.deepEqual([...afterRun.keys()].sort(), [...before.keys()].sort());
  });

  test("file-era and migration leftovers are kept under their original names; clutter is not", async () => {
    const state = await makeSqliteState(join(scratch, "leftovers"), { layout: "C", leftovers: true });
    const result = await runExporter(["stream", state.root, "main"]);
    assert.equal(result.code, 0, result.stderr);
    assertSameFiles(result.files, state.expected);
  });

  test("only regular files with one link are read: a hard link to openclaw.json named like a transcript is reported, not sent", async () => {
    const state = await makeSqliteState(join(scratch, "hardlink"), { layout: "C", leftovers: true });
    const config = join(state.root, "openclaw.json");
    writeFileSync(config, '{"channels":{"telegram":{"botToken":"secret-in-config"}}}\n');
    const sessions = join(state.root, "agents", "main", "sessions");
    const hard = "0b7c1e2a-0000-4000-a000-0000000000aa.jsonl";
    const soft = "0b7c1e2a-0000-4000-a000-0000000000bb.jsonl";
    linkSync(config, join(sessions, hard));
    symlinkSync(config, join(sessions, soft));
    const result = await runExporter(["stream", state.root, "main"]);
    assert.equal(result.code, 0, result.stderr);
    assertSameFiles(result.files, state.expected);
    assert.deepEqual(
      result.skipped.filter((s) => s.name === hard || s.name === soft),
      [
        { name: hard, why: "hardlink" },
        { name: soft, why: "symlink" },
      ],
    );
  });

  test("+/- patterns filter the names", async () => {
    const state = await makeSqliteState(join(scratch, "patterns"), { layout: "B", leftovers: true });
    const rules = REMOTE_EXCLUDE.map((p) => `-${p}`); // the documented exclusions, as sync passes them
    const result = await runExporter(["manifest", state.root, "main", ...rules, "-*.deleted.*", "+*.jsonl"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.mode, "manifest");
    const names = [...result.files.keys()];
    assert.ok(!names.some((n) => n.includes(".deleted.")), names.join(", "));
    assert.ok(names.includes("sessions.json"), "database names are sent unless excluded");
    assert.ok(!names.some((n) => n.includes(".reset.2026-10-20")), "leftovers must match a +pattern");
    assert.ok(names.includes("0b7c1e2a-0000-4000-a000-000000000003-topic-99.jsonl"));
    for (const entry of result.manifest) {
      const expected = state.expected.get(entry.name)!;
      assert.equal(entry.size, expected.length, entry.name);
      assert.equal(entry.sha256, createHash("sha256").update(expected).digest("hex"));
    }
  });

  describe("refuses what it does not understand, with a sentence and no stream", () => {
    const cases: [string, Parameters<typeof makeSqliteState>[1], RegExp][] = [
      [
        "a newer user_version",
        { layout: "C", userVersion: 24 },
        /unknown OpenClaw database layout \(user_version 24, transcript_events\(/,
      ],
      [
        "user_version 23 without the compressed-event columns",
        { layout: "B", userVersion: 23 },
        /layout C .* lacks column transcript_events\.event_zstd/,
      ],
      [
        "an index table without entry_json",
        { layout: "B", dropColumn: { table: "session_nodes", column: "entry_json" } },
        /lacks column session_nodes\.entry_json/,
      ],
      [
        "an archive whose hash is wrong",
        { layout: "B", corruptArchive: true },
        /does not match its recorded sha256/,
      ],
    ];
    for (const [what, options, message] of cases) {
      test(what, async () => {
        const state = await makeSqliteState(join(scratch, `bad-${what.replace(/\W+/g, "-")}`), options);
        const result = await runExporter(["stream", state.root, "main"]);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /^ocsync-error: /m);
        assert.match(result.stderr, message);
        if (result.end)
          assert.notEqual(result.end.status, 0, "a stream that started must end with a failure status");
        else assert.equal(result.raw.length, 0);
      });
    }

    test("no database: names the path", async () => {
      const result = await runExporter(["stream", join(scratch, "nothing"), "main"]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /^ocsync-error: no SQLite database at .*openclaw-agent\.sqlite/);
      assert.equal(result.raw.length, 0);
    });
  });
});
