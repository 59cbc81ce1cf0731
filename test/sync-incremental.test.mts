// sync-memory.mts's incremental transfer driven as a user would, over the fake flyctl: only changed files travel,
// a grown transcript as its new bytes (checked whole), 250 grown transcripts in batches of appends (never one
// stream of everything), a rewritten one whole; an idle day is the listing and nothing else.
// Run: npx tsx test/run.mts sync-incremental
// test tier: full — a 300-turn history and 250 grown transcripts synced over the fake flyctl, about 12 syncs
import { describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { tempDir } from "./helpers/tmp.mts";
import { syncLocalFast, withFakeFly, workspaces } from "./helpers/sync-case.mts";
import { busyboxBin, remoteCommand, setMachineEnv } from "./helpers/fly.mts";
import { snapshot } from "./helpers/tree.mts";

const tmp = tempDir("sync-incremental");

const workspace = workspaces(tmp);

/**
 * A bot's files were written before the sync that reads them. (A file whose mtime is the very second of the
 * listing is read again next time, as rsync's quick check does: the test would depend on the clock.)
 */
function writtenBeforeTheSync(dir: string, names = readdirSync(dir)): void {
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const name of names) utimesSync(join(dir, name), hourAgo, hourAgo);
}

function isCompressed(argv: string[]): boolean {
  return remoteCommand(argv) !== argv.at(-1);
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
    // Appended before the sync, not in the second its listing is taken (then the quick check rightly distrusts
    // the stamp and the idle day reads the file again).
    writtenBeforeTheSync(agent.sessionsDir, [live, grown]);
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
    const calls = fly.sshSince(callsBefore);
    assert.deepEqual(
      calls.length,
      2,
      "one bundle (discovery, the listing, the workspace's look-up), one fetch",
    );
    assert.equal(calls[0], "sh -s --", "the bundle's programs travel on stdin");
    assert.match(fly.stdins().at(-2)!, /ocsync_program_1 manifest /, "the listing in it");
    assert.match(calls[1], /^sh -s -- fetch /, "then only the changed files");
    const fetch = calls[1].split(" ").filter((arg) => arg.startsWith("="));
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
    const idleCalls = fly.sshSince(before);
    assert.deepEqual(
      idleCalls,
      ["sh -s --"],
      "one connection: discovery, the listing, the workspace's look-up with its listing (where the last sync found it); no transfer",
    );
    const bundle = fly.stdins().at(-1)!;
    assert.match(bundle, /ocsync_program_1 manifest .* %quick/);
    assert.ok(bundle.includes(`ocsync_program_2 facts ${w.state.root} main ${w.state.workspace}`), bundle);
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
    writtenBeforeTheSync(agent.sessionsDir, extra);
    const before = fly.calls().length;
    const busy = await run();
    assert.equal(busy.code, 0, busy.stderr);
    const summary = JSON.parse(busy.stdout);
    assert.equal(summary.incremental, true);
    assert.equal(summary.files.updated, 250);
    const calls = fly.sshSince(before);
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
    const idleCalls = fly.sshSince(idleBefore);
    assert.deepEqual(idleCalls, ["sh -s --"], "one connection");
    assert.match(fly.stdins().at(-1)!, /ocsync_program_1 manifest .* %quick/, "a quick listing in it");
  });

  test("days the bundle cannot serve: a bot without gzip, another agent, an old flyctl that cuts tails; never a wrong or partial backup", async () => {
    const w = withFakeFly(workspace({ turns: 20, workspace: { "MEMORY.md": "# What I know\n" } }));
    writtenBeforeTheSync(w.state.agents[0].sessionsDir);
    // A minimal bot: BusyBox without gzip answers the bundle uncompressed.
    setMachineEnv(w.fly, { PATH: busyboxBin(w.dir, ["gzip"]) });
    const first = await w.run(["--json"]);
    assert.equal(first.code, 0, first.stderr);
    const ssh = () => w.fly.calls().filter((argv) => argv[0] === "ssh");
    let before = ssh().length;
    const grown = w.state.agents[0].sessions[0].files[0];
    appendFileSync(
      join(w.state.agents[0].sessionsDir, grown),
      '{"type":"custom","id":"0000dddd","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n',
    );
    const day = await w.run(["--json"]);
    assert.equal(day.code, 0, day.stderr);
    assert.equal(JSON.parse(day.stdout).files.updated, 1);
    assert.deepEqual(
      ssh()
        .slice(before)
        .map(
          (argv) =>
            `${isCompressed(argv) ? "gzip | " : ""}${remoteCommand(argv).split(" ").slice(0, 4).join(" ")}`,
        ),
      // The first call sends its program compressed, the bot says it has no gzip, and the run sends plain.
      ["gzip | sh -s --", "sh -s --", "sh -s -- fetch"],
    );
    assert.ok(
      readFileSync(join(w.sessions, grown)).equals(readFileSync(join(w.state.agents[0].sessionsDir, grown))),
    );
    // A first sync (another agent, into a folder of its own): nothing to foresee but discovery, so no bundle.
    before = ssh().length;
    const ops = await w.run(["--json", "--agent", "ops", "--memory", join(w.dir, "memory-ops")]);
    assert.equal(ops.code, 0, ops.stderr);
    assert.ok(
      !ssh()
        .slice(before)
        .some((argv) => remoteCommand(argv) === "sh -s --"),
      "no bundle for a first sync",
    );
    // A link that drops the end of every answer (as flyctl before 0.4.80 did, exit 0): the bundle is incomplete, so nothing of it is
    // used; the calls alone are checked end to end too, and the run fails with one sentence, memory/ untouched.
    const memoryBefore = snapshot(w.memory);
    w.fly.config.faults = { truncateTailBytes: 30 };
    w.fly.save();
    before = ssh().length;
    const cut = await w.run(["--json"]);
    assert.equal(cut.code, 1, cut.stderr);
    assert.match(cut.stderr, /cut short|incomplete|truncated|flyctl/i);
    assert.deepEqual(snapshot(w.memory), memoryBefore);
    assert.ok(ssh().slice(before).length >= 2, "the bundle, then discovery on its own");
  });

  test("a workspace whose path holds a quote and a space travels through flyctl's -C as one argument", async () => {
    const w = withFakeFly(workspace({ turns: 3 }));
    const path = join(w.dir, `the bot's workspace`);
    mkdirSync(join(path, "memory"), { recursive: true });
    writeFileSync(join(path, "MEMORY.md"), "# What I know\n");
    writeFileSync(join(path, "memory", "2026-11-30.md"), "a day\n");
    for (const day of [1, 2]) {
      const result = await w.run(["--json", "--workspace", path]);
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout).workspace;
      assert.equal(summary.path, path);
      assert.equal(day === 1 ? summary.new : summary.unchanged, 2, `day ${day}`);
    }
    assert.equal(readFileSync(join(w.memory, "workspace", "memory", "2026-11-30.md"), "utf8"), "a day\n");
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
