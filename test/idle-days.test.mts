// Days, not runs: sync, commit, prune, sync again against a cloud that did not change. An idle day leaves
// nothing to commit, pruned.jsonl logs each session once, verify --strict passes after a prune, and a pruned
// index key comes back only when the cloud's entry for it changes. Zone-less timestamps are UTC everywhere.
// Run: npx tsx test/run.mts idle-days
// test tier: full — six days of sync, prune, verify --strict and git commit in a row, about 20 script runs
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addIdleSession, makeStateDir } from "../scripts/dev/statedir.mts";
import { tempDir } from "./helpers/tmp.mts";
import { runScript, syncLocal } from "./helpers/run.mts";

const tmp = tempDir("idle");

const NOW = "2026-11-20T09:00:00Z";
const OLD = Date.parse("2026-09-01T10:00:00Z");
const OLD_ID = "0ld0ld00-0000-4000-a000-000000000001";
const OLD_KEY = "agent:main:telegram:direct:old-friend";

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync("git", args, { cwd, encoding: "utf8" });
  assert.equal(result.status, 0, `git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A bot with a session last used in September, both as a transcript and as an index key. */
function cloudWithOldSession(root: string) {
  const state = makeStateDir(root, { partialLastLine: false, secondAgent: false });
  const agent = state.agents[0];
  addIdleSession(agent, OLD_ID, OLD_KEY, OLD);
  const line = (id: string, at: number) =>
    `${JSON.stringify({ type: "message", id, parentId: null, timestamp: new Date(at).toISOString(), message: { role: "user", content: [{ type: "text", text: "hi" }], timestamp: at } })}\n`;
  return { state, agent, indexPath: join(agent.sessionsDir, "sessions.json"), line };
}

describe("idle days", () => {
  test("commit nothing from the third day on; each session is logged once; verify --strict passes", async () => {
    const repo = join(tmp, "repo");
    mkdirSync(repo);
    git(repo, "init", "--quiet", "--initial-branch=main");
    const { state, agent, indexPath, line } = cloudWithOldSession(join(tmp, "state"));
    const memory = join(repo, "memory");
    const day = async (n: number) => {
      const sync = await syncLocal(state.root, memory, []);
      assert.equal(sync.code, 0, `day ${n} sync: ${sync.stderr}`);
      const prune = await runScript("prune.mts", ["--memory", memory, "--older-than", "30d", "--now", NOW]);
      assert.equal(prune.code, 0, `day ${n} prune: ${prune.stderr}`);
      const strict = await runScript("verify.mts", ["--strict", memory]);
      assert.equal(strict.code, 0, `day ${n} verify --strict: ${strict.stdout}${strict.stderr}`);
      git(repo, "add", "-A", "memory");
      const changed = git(repo, "status", "--porcelain", "--", "memory");
      if (changed) git(repo, "commit", "--quiet", "-m", `day ${n}`);
      return { sync, prune, changed };
    };

    const first = await day(1);
    assert.ok(first.changed, "day 1 commits the history");
    assert.match(first.prune.stdout, /Nothing to prune|Kept despite its age/, "uncommitted: kept");
    const second = await day(2);
    assert.match(second.prune.stdout, new RegExp(`Pruned .*\\n[\\s\\S]*${OLD_ID}`));
    assert.ok(second.changed, "day 2 commits the prune");
    const pruned = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    assert.ok(pruned.prunedKeys[OLD_KEY], "the removed key is remembered");

    for (const n of [3, 4]) {
      const idle = await day(n);
      assert.equal(idle.changed, "", `day ${n}: nothing to commit`);
      assert.match(idle.sync.stdout, /nothing changed/);
      assert.match(idle.prune.stdout, /Nothing to prune/);
    }
    const log = readFileSync(join(memory, "pruned.jsonl"), "utf8").trim().split("\n");
    const ids = log.map((l) => JSON.parse(l).sessionId);
    assert.equal(ids.filter((id) => id === OLD_ID).length, 1, "logged once");
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(!(OLD_KEY in JSON.parse(readFileSync(join(memory, "sessions", "sessions.json"), "utf8"))));

    // The friend writes again: the entry and the transcript change in the cloud, and both come back.
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    index[OLD_KEY].updatedAt = Date.parse("2026-11-20T08:00:00Z");
    writeFileSync(indexPath, JSON.stringify(index, null, 2));
    appendFileSync(
      join(agent.sessionsDir, `${OLD_ID}.jsonl`),
      line("a2", Date.parse("2026-11-20T08:00:00Z")),
    );
    const back = await day(5);
    assert.ok(back.changed);
    assert.ok(OLD_KEY in JSON.parse(readFileSync(join(memory, "sessions", "sessions.json"), "utf8")));
    assert.ok(readFileSync(join(memory, "sessions", `${OLD_ID}.jsonl`), "utf8").includes('"a2"'));
    const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    assert.equal(provenance.prunedKeys?.[OLD_KEY], undefined, "a key that came back is forgotten");
    assert.equal((await day(6)).changed, "", "and the day after is idle again");
  });
});

describe("zone-less timestamps", () => {
  test("are UTC: the same history prunes the same under TZ=Pacific/Kiritimati (UTC+14) as under UTC", async () => {
    const memory = join(tmp, "tz", "memory");
    mkdirSync(join(memory, "sessions"), { recursive: true });
    // Last active 2026-10-21T09:30 UTC, written without a zone; the newest activity is 11-20T08:00 (also
    // zone-less), so the cutoff is 10-21T08:00 UTC. Read as local time in UTC+14 the session would end at
    // 10-20T19:30 UTC and be pruned.
    const id = "70ne0000-0000-4000-a000-000000000001";
    writeFileSync(
      join(memory, "sessions", `${id}.jsonl`),
      `${JSON.stringify({ type: "session", version: 3, id, timestamp: "2026-10-21T09:30:00" })}\n`,
    );
    const keep = "70ne0000-0000-4000-a000-000000000002";
    writeFileSync(
      join(memory, "sessions", `${keep}.jsonl`),
      `${JSON.stringify({ type: "session", version: 3, id: keep, timestamp: "2026-11-20 08:00:00" })}\n`,
    );
    const plans: string[] = [];
    for (const TZ of ["UTC", "Pacific/Kiritimati", "Pacific/Honolulu"]) {
      const result = await runScript(
        "prune.mts",
        ["--memory", memory, "--older-than", "30d", "--now", "2026-11-20T09:00:00", "--dry-run", "--json"],
        { env: { TZ } },
      );
      assert.equal(result.code, 0, result.stderr);
      const plan = JSON.parse(result.stdout);
      plans.push(JSON.stringify({ prune: plan.prune, keep: plan.keep, cutoff: plan.cutoff }));
      assert.equal(plan.cutoff, "2026-10-21T08:00:00.000Z", `${TZ}: --now without a zone is UTC`);
      assert.deepEqual(
        plan.keep.map((s: { sessionId: string }) => s.sessionId).sort(),
        [id, keep].sort(),
        `${TZ}: 09:30 UTC is after the cutoff`,
      );
      assert.equal(
        plan.keep.find((s: { sessionId: string }) => s.sessionId === id).lastActivity,
        "2026-10-21T09:30:00.000Z",
      );
    }
    assert.equal(new Set(plans).size, 1, "the same plan in every zone");
  });
});
