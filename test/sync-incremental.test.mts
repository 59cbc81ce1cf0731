// sync-memory.mts's incremental transfer driven as a user would, over the fake flyctl: only changed files travel,
// a grown transcript as its new bytes (checked whole), 250 grown transcripts in batches of appends (never one
// stream of everything), a rewritten one whole; an idle day is the listing and nothing else.
// Run: npx tsx test/run.mts sync-incremental
// test tier: full — a 300-turn history and 250 grown transcripts synced over the fake flyctl, about 12 syncs
import { describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./helpers/tmp.mts";
import { syncLocalFast, withFakeFly, workspaces } from "./helpers/sync-case.mts";

const tmp = tempDir("sync-incremental");

const workspace = workspaces(tmp);

/**
 * A bot's files were written before the sync that reads them. (A file whose mtime is the very second of the
 * listing is read again next time, as rsync's quick check does: the test would depend on the clock.)
 */
function writtenBeforeTheSync(dir: string): void {
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const name of readdirSync(dir)) utimesSync(join(dir, name), hourAgo, hourAgo);
}

describe("incremental transfer", () => {
  test("only changed files travel; a grown transcript travels as its new bytes, checked whole", async () => {
    const w = withFakeFly(workspace({ turns: 300, workspace: { "MEMORY.md": "# What I know\n" } }));
    const fly = w.fly;
    const run = (extra: string[] = []) => w.run(["--json", ...extra]);
    writtenBeforeTheSync(w.state.agents[0].sessionsDir);
    const first = JSON.parse((await run()).stdout);
    assert.equal(first.incremental, false, "the first sync streams everything");
    const agent = w.state.agents[0];
    const [live, unfinished] = agent.partial!;
    const grown = agent.sessions[1].files[0];
    const tail = '{"type":"custom","id":"0000bbbb","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n';
    appendFileSync(join(agent.sessionsDir, live), 'ant","content":[]}}\n');
    appendFileSync(join(agent.sessionsDir, grown), tail);
    const callsBefore = fly.calls().length;
    const second = await run();
    assert.equal(second.code, 0, second.stderr);
    const summary = JSON.parse(second.stdout);
    assert.equal(summary.incremental, true);
    assert.equal(summary.files.updated, 2);
    assert.equal(summary.files.unchanged, 9);
    assert.ok(
      summary.bytes.transferred < first.bytes.transferred / 4,
      `${summary.bytes.transferred} bytes on the wire`,
    );
    const calls = fly
      .calls()
      .slice(callsBefore)
      .filter((argv) => argv[0] === "ssh")
      .map((argv) => argv.at(-1)!);
    assert.match(calls[1], /^sh -s -- manifest /, "a listing first");
    assert.match(calls[2], /^sh -s -- fetch /, "then only the changed files");
    const fetch = calls[2].split(" ").filter((arg) => arg.startsWith("="));
    const hex = (name: string) => `=${Buffer.from(name).toString("hex")}`; // names travel as hex
    assert.deepEqual(fetch.map((arg) => arg.split(":")[0]).sort(), [hex(grown), hex(live)].sort());
    assert.ok(
      fetch.every((arg) => !arg.includes(":0:-")),
      "both as appends",
    );
    for (const name of [live, grown]) {
      const cloud = readFileSync(join(agent.sessionsDir, name));
      assert.ok(
        readFileSync(join(w.sessions, name)).equals(cloud),
        `${name} is byte-identical after the append`,
      );
    }
    assert.ok(
      readFileSync(join(w.sessions, live), "utf8").includes(unfinished),
      "the held-back line arrived complete",
    );
    // Nothing new: the listing is the only call.
    const before = fly.calls().length;
    const idle = JSON.parse((await run()).stdout);
    assert.equal(idle.provenanceWritten, false);
    const idleCalls = fly
      .calls()
      .slice(before)
      .filter((argv) => argv[0] === "ssh")
      .map((argv) => argv.at(-1)!);
    assert.equal(
      idleCalls.length,
      3,
      "discovery, the listing, the workspace's look-up with its listing (where the last sync found it); no transfer",
    );
    assert.match(idleCalls[1], /^sh -s -- manifest /);
    assert.match(idleCalls[2], new RegExp(`^sh -s -- facts .* ${w.state.workspace}$`));
  });

  test("a day when 250 transcripts grew: fetched in batches as appends, never one stream of everything; an idle day reads nothing on the bot", async () => {
    const w = workspace({ turns: 20, workspace: { "MEMORY.md": "# What I know\n" } });
    const agent = w.state.agents[0];
    const extra: string[] = [];
    for (let i = 0; i < 250; i++) {
      const id = `0c0c0c0c-0000-4000-8000-${String(i).padStart(12, "0")}`;
      extra.push(`${id}.jsonl`);
      writeFileSync(
        join(agent.sessionsDir, `${id}.jsonl`),
        `{"type":"session","version":3,"id":"${id}","timestamp":"2026-11-01T00:00:00.000Z","cwd":"/data"}\n`,
      );
    }
    writtenBeforeTheSync(agent.sessionsDir);
    const { fly, run: syncApp } = withFakeFly(w);
    const run = () => syncApp(["--json"]);
    const first = await run();
    assert.equal(first.code, 0, first.stderr);
    const line = '{"type":"custom","id":"0000cccc","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n';
    for (const name of extra) appendFileSync(join(agent.sessionsDir, name), line);
    const before = fly.calls().length;
    const busy = await run();
    assert.equal(busy.code, 0, busy.stderr);
    const summary = JSON.parse(busy.stdout);
    assert.equal(summary.incremental, true);
    assert.equal(summary.files.updated, 250);
    const calls = fly
      .calls()
      .slice(before)
      .filter((argv) => argv[0] === "ssh")
      .map((argv) => argv.at(-1)!);
    assert.ok(!calls.some((call) => / stream /.test(call)), "no full stream");
    const fetches = calls.filter((call) => /^sh -s -- fetch /.test(call));
    assert.equal(fetches.length, 2, "250 requests in two batches");
    for (const call of fetches) assert.ok(!call.includes(":0:-"), "every one an append");
    for (const name of extra)
      assert.ok(
        readFileSync(join(w.sessions, name)).equals(readFileSync(join(agent.sessionsDir, name))),
        name,
      );
    // An idle day: one quick listing (stat only), nothing fetched.
    const idleBefore = fly.calls().length;
    const idle = JSON.parse((await run()).stdout);
    assert.equal(idle.files.updated + idle.files.new, 0);
    const idleCalls = fly
      .calls()
      .slice(idleBefore)
      .filter((argv) => argv[0] === "ssh")
      .map((argv) => argv.at(-1)!);
    assert.equal(idleCalls.length, 3, "discovery, the listing, the workspace's look-up with its listing");
    assert.match(idleCalls[1], /^sh -s -- manifest .*%quick/);
    assert.match(idleCalls[2], /^sh -s -- facts /);
  });

  test("a clone whose git converts line endings (core.autocrlf): a grown transcript is still synced right", async () => {
    const w = workspace({ turns: 20, partialLastLine: false });
    const agent = w.state.agents[0];
    const git = (...args: string[]) => {
      const r = spawnSync("git", args, { cwd: w.dir, encoding: "utf8" });
      assert.equal(r.status, 0, `git ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    git("init", "-q", "-b", "main");
    writtenBeforeTheSync(agent.sessionsDir);
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    git("add", "-A", "memory");
    git("commit", "-q", "--no-verify", "-m", "backup");
    // As on Windows (Git for Windows sets core.autocrlf=true): the working copy gets CRLF, git calls it clean.
    git("config", "core.autocrlf", "true");
    const grown = agent.sessions[1].files[0];
    rmSync(join(w.sessions, grown));
    git("checkout", "--", "memory");
    assert.ok(readFileSync(join(w.sessions, grown), "utf8").includes("\r\n"), "the working copy has CRLF");
    assert.equal(git("status", "--porcelain", "--", "memory"), "", "and git calls it clean");
    appendFileSync(
      join(agent.sessionsDir, grown),
      '{"type":"custom","id":"0000dddd","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n',
    );
    const result = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).files.updated, 1);
    assert.ok(readFileSync(join(w.sessions, grown)).equals(readFileSync(join(agent.sessionsDir, grown))));
  });

  test("a transcript rewritten in its first bytes is fetched whole, and said so", async () => {
    const w = workspace({ turns: 20 });
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const name = w.state.agents[0].sessions[1].files[0];
    const path = join(w.state.agents[0].sessionsDir, name);
    const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
    const rewritten =
      [lines[0].replace('"version":3', '"version":4'), ...lines.slice(1), lines[1]].join("\n") + "\n";
    writeFileSync(path, rewritten);
    const result = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.incremental, true);
    assert.equal(readFileSync(join(w.sessions, name), "utf8"), rewritten);
    assert.match(summary.warnings.join("\n"), new RegExp(`${name} changed in the middle in the cloud`));
  });
});
