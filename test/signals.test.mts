// SIGTERM and SIGINT while a sync is half-way through writing memory/, started as the workflow's step starts it
// (`node --import tsx scripts/sync-memory.mts`, scripts/ci/step.sh), the signal sent to the whole process group
// (Ctrl-C, `timeout`, a cancelled job) and to the node process alone. The run is paused deterministically right
// after its first rename into memory/ (OPENCLAW_SYNC_FAULT=pause-at); every case ends with exit 130 and memory/
// complete (the apply is finished first). test/signals-every-launcher.test.mts (full tier) adds `npx tsx`,
// `npm run sync --` and `tsx`, each with the signal at the launcher, the group and the node process.
// Run: npx tsx test/run.mts signals
// test tier: full — syncs paused 3 s mid-apply and signalled (test/signals-every-launcher.test.mts has every launcher)
import { before, describe, test } from "node:test";
import { tempDir } from "./helpers/tmp.mts";
import { caseName, signalCase, signalScene, type SignalScene } from "./helpers/signals.mts";

const tmp = tempDir("signals");

describe("signals during the apply", () => {
  let scene: SignalScene;
  before(async () => {
    scene = await signalScene(tmp);
  });
  const launcher = "node --import tsx";
  test(caseName(launcher, "group", "SIGINT"), (t) => signalCase(t, scene, launcher, "group", "SIGINT"));
  test(caseName(launcher, "launcher", "SIGTERM"), (t) =>
    signalCase(t, scene, launcher, "launcher", "SIGTERM"),
  );
});
