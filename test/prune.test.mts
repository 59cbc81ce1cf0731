// scripts/prune.mts, run as a child process against real folders (and a real git repository).
// Run: npx tsx test/run.mts prune
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { runScript } from "./helpers/run.mts";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { tempDir } from "./helpers/tmp.mts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-11-20T09:00:00.000Z");
const NOW_ISO = new Date(NOW).toISOString();

const tmp = () => tempDir("prune");

/** Transcript lines whose newest activity is `last` (epoch ms); `message.timestamp` carries the newest one. */
function transcript(id: string, last: number, extra: string[] = []): string {
  const start = last - 3_600_000;
  const lines = [
    {
      type: "session",
      version: 3,
      id,
      timestamp: new Date(start).toISOString(),
      cwd: "/home/node/.openclaw/workspace",
    },
    {
      type: "model_change",
      id: "a0000001",
      parentId: null,
      timestamp: new Date(start).toISOString(),
      provider: "anthropic",
    },
    {
      type: "message",
      id: "a0000002",
      parentId: "a0000001",
      timestamp: new Date(last - 60_000).toISOString(),
      message: { role: "user", content: [{ type: "text", text: "hello" }], timestamp: last - 60_000 },
    },
    // The entry's own ISO clock lags: the epoch-ms message clock holds the newest time.
    {
      type: "message",
      id: "a0000003",
      parentId: "a0000002",
      timestamp: new Date(last - 30_000).toISOString(),
      message: { role: "assistant", content: [{ type: "text", text: "hi" }], timestamp: last },
    },
  ];
  return [...lines.map((l) => JSON.stringify(l)), ...extra].map((l) => `${l}\n`).join("");
}

const stamp = (ms: number) => new Date(ms).toISOString().replace(/:/g, "-");
const uuid = (n: number) => `${String(n).padStart(8, "0")}-0000-4000-a000-000000000000`;

interface Entry {
  sessionId?: string;
  updatedAt: number;
  sessionFile?: string;
}

/** A memory folder: `files` (name → content) in sessions/, `index` as sessions.json. */
function memory(files: Record<string, string>, index?: Record<string, Entry>): string {
  const dir = join(tmp(), "memory");
  mkdirSync(join(dir, "sessions"), { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, "sessions", name), content);
  if (index) writeFileSync(join(dir, "sessions", "sessions.json"), JSON.stringify(index, null, 2));
  return dir;
}

const entry = (sessionId: string, updatedAt: number, file = `${sessionId}.jsonl`): Entry => ({
  sessionId,
  updatedAt,
  sessionFile: `/data/agents/main/sessions/${file}`,
});

function prune(dir: string, ...args: string[]) {
  return runScript("prune.mts", ["--memory", dir, "--now", NOW_ISO, ...args]);
}

async function pruneJson(dir: string, ...args: string[]) {
  const result = await prune(dir, "--json", ...args);
  assert.equal(result.code, 0, result.stderr);
  return { ...result, json: JSON.parse(result.stdout) };
}

/** A provenance record as sync writes one (its sizes and hashes made up). */
const RECORD = {
  size: 1,
  sha256: "x",
  cloudSize: 1,
  cloudSha256: "x",
  syncedAt: "2026-11-01T00:00:00.000Z",
};

/** Writes `<dir>/sync-provenance.json`: a local sync at `at` and these file records; returns what it wrote. */
function writeProvenance(dir: string, files: Record<string, object>, at: string) {
  const provenance = {
    format: 1,
    lastSync: { at, transport: "local", stateDir: "/data", agent: "main", era: "files", tool: "t" },
    files,
  };
  writeFileSync(join(dir, "sync-provenance.json"), JSON.stringify(provenance, null, 2));
  return provenance;
}

const sessionFiles = (dir: string) => readdirSync(join(dir, "sessions")).sort();
const readIndex = (dir: string) => JSON.parse(readFileSync(join(dir, "sessions", "sessions.json"), "utf8"));

/** Every file under `dir` with a hash of its content: a snapshot to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const item of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${item.name}` : item.name;
      if (item.isDirectory()) walk(rel);
      else
        out[rel] = createHash("sha256")
          .update(readFileSync(join(dir, rel)))
          .digest("hex");
    }
  };
  walk("");
  return out;
}

describe("prune.mts", () => {
  describe("age is real activity, never mtime", () => {
    test("content-old/mtime-new goes, content-new/mtime-old stays", async () => {
      const [old, recent, newest] = [uuid(1), uuid(2), uuid(3)];
      const dir = memory(
        {
          [`${old}.jsonl`]: transcript(old, NOW - 60 * DAY),
          [`${recent}.jsonl`]: transcript(recent, NOW - 2 * DAY),
          [`${newest}.jsonl`]: transcript(newest, NOW - DAY),
        },
        {
          "agent:main:old": entry(old, NOW - 60 * DAY),
          "agent:main:recent": entry(recent, NOW - 2 * DAY),
          "agent:main:main": entry(newest, NOW - DAY),
        },
      );
      const at = (ms: number) => new Date(ms);
      utimesSync(join(dir, "sessions", `${old}.jsonl`), at(NOW), at(NOW));
      utimesSync(join(dir, "sessions", `${recent}.jsonl`), at(NOW - 400 * DAY), at(NOW - 400 * DAY));
      const { json } = await pruneJson(dir, "--older-than", "30d");
      assert.deepEqual(
        json.prune.map((s: { sessionId: string }) => s.sessionId),
        [old],
      );
      assert.equal(json.prune[0].lastActivity, new Date(NOW - 60 * DAY).toISOString());
      assert.equal(json.prune[0].activityFrom, "content");
      assert.deepEqual(sessionFiles(dir), [`${newest}.jsonl`, `${recent}.jsonl`, "sessions.json"].sort());
      assert.deepEqual(Object.keys(readIndex(dir)).sort(), ["agent:main:main", "agent:main:recent"]);
    });

    test("the index's updatedAt counts only when the files carry no time", async () => {
      const [a, b, c] = [uuid(1), uuid(2), uuid(3)];
      const noTimes = `${JSON.stringify({ type: "custom", customType: "x", data: {} })}\n`;
      const dir = memory(
        { [`${a}.jsonl`]: noTimes, [`${b}.jsonl`]: noTimes, [`${c}.jsonl`]: transcript(c, NOW - DAY) },
        // a: updatedAt recent, content timeless -> kept; b: updatedAt old -> pruned.
        { "k:a": entry(a, NOW - 2 * DAY), "k:b": entry(b, NOW - 90 * DAY), "k:c": entry(c, NOW - 400 * DAY) },
      );
      const { json } = await pruneJson(dir);
      assert.deepEqual(
        json.prune.map((s: { sessionId: string; activityFrom: string }) => [s.sessionId, s.activityFrom]),
        [[b, "index"]],
      );
      // c's index says 400 days but its content says yesterday: content wins.
      const kept = json.keep.find((s: { sessionId: string }) => s.sessionId === c);
      assert.equal(kept.activityFrom, "content");
      assert.equal(kept.reason, "recent");
    });
  });

  test("a session's topic threads, fork and archives go with it; archives are aged by their own content", async () => {
    const [old, live, fork, gone] = [uuid(1), uuid(2), uuid(3), uuid(4)];
    const forkName = `${stamp(NOW - 70 * DAY).replace(".", "-")}_${fork}.jsonl`;
    const files = {
      [`${old}.jsonl`]: transcript(old, NOW - 50 * DAY),
      [`${old}-topic-42.jsonl`]: transcript(old, NOW - 45 * DAY),
      [`${old}-topic-${encodeURIComponent("release plans/Q3")}.jsonl`]: transcript(old, NOW - 48 * DAY),
      [`${old}.jsonl.reset.${stamp(NOW - 60 * DAY)}`]: transcript(old, NOW - 61 * DAY),
      [`${old}.jsonl.bak.${stamp(NOW - 55 * DAY)}`]: transcript(old, NOW - 56 * DAY),
      [forkName]: transcript(fork, NOW - 70 * DAY),
      [`${live}.jsonl`]: transcript(live, NOW - DAY),
      // An old session's .deleted. archive whose content is recent (named long ago, written to lately): kept.
      [`${gone}.jsonl.deleted.${stamp(NOW - 90 * DAY)}`]: transcript(gone, NOW - 3 * DAY),
      "sessions.json.bak.1790000000000": "{}",
    };
    const dir = memory(files, {
      "agent:main:telegram:group:-100": entry(old, NOW - 50 * DAY),
      "agent:main:telegram:group:-100:topic:42": entry(old, NOW - 45 * DAY, `${old}-topic-42.jsonl`),
      "agent:main:main:thread:00000003": entry(fork, NOW - 70 * DAY, forkName),
      "agent:main:main": entry(live, NOW - DAY),
    });
    const { json } = await pruneJson(dir);
    assert.deepEqual(
      json.prune.map((s: { sessionId: string }) => s.sessionId),
      [fork, old],
    );
    const oldPlan = json.prune.find((s: { sessionId: string }) => s.sessionId === old);
    assert.equal(oldPlan.files.length, 5);
    assert.deepEqual(oldPlan.keys, [
      "agent:main:telegram:group:-100",
      "agent:main:telegram:group:-100:topic:42",
    ]);
    assert.equal(oldPlan.lastActivity, new Date(NOW - 45 * DAY).toISOString());
    assert.deepEqual(
      sessionFiles(dir),
      [
        `${gone}.jsonl.deleted.${stamp(NOW - 90 * DAY)}`,
        `${live}.jsonl`,
        "sessions.json",
        "sessions.json.bak.1790000000000",
      ].sort(),
    );
    assert.deepEqual(Object.keys(readIndex(dir)), ["agent:main:main"]);
    // Written like OpenClaw writes it.
    const text = readFileSync(join(dir, "sessions", "sessions.json"), "utf8");
    assert.equal(text, JSON.stringify(readIndex(dir), null, 2));
    assert.ok(!readdirSync(dir).some((name) => name.startsWith(".prune")), "no staging folder left");
  });

  test("a file an index entry names in sessionFile belongs to that entry's session", async () => {
    const [id, other, live] = [uuid(1), uuid(2), uuid(3)];
    // The entry's transcript carries another id in its name (a rewritten or imported file).
    const dir = memory(
      {
        [`${other}.jsonl`]: transcript(other, NOW - DAY),
        [`${id}.jsonl.reset.${stamp(NOW - 80 * DAY)}`]: transcript(id, NOW - 81 * DAY),
        [`${live}.jsonl`]: transcript(live, NOW),
      },
      { "k:id": entry(id, NOW - 80 * DAY, `${other}.jsonl`), "k:live": entry(live, NOW) },
    );
    const { json } = await pruneJson(dir);
    assert.deepEqual(json.prune, []);
    const joined = json.keep.find((s: { sessionId: string }) => s.sessionId === id);
    assert.deepEqual(joined.alsoIds, [other]);
    assert.equal(joined.files.length, 2);
    assert.equal(joined.lastActivity, new Date(NOW - DAY).toISOString());
  });

  describe("never empties the history", () => {
    test("a bot idle for months keeps its last stretch: the cutoff is measured from the newest activity", async () => {
      const ids = [uuid(1), uuid(2), uuid(3)];
      const ages = [200, 210, 300];
      const dir = memory(
        Object.fromEntries(ids.map((id, i) => [`${id}.jsonl`, transcript(id, NOW - ages[i] * DAY)])),
        Object.fromEntries(ids.map((id, i) => [`k:${i}`, entry(id, NOW - ages[i] * DAY)])),
      );
      const { json, stdout } = await pruneJson(dir, "--older-than", "30d");
      assert.equal(json.newestActivity, new Date(NOW - 200 * DAY).toISOString());
      assert.equal(json.cutoff, new Date(NOW - 230 * DAY).toISOString());
      assert.deepEqual(
        json.prune.map((s: { sessionId: string }) => s.sessionId),
        [ids[2]],
      );
      assert.ok(stdout.length > 0);
      assert.deepEqual(sessionFiles(dir), [`${ids[0]}.jsonl`, `${ids[1]}.jsonl`, "sessions.json"]);
    });

    test("when everything is older than the cutoff, the --keep-last most recent sessions stay", async () => {
      const ids = [uuid(1), uuid(2), uuid(3), uuid(4)];
      const ages = [100, 150, 200, 250];
      const files = Object.fromEntries(
        ids.map((id, i) => [`${id}.jsonl`, transcript(id, NOW - ages[i] * DAY)]),
      );
      const index: Record<string, Entry> = Object.fromEntries(
        ids.map((id, i) => [`k:${i}`, entry(id, NOW - ages[i] * DAY)]),
      );
      // An index entry without files, newer than everything: it holds no history, so it does not count.
      index["k:orphan"] = entry(uuid(9), NOW - 95 * DAY);
      const dir = memory(files, index);
      // The newest session is always inside the window (the cutoff is measured from it), so it stays.
      const { json: first } = await pruneJson(dir, "--older-than", "12h");
      assert.deepEqual(
        first.keep.map((s: { sessionId: string; reason: string }) => [s.sessionId, s.reason]),
        [
          [ids[0], "recent"],
          [uuid(9), "recent"],
        ],
      );
      assert.deepEqual(sessionFiles(dir), [`${ids[0]}.jsonl`, "sessions.json"]);
      assert.deepEqual(Object.keys(readIndex(dir)).sort(), ["k:0", "k:orphan"]);

      const human = await prune(memory(files, index), "--older-than", "P1W", "--keep-last", "2", "--dry-run");
      assert.match(human.stdout, new RegExp(`Kept despite its age \\(--keep-last 2\\):\\n  ${ids[1]}`));

      const dir2 = memory(files, index);
      const { json } = await pruneJson(dir2, "--older-than", "P1W", "--keep-last", "2");
      assert.deepEqual(
        json.keep
          .filter((s: { reason: string }) => s.reason === "keep-last")
          .map((s: { sessionId: string }) => s.sessionId),
        [ids[1]],
      );
      assert.deepEqual(sessionFiles(dir2), [`${ids[0]}.jsonl`, `${ids[1]}.jsonl`, "sessions.json"]);
    });
  });

  test("orphan index entries: old ones go, recent ones and entries without a sessionId stay", async () => {
    const live = uuid(1);
    const dir = memory(
      { [`${live}.jsonl`]: transcript(live, NOW - DAY) },
      {
        "agent:main:main": entry(live, NOW - DAY),
        "agent:main:stale": entry(uuid(2), NOW - 60 * DAY),
        "agent:main:fresh": entry(uuid(3), NOW - 2 * DAY),
        "agent:main:odd": { updatedAt: NOW - 90 * DAY } as Entry,
      },
    );
    const { json, stderr } = await pruneJson(dir);
    assert.deepEqual(json.indexEntriesRemoved, ["agent:main:stale"]);
    assert.deepEqual(json.prune[0].files, []);
    assert.deepEqual(json.unattachedKeys, ["agent:main:odd"]);
    assert.match(stderr, /without a sessionId/);
    assert.deepEqual(Object.keys(readIndex(dir)).sort(), [
      "agent:main:fresh",
      "agent:main:main",
      "agent:main:odd",
    ]);
    const log = readFileSync(join(dir, "pruned.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      log.map((r) => r.keys),
      [["agent:main:stale"]],
    );
  });

  test("a dry run lists exactly what a real run removes, and changes nothing", async () => {
    const state = makeStateDir(join(tmp(), "state"), { now: NOW, secondAgent: false });
    const dir = join(tmp(), "memory");
    cpSync(state.agents[0].sessionsDir, join(dir, "sessions"), { recursive: true });
    const before = snapshot(dir);
    const dry = await pruneJson(dir, "--older-than", "3d", "--dry-run");
    assert.deepEqual(snapshot(dir), before, "the dry run changed nothing");
    assert.equal(dry.json.dryRun, true);
    assert.ok(dry.json.prune.length >= 2, "the fixture has sessions to prune");
    const human = await prune(dir, "--older-than", "3d", "--dry-run");
    assert.match(human.stdout, /^Would prune \d+ sessions/m);
    assert.match(human.stdout, /Dry run: nothing was changed/);
    assert.deepEqual(snapshot(dir), before);

    const real = await pruneJson(dir, "--older-than", "3d");
    const { dryRun: _d, ...dryRest } = dry.json;
    const { dryRun: _r, ...realRest } = real.json;
    assert.deepEqual(realRest, dryRest);
    const listed = dry.json.prune.flatMap((s: { files: { name: string }[] }) =>
      s.files.map((f) => `sessions/${f.name}`),
    );
    const after = snapshot(dir);
    const removed = Object.keys(before).filter((path) => !(path in after));
    assert.deepEqual(removed.sort(), listed.sort());
    const added = Object.keys(after).filter((path) => !(path in before));
    assert.deepEqual(added, ["pruned.jsonl"]);
    const bytes = dry.json.prune.reduce((n: number, s: { bytes: number }) => n + s.bytes, 0);
    assert.equal(dry.json.totals.removed.bytes, bytes);
    // The generator's transient files are not sessions and are left alone.
    for (const name of state.agents[0].transient) assert.ok(existsSync(join(dir, "sessions", name)), name);
  });

  test("malformed transcripts are skipped, counted and reported; prune does not crash", async () => {
    const [old, live, junk] = [uuid(1), uuid(2), uuid(3)];
    const garbage = [
      "{not json",
      "undefined",
      "\0\0\0\0",
      "",
      '{"type":"message","id":"x","timestamp":"2026-',
    ];
    const dir = memory(
      {
        [`${old}.jsonl`]: transcript(old, NOW - 40 * DAY, garbage),
        [`${live}.jsonl`]: transcript(live, NOW - DAY) + '{"type":"message","partial":tr',
        [`${junk}.jsonl`]: "garbage\nmore garbage\n",
      },
      {
        "k:old": entry(old, NOW - 40 * DAY),
        "k:live": entry(live, NOW - DAY),
        "k:junk": entry(junk, NOW - 50 * DAY),
      },
    );
    const { json, stderr } = await pruneJson(dir);
    assert.deepEqual(
      json.malformed.map((m: { file: string; lines: number }) => [m.file, m.lines]),
      [
        [`${old}.jsonl`, 4],
        [`${live}.jsonl`, 1],
        [`${junk}.jsonl`, 2],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    assert.match(stderr, new RegExp(`${old}\\.jsonl: skipped 4 malformed lines \\(line 5, 6, 7, 9\\)`));
    assert.deepEqual(
      json.prune.map((s: { sessionId: string; activityFrom: string }) => [s.sessionId, s.activityFrom]),
      [
        [junk, "index"],
        [old, "content"],
      ],
    );
  });

  test("--json has a stable shape", async () => {
    const [a, b] = [uuid(1), uuid(2)];
    const dir = memory(
      { [`${a}.jsonl`]: transcript(a, NOW - 40 * DAY), [`${b}.jsonl`]: transcript(b, NOW - DAY) },
      { "k:a": entry(a, NOW - 40 * DAY), "k:b": entry(b, NOW - DAY) },
    );
    const { json } = await pruneJson(dir);
    assert.deepEqual(Object.keys(json).sort(), [
      "commit",
      "cutoff",
      "dryRun",
      "inGit",
      "indexEntriesRemoved",
      "keep",
      "keepLast",
      "log",
      "malformed",
      "memoryDir",
      "newestActivity",
      "now",
      "olderThan",
      "prune",
      "sessionsDir",
      "totals",
      "unattachedKeys",
    ]);
    const bytesA = Buffer.byteLength(transcript(a, NOW - 40 * DAY));
    assert.deepEqual(json.prune, [
      {
        sessionId: a,
        keys: ["k:a"],
        lastActivity: new Date(NOW - 40 * DAY).toISOString(),
        activityFrom: "content",
        files: [{ name: `${a}.jsonl`, bytes: bytesA }],
        bytes: bytesA,
      },
    ]);
    assert.deepEqual(json.totals, {
      removed: { sessions: 1, files: 1, bytes: bytesA, indexEntries: 1 },
      kept: { sessions: 1, files: 1, bytes: Buffer.byteLength(transcript(b, NOW - DAY)) },
    });
    assert.equal(json.keep[0].reason, "recent");
    assert.equal(json.inGit, false);
    assert.equal(json.commit, null);
    assert.equal(json.log, join(dir, "pruned.jsonl"));
    const [record] = readFileSync(join(dir, "pruned.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(record, { prunedAt: NOW_ISO, ...json.prune[0], cutoff: json.cutoff, olderThan: "30d" });
  });

  test("marks pruned files prunedAt in the provenance and keeps their records", async () => {
    const [a, b] = [uuid(1), uuid(2)];
    const archive = `${a}.jsonl.reset.${stamp(NOW - 45 * DAY)}`;
    const dir = memory(
      {
        [`${a}.jsonl`]: transcript(a, NOW - 40 * DAY),
        [archive]: transcript(a, NOW - 46 * DAY),
        [`${b}.jsonl`]: transcript(b, NOW - DAY),
      },
      { "k:a": entry(a, NOW - 40 * DAY), "k:b": entry(b, NOW - DAY) },
    );
    const provenance = writeProvenance(
      dir,
      { [`${a}.jsonl`]: { ...RECORD }, [`${b}.jsonl`]: { ...RECORD }, "sessions.json": { ...RECORD } },
      "2026-11-19T00:00:00.000Z",
    );
    await pruneJson(dir);
    const after = JSON.parse(readFileSync(join(dir, "sync-provenance.json"), "utf8"));
    assert.deepEqual(after.files[`${a}.jsonl`], { ...RECORD, prunedAt: NOW_ISO });
    assert.deepEqual(after.files[`${b}.jsonl`], RECORD);
    assert.equal(after.files[archive], undefined, "no record is invented for a file sync never stored");
    assert.deepEqual(after.lastSync, provenance.lastSync);
  });

  test("files stored under an escaped name are classified by their name on the bot (the provenance mapping)", async () => {
    // On a case-insensitive clone sync stores `<UPPER-ID>.jsonl` beside `<upper-id>.jsonl` as
    // `<UPPER-ID>~<hash>.jsonl` (store/names.mts) and records the bot's name as `remoteName`. Read by the local name
    // these are unknown files: the old session's transcript, archive and fork would never leave the working tree
    // (and its index entry would be pruned without them). By the bot's name they go with their session.
    const lower = "0000000a-0000-4000-a000-00000000000b";
    const upper = lower.toUpperCase();
    const live = uuid(3);
    const archive = `${upper}.jsonl.deleted.${stamp(NOW - 62 * DAY)}`;
    const forkRemote = `${stamp(NOW - 70 * DAY).replace(".", "-")}_${upper}.jsonl`;
    const escaped = {
      [`${upper}~0123456789.jsonl`]: `${upper}.jsonl`,
      [`${upper}~abcdefabcd.jsonl.deleted.${stamp(NOW - 62 * DAY)}`]: archive,
      [forkRemote.replace(".jsonl", "~fedcba9876.jsonl")]: forkRemote,
      // A control character on the bot (kept as it is on Linux, escaped in every message).
      [`${upper}-topic-a\x1b[2Jb.jsonl`]: `${upper}-topic-a\x1b[2Jb.jsonl`,
    };
    const dir = memory(
      {
        [`${lower}.jsonl`]: transcript(lower, NOW - DAY),
        [Object.keys(escaped)[0]]: transcript(upper, NOW - 60 * DAY),
        [Object.keys(escaped)[1]]: transcript(upper, NOW - 63 * DAY),
        [Object.keys(escaped)[2]]: transcript(upper, NOW - 70 * DAY),
        [Object.keys(escaped)[3]]: transcript(upper, NOW - 61 * DAY),
        [`${live}.jsonl`]: transcript(live, NOW),
      },
      {
        "agent:main:lower": entry(lower, NOW - DAY),
        "agent:main:upper": entry(upper, NOW - 60 * DAY),
        "agent:main:main:thread:fork": {
          sessionId: "fork-of-upper",
          updatedAt: NOW - 70 * DAY,
          sessionFile: `/data/agents/main/sessions/${forkRemote}`,
        },
        "agent:main:main": entry(live, NOW),
      },
    );
    const files: Record<string, object> = {};
    for (const [local, remoteName] of Object.entries(escaped))
      files[local] =
        local === remoteName ? { ...RECORD } : { ...RECORD, remoteName, nameReason: "case collision" };
    writeProvenance(dir, files, NOW_ISO);
    const dry = await prune(dir, "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.doesNotMatch(dry.stdout, /\x1b/, "a raw ESC reached the terminal");
    assert.match(dry.stdout, /a\\x1b\[2Jb\.jsonl/);
    const { json } = await pruneJson(dir);
    assert.deepEqual(
      json.prune.map((s: { sessionId: string }) => s.sessionId),
      [upper],
    );
    const [session] = json.prune;
    assert.deepEqual(session.keys, ["agent:main:main:thread:fork", "agent:main:upper"]);
    assert.deepEqual(session.alsoIds, ["fork-of-upper"]);
    assert.deepEqual(
      session.files.map((f: { name: string; remoteName?: string }) => [f.name, f.remoteName]).sort(),
      Object.entries(escaped)
        .map(([local, remote]) => [local, local === remote ? undefined : remote])
        .sort(),
    );
    // The archive's age comes from its name on the bot when its content has no time: here content wins (63 days).
    assert.equal(session.lastActivity, new Date(NOW - 60 * DAY).toISOString());
    assert.deepEqual(sessionFiles(dir), [`${lower}.jsonl`, `${live}.jsonl`, "sessions.json"].sort());
    assert.deepEqual(Object.keys(readIndex(dir)).sort(), ["agent:main:lower", "agent:main:main"]);
    const log = JSON.parse(readFileSync(join(dir, "pruned.jsonl"), "utf8").trim());
    assert.ok(
      log.files.some((f: { remoteName?: string }) => f.remoteName === archive),
      "the log names the bot's name",
    );
    const after = JSON.parse(readFileSync(join(dir, "sync-provenance.json"), "utf8"));
    for (const local of Object.keys(escaped)) assert.equal(after.files[local].prunedAt, NOW_ISO, local);
  });

  describe("usage and failures", () => {
    const cases: [string, string[], RegExp][] = [
      ["a bad duration", ["--older-than", "soon"], /--older-than 'soon' is not a duration/],
      ["a zero duration", ["--older-than", "0d"], /longer than zero/],
      ["--keep-last 0", ["--keep-last", "0"], /at least 1/],
      ["--keep-last x", ["--keep-last", "x"], /at least 1/],
      ["a bad --now", ["--now", "yesterday"], /--now 'yesterday' is not an ISO time/],
      ["an unknown flag", ["--force"], /Unknown option '--force'/],
      ["a positional argument", ["memory"], /Unexpected argument 'memory'/],
    ];
    for (const [name, args, message] of cases) {
      test(`${name} exits 2 and changes nothing`, async () => {
        const a = uuid(1);
        const dir = memory({
          [`${a}.jsonl`]: transcript(a, NOW - 400 * DAY),
          [`${uuid(2)}.jsonl`]: transcript(uuid(2), NOW),
        });
        const before = snapshot(dir);
        const result = await runScript("prune.mts", ["--memory", dir, ...args]);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, message);
        assert.match(result.stderr, /--help/);
        assert.equal(result.stdout, "");
        assert.deepEqual(snapshot(dir), before);
      });
    }

    test("--help prints the options and exits 0", async () => {
      const result = await runScript("prune.mts", ["--help"]);
      assert.equal(result.code, 0);
      for (const flag of ["--memory", "--older-than", "--keep-last", "--now", "--dry-run", "--json"]) {
        assert.ok(result.stdout.includes(flag), flag);
      }
    });

    test("a run while sync holds the memory folder's lock exits 1 and changes nothing; a dry run still works", async () => {
      const [a, b] = [uuid(1), uuid(2)];
      const dir = memory(
        { [`${a}.jsonl`]: transcript(a, NOW - 60 * DAY), [`${b}.jsonl`]: transcript(b, NOW - DAY) },
        { "k:a": entry(a, NOW - 60 * DAY), "k:b": entry(b, NOW - DAY) },
      );
      const lock = join(dir, "..", ".memory.sync.lock");
      const holder = { pid: process.pid, host: hostname(), startedAt: NOW_ISO, command: "sync-memory" };
      writeFileSync(lock, JSON.stringify(holder));
      const before = snapshot(dir);
      const result = await prune(dir);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /is running/);
      assert.deepEqual(snapshot(dir), before);
      assert.equal((await prune(dir, "--dry-run")).code, 0);
      assert.equal(readFileSync(lock, "utf8"), JSON.stringify(holder), "the holder's lock is left alone");
      rmSync(lock);
      assert.equal((await prune(dir)).code, 0);
      assert.ok(!existsSync(lock), "prune releases its own lock");
    });

    test("a missing memory folder exits 1 with one sentence", async () => {
      const result = await prune(join(tmp(), "nowhere"));
      assert.equal(result.code, 1);
      assert.equal(result.stderr.trim().split("\n").length, 1);
      assert.match(result.stderr, /does not exist/);
    });

    const a = uuid(1);
    const b = uuid(2);
    const broken: [string, (dir: string) => void, RegExp][] = [
      [
        "an invalid sessions.json",
        (dir) => writeFileSync(join(dir, "sessions", "sessions.json"), "{oops"),
        /not valid JSON/,
      ],
      [
        "an invalid provenance",
        (dir) => writeFileSync(join(dir, "sync-provenance.json"), "[]"),
        /Cannot use .*sync-provenance\.json/,
      ],
      ["a log that cannot be written", (dir) => mkdirSync(join(dir, "pruned.jsonl")), /nothing was pruned/],
    ];
    for (const [name, breakIt, message] of broken) {
      test(`${name} exits 1 and leaves memory/ unchanged`, async () => {
        const dir = memory(
          { [`${a}.jsonl`]: transcript(a, NOW - 60 * DAY), [`${b}.jsonl`]: transcript(b, NOW - DAY) },
          { "k:a": entry(a, NOW - 60 * DAY), "k:b": entry(b, NOW - DAY) },
        );
        breakIt(dir);
        const before = snapshot(dir);
        const result = await prune(dir);
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(
          result.stderr
            .trim()
            .split("\n")
            .filter((l) => l.includes("error:")).length,
          1,
        );
        assert.deepEqual(snapshot(dir), before);
        assert.deepEqual(
          readdirSync(dir).filter((n) => n.startsWith(".prune")),
          [],
        );
      });
    }
  });

  describe("in a git repository", () => {
    const git = (cwd: string, ...args: string[]) => {
      const result = spawnSync("git", args, { cwd, encoding: "utf8" });
      assert.equal(result.status, 0, `git ${args.join(" ")}: ${result.stderr}`);
      return result.stdout.trim();
    };
    const repo = () => {
      const root = tmp();
      git(root, "init", "-q", "-b", "main");
      git(root, "config", "user.email", "test@example.com");
      git(root, "config", "user.name", "Test");
      git(root, "config", "commit.gpgsign", "false");
      return root;
    };

    test("a pruned session comes back from history as the README shows", async () => {
      const root = repo();
      const [old, live] = [uuid(1), uuid(2)];
      const content = transcript(old, NOW - 60 * DAY);
      const dir = join(root, "memory");
      cpSync(
        memory(
          { [`${old}.jsonl`]: content, [`${live}.jsonl`]: transcript(live, NOW - DAY) },
          { "k:old": entry(old, NOW - 60 * DAY), "k:live": entry(live, NOW - DAY) },
        ),
        dir,
        { recursive: true },
      );
      git(root, "add", "memory");
      git(root, "commit", "-q", "-m", "sync");
      const held = git(root, "rev-parse", "HEAD");

      const { json } = await pruneJson(dir);
      assert.equal(json.inGit, true);
      assert.equal(json.commit, held);
      const [record] = readFileSync(join(dir, "pruned.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.equal(record.commit, held);
      assert.ok(!existsSync(join(dir, "sessions", `${old}.jsonl`)));
      git(root, "add", "-A", "memory");
      git(root, "commit", "-q", "-m", "prune");

      // The README's recipe: find the commit that deleted the file, check it out from the one before.
      const path = `memory/sessions/${old}.jsonl`;
      const deleting = git(root, "log", "--diff-filter=D", "--format=%H", "--", path);
      assert.equal(deleting.split("\n").length, 1);
      git(root, "checkout", `${deleting}^`, "--", path);
      assert.equal(readFileSync(join(root, path), "utf8"), content);
      // Checked out (and so staged) but not committed: prune leaves it alone.
      const again = await pruneJson(dir);
      assert.deepEqual(
        again.json.keep.map((k: { sessionId: string; reason: string }) => [k.sessionId, k.reason]),
        [
          [old, "uncommitted"],
          [live, "recent"],
        ],
      );
      // ... or straight from the commit the log names.
      rmSync(join(root, path));
      git(root, "checkout", record.commit, "--", path);
      assert.equal(readFileSync(join(root, path), "utf8"), content);
    });

    test("sessions whose files are not committed unchanged are kept until they are", async () => {
      const root = repo();
      const [committed, modified, untracked, live] = [uuid(1), uuid(2), uuid(3), uuid(4)];
      const dir = join(root, "memory");
      cpSync(
        memory(
          {
            [`${committed}.jsonl`]: transcript(committed, NOW - 60 * DAY),
            [`${modified}.jsonl`]: transcript(modified, NOW - 60 * DAY),
            [`${live}.jsonl`]: transcript(live, NOW - DAY),
          },
          { "k:live": entry(live, NOW - DAY) },
        ),
        dir,
        { recursive: true },
      );
      git(root, "add", "memory");
      git(root, "commit", "-q", "-m", "sync");
      writeFileSync(join(dir, "sessions", `${modified}.jsonl`), transcript(modified, NOW - 61 * DAY));
      writeFileSync(join(dir, "sessions", `${untracked}.jsonl`), transcript(untracked, NOW - 60 * DAY));
      const { json } = await pruneJson(dir);
      assert.deepEqual(
        json.prune.map((s: { sessionId: string }) => s.sessionId),
        [committed],
      );
      assert.deepEqual(
        json.keep
          .filter((s: { reason: string }) => s.reason === "uncommitted")
          .map((s: { sessionId: string }) => s.sessionId)
          .sort(),
        [modified, untracked],
      );
      git(root, "add", "-A", "memory");
      git(root, "commit", "-q", "-m", "sync again");
      const next = await pruneJson(dir);
      assert.deepEqual(next.json.prune.map((s: { sessionId: string }) => s.sessionId).sort(), [
        modified,
        untracked,
      ]);
    });
  });
});
