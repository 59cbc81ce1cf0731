// Regenerates sample/openclaw-state/, the bundled OpenClaw state dir that `npm run demo` syncs: every kind of
// session file a real file-era bot has (topics, forks, archives, a transcript caught mid-append, locks, temp
// files, sidecars, a second agent), and the agent's memory files in workspace/ (the demo names it with --workspace:
// a 2026.7.1 bot's default workspace is ~/.openclaw/workspace, which is not the sample's).
// Usage: npx tsx scripts/dev/make-sample.mts
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeStateDir } from "./statedir.mts";

const target = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "sample", "openclaw-state");
rmSync(target, { recursive: true, force: true });
makeStateDir(target, { now: Date.parse("2026-11-20T09:00:00.000Z"), turns: 6, version: "2026.7.1" });
const workspace = join(target, "workspace");
mkdirSync(join(workspace, "memory"), { recursive: true });
writeFileSync(
  join(workspace, "MEMORY.md"),
  "# Memory\n\n- Dana leads the Atlas launch; reviews are on Thursdays.\n- Prefers short answers.\n",
);
writeFileSync(join(workspace, "USER.md"), "# User\n\nDana, product lead, Berlin (UTC+1).\n");
writeFileSync(
  join(workspace, "memory", "2026-11-19.md"),
  "# 2026-11-19\n\n- Atlas launch moved to 2026-12-02.\n",
);
writeFileSync(join(workspace, "BOOTSTRAP.md"), "# Bootstrap\n\nNot a memory file: sync leaves it out.\n");
process.stdout.write(`wrote ${target}\n`);
