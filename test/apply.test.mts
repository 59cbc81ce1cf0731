// The journaled transaction of store/apply.mts, driven through the real scripts: a sync and a prune are
// killed (SIGKILL, via the test-only OPENCLAW_SYNC_FAULT hook) half-way through their renames and right after
// their commit point, and the next run must find memory/ complete old or complete new, with nothing left in or
// beside it and a provenance file that describes the files; a recovery killed half-way is recovered by the run
// after it. test/apply-every-step.test.mts (full tier) kills them after every step in turn.
// Run: npx tsx test/run.mts apply
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./helpers/tmp.mts";
import { runScript } from "./helpers/run.mts";
import { crashPrune, crashSync, pruneScene, syncScene, type Crash } from "./helpers/crash.mts";
import { snapshot } from "./helpers/tree.mts";

const tmp = tempDir("apply");

/** The number of the step just before `crash.step` (the kill-at spec cannot name a step whose name has a ":"). */
function stepBefore(crash: Crash): number {
  assert.equal(crash.killed, true);
  return Number(/^\d+/.exec(crash.step!)![0]) - 1;
}

describe("a sync killed in the middle of its writing path", () => {
  test("rolled back before its commit point, completed after it, even when the recovery is killed too; the sync after it completes", async () => {
    const scene = await syncScene(join(tmp, "sync"));
    // The first rename into memory/: the journal is durable, nothing is committed.
    const midway = await crashSync(scene, "midway", "kill-at:renamed into");
    assert.deepEqual([midway.outcome, midway.found], ["rolled back", "old"], midway.step);
    // The clean-up after the commit point: only debris is left.
    const cleanUp = await crashSync(scene, "clean-up", "kill-at:journal removed");
    assert.deepEqual([cleanUp.outcome, cleanUp.found], ["nothing to recover", "new"], cleanUp.step);
    // Right after the commit point (the step before the journal is removed), and the recovery killed as well.
    const committed = await crashSync(scene, "committed", `kill-after:${stepBefore(cleanUp)}`, true);
    assert.match(committed.step!, /\(commit point: in place\)$/);
    assert.equal(committed.recoveryKilled, true, "the recovery was killed at its first step");
    assert.equal(committed.found, "new", `${committed.step}: ${committed.outcome}`);
  });
});

describe("a prune killed in the middle of its writing path", () => {
  test("rolled back before its commit point, completed after it; the prune after it logs each session once", async () => {
    const scene = await pruneScene(join(tmp, "prune"));
    const midway = await crashPrune(scene, "midway", "kill-at:renamed into");
    assert.deepEqual([midway.outcome, midway.found], ["rolled back", "old"], midway.step);
    const cleanUp = await crashPrune(scene, "clean-up", "kill-at:journal removed");
    assert.deepEqual([cleanUp.outcome, cleanUp.found], ["nothing to recover", "new"], cleanUp.step);
    const committed = await crashPrune(scene, "committed", `kill-after:${stepBefore(cleanUp)}`);
    assert.match(committed.step!, /\(commit point: in place\)$/);
    assert.deepEqual([committed.outcome, committed.found], ["completed", "new"], committed.step);
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
