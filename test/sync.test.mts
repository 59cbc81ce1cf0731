// sync-memory.mts driven as a user would: the real script as a child process, real files, the local transport.
// Its guards and failures are in sync-guards.test.mts; --app (a fake flyctl), the terminal and usage in
// sync-app.test.mts: three files of similar length, so the quick tier's two at a time end together.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { assertExactCopy, sha256, snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import { assertCleanFailure, syncLocalFast, workspaces } from "./helpers/sync-case.mts";

const tmp = tempDir("sync");

const workspace = workspaces(tmp);
describe("sync --local", () => {
  test("copies the history exactly, holds back an unfinished line, records provenance", async () => {
    const w = workspace();
    const result = await syncLocalFast(w.state.root, w.memory);
    assert.equal(result.code, 0, result.stderr);
    assertExactCopy(w.state, w.sessions);
    assert.match(result.stderr, /OpenClaw 2026\.7\.1 \(from openclaw\.json meta\.lastTouchedVersion\)/);
    assert.match(result.stderr, /agents in .*: main \(files\), ops \(files\)/);
    assert.match(result.stderr, /storage era files/);
    assert.match(result.stdout, /11 new, 0 updated, 0 unchanged/);
    assert.match(result.stdout, /held back: 1 unfinished last line/);
    const provenance = JSON.parse(readFileSync(join(w.memory, "sync-provenance.json"), "utf8"));
    assert.equal(provenance.lastSync.era, "files");
    assert.equal(provenance.lastSync.agent, "main");
    assert.equal(provenance.lastSync.openclawVersion, "2026.7.1");
    assert.equal(Object.keys(provenance.files).length, 11);
    for (const [name, record] of Object.entries<any>(provenance.files)) {
      const bytes = readFileSync(join(w.sessions, name));
      assert.equal(record.sha256, sha256(bytes), `${name}: stored hash`);
      assert.equal(record.size, bytes.length);
      const cloud = readFileSync(join(w.state.agents[0].sessionsDir, name));
      assert.equal(record.cloudSha256, sha256(cloud), `${name}: cloud hash`);
    }
    const partial = w.state.agents[0].partial![0];
    assert.equal(provenance.files[partial].heldBackBytes, w.state.agents[0].partial![1].length);
  });

  test("a second run with nothing new changes nothing, not even the provenance file", async () => {
    const w = workspace();
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const before = snapshot(w.memory);
    const again = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout);
    assert.equal(summary.files.unchanged, 11);
    assert.equal(summary.files.new + summary.files.updated, 0);
    assert.equal(summary.provenanceWritten, false);
    assert.deepEqual(snapshot(w.memory), before);
  });

  test("appends arrive; the finished line comes complete; files only in memory/ stay", async () => {
    // A bot with its workspace on the volume: a missing one would be a warning of its own.
    const w = workspace({ workspace: { "MEMORY.md": "# Memory\n" } });
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const [partialName, unfinished] = w.state.agents[0].partial!;
    appendFileSync(join(w.state.agents[0].sessionsDir, partialName), 'ant","content":[]}}\n');
    writeFileSync(
      join(w.sessions, "old-session.jsonl"),
      '{"type":"session","version":3,"id":"old-session"}\n',
    );
    const result = await syncLocalFast(w.state.root, w.memory, ["--json", "--force"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.files.updated, 1);
    assert.equal(summary.heldBack.lines, 0);
    assert.deepEqual(summary.warnings, [], "an append is not worth a warning");
    const local = readFileSync(join(w.sessions, partialName), "utf8");
    assert.ok(local.endsWith(`${unfinished}ant","content":[]}}\n`));
    assert.ok(existsSync(join(w.sessions, "old-session.jsonl")), "absence in the cloud deletes nothing");
  });

  test("a transcript rewritten in the cloud is taken, with a warning that counts lines", async () => {
    // A bot with its workspace on the volume: a missing one would be a warning of its own.
    const w = workspace({ workspace: { "MEMORY.md": "# Memory\n" } });
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const session = w.state.agents[0].sessions[1];
    const file = join(w.state.agents[0].sessionsDir, session.files[0]);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    writeFileSync(file, `${lines.slice(-2).join("\n")}\n`);
    const result = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.warnings.length, 1);
    assert.match(
      summary.warnings[0],
      new RegExp(`${session.files[0]} shrank in the cloud \\(${lines.length} → 2 lines`),
    );
    assert.match(result.stderr, /warning: .* shrank/);
    assert.equal(readFileSync(join(w.sessions, session.files[0]), "utf8"), `${lines.slice(-2).join("\n")}\n`);
  });

  test("--dry-run reports what would change and writes nothing", async () => {
    const w = workspace();
    const result = await syncLocalFast(w.state.root, w.memory, ["--dry-run", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.dryRun, true);
    assert.equal(summary.files.new, 11);
    assert.equal(existsSync(w.memory), false, "not even the folder is created");
    assert.deepEqual(
      readdirSync(w.dir).filter((n) => n.startsWith(".")),
      [],
    );
  });

  test("the text dry run lists the files and the held-back line the JSON lists; the real run then does exactly that", async () => {
    const w = workspace();
    const json = JSON.parse((await syncLocalFast(w.state.root, w.memory, ["--dry-run", "--json"])).stdout);
    const text = await syncLocalFast(w.state.root, w.memory, ["--dry-run"]);
    assert.equal(text.code, 0, text.stderr);
    const listed = [...text.stdout.matchAll(/^ {2}(new|updated): +(\S+) \(/gm)].map((m) => `${m[1]} ${m[2]}`);
    const expected = json.changes
      .filter((c: { change: string }) => c.change === "new" || c.change === "updated")
      .map((c: { change: string; name: string }) => `${c.change} ${c.name}`);
    assert.equal(listed.length, 11);
    assert.deepEqual(listed, expected);
    // The transcript caught mid-append: its unfinished last line is named without moving the data.
    const [partialName, unfinished] = w.state.agents[0].partial!;
    const bytes = Buffer.byteLength(unfinished);
    assert.deepEqual(json.heldBack, { lines: 1, bytes });
    assert.match(
      text.stdout,
      new RegExp(
        `^ {2}held back: 1 unfinished last line\\(s\\), ${bytes} bytes \\(they arrive complete next time\\)$`,
        "m",
      ),
    );
    assert.equal(existsSync(w.memory), false);

    // The real run holds back the same line and writes what the dry run announced, file by file.
    const real = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(real.code, 0, real.stderr);
    const done = JSON.parse(real.stdout);
    assert.deepEqual(done.heldBack, json.heldBack);
    const changing = (summary: {
      changes: { name: string; change: string; size: number; heldBackBytes?: number }[];
    }) =>
      summary.changes
        .filter((c) => c.change === "new" || c.change === "updated")
        .map((c) => [c.name, c.change, c.size, c.heldBackBytes ?? 0]);
    assert.deepEqual(changing(json), changing(done));
    assert.equal(json.bytes.written, done.bytes.written);
    assert.ok(changing(json).some(([name, , , held]) => name === partialName && held === bytes));

    // The next day the bot has finished the line and started another: the dry run says which file grows and that
    // one unfinished line is held back again.
    const cloudFile = join(w.state.agents[0].sessionsDir, partialName);
    appendFileSync(cloudFile, 'ant","content":[]}}\n{"type":"mess');
    const next = await syncLocalFast(w.state.root, w.memory, ["--dry-run"]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, new RegExp(`^ {2}updated: ${partialName.replace(/[.]/g, "\\.")} \\(`, "m"));
    assert.match(next.stdout, /^ {2}held back: 1 unfinished last line\(s\), 13 bytes/m);
  });

  test("picks the only agent, refuses to guess between several, names unknown ones", async () => {
    const w = workspace();
    rmSync(join(w.state.root, "agents", "main"), { recursive: true });
    const only = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(only.code, 0, only.stderr);
    assert.equal(JSON.parse(only.stdout).source.agent, "ops");
    mkdirSync(join(w.state.root, "agents", "default", "sessions"), { recursive: true });
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory),
      /several agents \(default, ops\) and none is "main"; pick one with --agent ID/,
      before,
      w.memory,
    );
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory, ["--agent", "nope"]),
      /agent "nope" does not exist .* \(found: default, ops\)/,
      before,
      w.memory,
    );
  });
});
