// SIGTERM and SIGINT while a sync is half-way through writing memory/, through each way the README and the
// workflow start it: `npx tsx scripts/sync-memory.mts`, `npm run sync --`, `tsx scripts/sync-memory.mts` and
// `node --import tsx scripts/sync-memory.mts` (what scripts/ci/step.sh runs), the signal sent to the launcher
// only, to the whole process group (Ctrl-C, `timeout`, a cancelled job), or to the node process only.
// The run is paused deterministically right after its first rename into memory/ (OPENCLAW_SYNC_FAULT=pause-at).
// Every case ends with exit 130 and memory/ complete (the apply is finished first), or, where a launcher
// SIGKILLs its child, with a state the next run completes or rolls back: never a half-applied folder.
// (test/signals.test.mts runs the CI step's launcher in the quick tier.)
// Run: npx tsx test/run.mts signals
// test tier: full — 22 syncs started through npx, npm and tsx, each paused 3 s mid-apply, over two minutes
import { before, describe, test } from "node:test";
import { tempDir } from "./helpers/tmp.mts";
import {
  caseName,
  LAUNCHERS,
  signalCase,
  signalScene,
  SIGNALS,
  TARGETS,
  type SignalScene,
} from "./helpers/signals.mts";

const tmp = tempDir("signals-every");

describe("signals during the apply, every launcher", () => {
  let scene: SignalScene;
  before(async () => {
    scene = await signalScene(tmp);
  });
  for (const launcher of Object.keys(LAUNCHERS)) {
    for (const target of TARGETS) {
      if (launcher === "node --import tsx" && target === "node") continue; // the launcher is the node process
      for (const signal of SIGNALS) {
        test(caseName(launcher, target, signal), (t) => signalCase(t, scene, launcher, target, signal));
      }
    }
  }
});
