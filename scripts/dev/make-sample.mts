// Regenerates sample/openclaw-state/, the bundled OpenClaw state dir that `npm run demo` syncs: every kind of
// session file a real file-era bot has (topics, forks, archives, a transcript caught mid-append, locks, temp
// files, sidecars, a second agent). Usage: npx tsx scripts/dev/make-sample.mts
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeStateDir } from "./statedir.mts";

const target = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "sample", "openclaw-state");
rmSync(target, { recursive: true, force: true });
makeStateDir(target, { now: Date.parse("2026-11-20T09:00:00.000Z"), turns: 6, version: "2026.7.1" });
process.stdout.write(`wrote ${target}\n`);
