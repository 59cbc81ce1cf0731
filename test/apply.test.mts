// The journaled transaction of store/apply.mts, driven through the real scripts: a sync and a prune are
// killed (SIGKILL, via the test-only OPENCLAW_SYNC_FAULT hook) after every one of their steps in turn, and the
// next run must find memory/ complete old or complete new, with nothing left in or beside it and a provenance
// file that describes the files. A recovery killed half-way is recovered by the run after it.
// Run: npx tsx test/run.mts apply
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript, syncLocal, type RunResult } from "./helpers/run.mts";
import { cloudMovesOn, sha256, snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("apply");

const FAST = { OCSYNC_RETRY_DELAY_MS: "50" };
const kill = (n: number) => ({ ...FAST, OPENCLAW_SYNC_FAULT: `kill-after:${n}` });

/** The sessions folder and pruned.jsonl exactly; the provenance must describe the files it names. */
function state(memory: string): Record<string, string> {
  const all = snapshot(memory);
  delete all["sync-provenance.json"];
  return all;
}

function assertConsistentProvenance(memory: string): void {
  const path = join(memory, "sync-provenance.json");
  if (!existsSync(path)) return;
  const provenance = JSON.parse(readFileSync(path, "utf8"));
  for (const name of readdirSync(join(memory, "sessions"))) {
    const record = provenance.files[name];
    assert.ok(record, `${name} has a provenance record`);
    assert.equal(record.sha256, sha256(readFileSync(join(memory, "sessions", name))), `${name}: hash`);
    assert.equal(record.prunedAt, undefined, `${name} is present, so not marked pruned`);
  }
  for (const [name, record] of Object.entries<{ prunedAt?: string }>(provenance.files)) {
    if (record.prunedAt) assert.ok(!existsSync(join(memory, "sessions", name)), `${name} pruned: absent`);
  }
}

/** Nothing of a run is left beside memory/ (staging folders, journals, temporaries; the lock when asked). */
function assertNoLeftovers(memory: string, lockToo: boolean): void {
  const beside = readdirSync(join(memory, "..")).filter(
    (name) => name.startsWith(".memory") && (lockToo || !name.endsWith(".sync.lock")),
  );
  assert.deepEqual(beside, [], "nothing left beside memory/");
  const inside = Object.keys(snapshot(memory)).filter((name) =>
    /staging|journal|\.tmp$|\.previous/.test(name),
  );
  assert.deepEqual(inside, [], "nothing left inside memory/");
}

function killed(result: RunResult): boolean {
  return result.signal === "SIGKILL";
}

describe("a sync killed after any step", () => {
  test("the next run finds memory/ all old or all new, then completes the sync", async () => {
    const dir = join(tmp, "sync");
    mkdirSync(dir);
    const cloud = makeStateDir(join(dir, "state"), { partialLastLine: false });
    const base = join(dir, "base");
    mkdirSync(base);
    const first = await syncLocal(cloud.root, join(base, "memory"), [], { env: FAST });
    assert.equal(first.code, 0, first.stderr);
    const old = state(join(base, "memory"));

    cloudMovesOn(cloud.agents[0]);

    const full = join(dir, "full");
    cpSync(base, full, { recursive: true });
    const complete = await syncLocal(cloud.root, join(full, "memory"), [], { env: FAST });
    assert.equal(complete.code, 0, complete.stderr);
    const fresh = state(join(full, "memory"));
    assert.notDeepEqual(fresh, old);

    const outcomes = new Set<string>();
    const seen: string[] = [];
    let n = 1;
    for (; n < 80; n++) {
      const work = join(dir, `n${n}`);
      cpSync(base, work, { recursive: true });
      const memory = join(work, "memory");
      const run = await syncLocal(cloud.root, memory, [], { env: kill(n) });
      if (!killed(run)) {
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(state(memory), fresh);
        break;
      }
      assert.match(run.stderr, new RegExp(`fault injection: SIGKILL after step ${n} `));
      const step = /after step \d+ \((.*)\)/.exec(run.stderr)![1];

      // A recovery that is itself killed at its first step is recovered by the run after it.
      if (n % 5 === 3) {
        const again = await runScript("verify.mts", [memory], { env: kill(1) });
        if (killed(again)) outcomes.add("recovery killed");
      }
      // The next run (verify, which writes nothing else) recovers: all old or all new, in one line.
      const next = await runScript("verify.mts", [memory], { env: FAST });
      const now = state(memory);
      const which = /completed an interrupted sync/.test(next.stderr)
        ? "completed"
        : /rolled back an interrupted sync/.test(next.stderr)
          ? "rolled back"
          : "nothing to recover";
      outcomes.add(which);
      seen.push(`${n} ${step}: ${which}`);
      if (which === "completed") assert.deepEqual(now, fresh, `step ${n} (${step}): completed → new`);
      else if (which === "rolled back") assert.deepEqual(now, old, `step ${n} (${step}): rolled back → old`);
      else assert.ok(isEqual(now, old) || isEqual(now, fresh), `step ${n} (${step}): old or new`);
      assert.equal(next.stderr.split("\n").filter((l) => /interrupted/.test(l)).length <= 1, true);
      assertConsistentProvenance(memory);
      assertNoLeftovers(memory, which !== "nothing to recover");

      // And the sync after it completes the work.
      const last = await syncLocal(cloud.root, memory, [], { env: FAST });
      assert.equal(last.code, 0, `step ${n} (${step}): ${last.stderr}`);
      assert.deepEqual(state(memory), fresh, `step ${n} (${step}): the next sync completes`);
      assertConsistentProvenance(memory);
      assertNoLeftovers(memory, true);
      rmSync(work, { recursive: true, force: true });
    }
    assert.ok(n > 10, `a sync has more than 10 steps (${n - 1} seen)`);
    assert.ok(outcomes.has("rolled back"), [...outcomes].join(", "));
    assert.ok(outcomes.has("completed"), seen.join("\n"));
    assert.ok(outcomes.has("recovery killed"), [...outcomes].join(", "));
  });
});

describe("a prune killed after any step", () => {
  test("the next run finds memory/ all old or all new, and the prune after it logs each session once", async () => {
    const dir = join(tmp, "prune");
    mkdirSync(dir);
    const cloud = makeStateDir(join(dir, "state"), { partialLastLine: false });
    const base = join(dir, "base");
    mkdirSync(base);
    const first = await syncLocal(cloud.root, join(base, "memory"), [], { env: FAST });
    assert.equal(first.code, 0, first.stderr);
    const args = (memory: string) => [
      "--memory",
      memory,
      "--older-than",
      "1d",
      "--now",
      "2026-11-21T00:00:00Z",
    ];
    const old = snapshot(join(base, "memory"));

    const full = join(dir, "full");
    cpSync(base, full, { recursive: true });
    const complete = await runScript("prune.mts", args(join(full, "memory")));
    assert.equal(complete.code, 0, complete.stderr);
    assert.match(complete.stdout, /Pruned [2-9] sessions/);
    const fresh = snapshot(join(full, "memory"));

    const outcomes = new Set<string>();
    let n = 1;
    for (; n < 80; n++) {
      const work = join(dir, `n${n}`);
      cpSync(base, work, { recursive: true });
      const memory = join(work, "memory");
      const run = await runScript("prune.mts", args(memory), { env: kill(n) });
      if (!killed(run)) {
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(snapshot(memory), fresh);
        break;
      }
      const step = /after step \d+ \((.*)\)/.exec(run.stderr)![1];
      const next = await runScript("verify.mts", [memory]);
      const which = /completed an interrupted prune/.test(next.stderr)
        ? "completed"
        : /rolled back an interrupted prune/.test(next.stderr)
          ? "rolled back"
          : "nothing to recover";
      outcomes.add(which);
      // prune's output does not depend on the clock (--now): the provenance is compared byte for byte too.
      const now = snapshot(memory);
      if (which === "completed") assert.deepEqual(now, fresh, `step ${n} (${step})`);
      else if (which === "rolled back") assert.deepEqual(now, old, `step ${n} (${step})`);
      else assert.ok(isEqual(now, old) || isEqual(now, fresh), `step ${n} (${step}): old or new`);
      assertConsistentProvenance(memory);
      assertNoLeftovers(memory, which !== "nothing to recover");

      const again = await runScript("prune.mts", args(memory));
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(snapshot(memory), fresh, `step ${n} (${step}): the prune after it`);
      const log = readFileSync(join(memory, "pruned.jsonl"), "utf8").trim().split("\n");
      const ids = log.map((line) => JSON.parse(line).sessionId);
      assert.equal(new Set(ids).size, ids.length, "each session logged once");
      assert.ok(
        log.every((line) => JSON.parse(line).files.length > 0),
        "no session logged without its files",
      );
      assertNoLeftovers(memory, true);
      rmSync(work, { recursive: true, force: true });
    }
    assert.ok(n > 8, `a prune has more than 8 steps (${n - 1} seen)`);
    assert.ok(outcomes.has("rolled back") && outcomes.has("completed"), [...outcomes].join(", "));
  });
});

describe("leftovers of an earlier version's prune", () => {
  test("its staging folder and temporaries inside memory/ are cleaned up, the files moved back", async () => {
    const memory = join(tmp, "legacy", "memory");
    mkdirSync(join(memory, "sessions"), { recursive: true });
    writeFileSync(join(memory, "sessions", "kept.jsonl"), '{"type":"session","id":"kept"}\n');
    const dead = Number(
      spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString(),
    );
    const uuid = "0b6f0c3e-5d2a-4c1e-9a7b-2f4e6d8c0a1b";
    const staging = join(memory, `.prune-staging.${dead}.${uuid}`);
    mkdirSync(staging);
    writeFileSync(join(staging, "old.jsonl"), '{"type":"session","id":"old"}\n');
    writeFileSync(join(memory, "sessions", `sessions.json.${dead}.${uuid}.tmp`), "{}");
    writeFileSync(join(memory, `pruned.jsonl.${dead}.${uuid}.tmp`), "");
    const result = await runScript("verify.mts", [memory]);
    assert.match(
      result.stderr,
      new RegExp(
        `cleaned up after an interrupted prune of an earlier version \\(pid ${dead}\\): moved 1 file\\(s\\) back .*, removed 2 temporary file\\(s\\)`,
      ),
    );
    assert.deepEqual(Object.keys(snapshot(memory)).sort(), [
      "sessions/",
      "sessions/kept.jsonl",
      "sessions/old.jsonl",
    ]);
  });
});

function isEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
