// The journaled transaction of store/apply.mts, exhaustively: a sync and a prune are killed (SIGKILL, via the
// test-only OPENCLAW_SYNC_FAULT hook) after every one of their steps in turn, and the next run must find memory/
// complete old or complete new, with nothing left in or beside it and a provenance file that describes the files.
// A recovery killed half-way is recovered by the run after it. (test/apply.test.mts kills at a few named steps.)
// Run: npx tsx test/run.mts apply-every-step
// test tier: full — about 90 script runs (every step of a sync and of a prune, each recovered), over a minute
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "./helpers/tmp.mts";
import { crashPrune, crashSync, pruneScene, syncScene, type Outcome } from "./helpers/crash.mts";

const tmp = tempDir("apply-every");

describe("a sync killed after any step", () => {
  test("the next run finds memory/ all old or all new, then completes the sync", async () => {
    const scene = await syncScene(join(tmp, "sync"));
    const outcomes = new Set<Outcome | "recovery killed">();
    const seen: string[] = [];
    let n = 1;
    for (; n < 80; n++) {
      // A recovery that is itself killed at its first step is recovered by the run after it.
      const crash = await crashSync(scene, `n${n}`, `kill-after:${n}`, n % 5 === 3);
      if (!crash.killed) break;
      assert.ok(crash.step!.startsWith(`${n} (`), `killed after step ${n}, not ${crash.step}`);
      outcomes.add(crash.outcome!);
      if (crash.recoveryKilled) outcomes.add("recovery killed");
      seen.push(`${crash.step}: ${crash.outcome}`);
    }
    assert.ok(n > 10, `a sync has more than 10 steps (${n - 1} seen)`);
    assert.ok(outcomes.has("rolled back"), [...outcomes].join(", "));
    assert.ok(outcomes.has("completed"), seen.join("\n"));
    assert.ok(outcomes.has("recovery killed"), [...outcomes].join(", "));
  });
});

describe("a prune killed after any step", () => {
  test("the next run finds memory/ all old or all new, and the prune after it logs each session once", async () => {
    const scene = await pruneScene(join(tmp, "prune"));
    const outcomes = new Set<Outcome>();
    let n = 1;
    for (; n < 80; n++) {
      const crash = await crashPrune(scene, `n${n}`, `kill-after:${n}`);
      if (!crash.killed) break;
      assert.ok(crash.step!.startsWith(`${n} (`), `killed after step ${n}, not ${crash.step}`);
      outcomes.add(crash.outcome!);
    }
    assert.ok(n > 8, `a prune has more than 8 steps (${n - 1} seen)`);
    assert.ok(outcomes.has("rolled back") && outcomes.has("completed"), [...outcomes].join(", "));
  });
});
