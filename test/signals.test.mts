// SIGTERM and SIGINT while a sync is half-way through writing memory/, through each way the README and the
// workflow start it: `npx tsx scripts/sync-memory.mts`, `npm run sync --`, `tsx scripts/sync-memory.mts` and
// `node --import tsx scripts/sync-memory.mts` (what scripts/ci/step.sh runs), the signal sent to the launcher
// only, to the whole process group (Ctrl-C, `timeout`, a cancelled job), or to the node process only.
// The run is paused deterministically right after its first rename into memory/ (OPENCLAW_SYNC_FAULT=pause-at).
// Every case ends with exit 130 and memory/ complete (the apply is finished first), or, where a launcher
// SIGKILLs its child, with a state the next run completes or rolls back: never a half-applied folder.
// Run: npx tsx test/run.mts signals
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { makeStateDir, type GeneratedStateDir } from "../scripts/dev/statedir.mts";
import { ROOT, runScript, syncLocal } from "./helpers/run.mts";
import { cloudMovesOn, sha256, snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("signals");

const SCRIPT = join("scripts", "sync-memory.mts");
const LAUNCHERS: Record<string, string[]> = {
  "npx tsx": [join(dirname(process.execPath), "npx"), "tsx", SCRIPT],
  "npm run sync --": [join(dirname(process.execPath), "npm"), "run", "--silent", "sync", "--"],
  tsx: [join(ROOT, "node_modules", ".bin", "tsx"), SCRIPT],
  "node --import tsx": [process.execPath, "--import", "tsx", SCRIPT],
};
const TARGETS = ["launcher", "group", "node"] as const;
const SIGNALS = ["SIGTERM", "SIGINT"] as const;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sessionsAndRecords(memory: string): Record<string, string> {
  const all = snapshot(memory);
  delete all["sync-provenance.json"];
  const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
  for (const name of readdirSync(join(memory, "sessions"))) {
    assert.equal(provenance.files[name]?.sha256, sha256(readFileSync(join(memory, "sessions", name))), name);
  }
  return all;
}

describe("signals during the apply", () => {
  let cloud: GeneratedStateDir;
  let base: string;
  let old: Record<string, string>;
  let fresh: Record<string, string>;

  before(async () => {
    cloud = makeStateDir(join(tmp, "state"), { partialLastLine: false, secondAgent: false });
    base = join(tmp, "base");
    mkdirSync(base);
    assert.equal((await syncLocal(cloud.root, join(base, "memory"))).code, 0);
    old = sessionsAndRecords(join(base, "memory"));
    cloudMovesOn(cloud.agents[0], { index: false });
    const full = join(tmp, "full");
    cpSync(base, full, { recursive: true });
    assert.equal((await syncLocal(cloud.root, join(full, "memory"))).code, 0);
    fresh = sessionsAndRecords(join(full, "memory"));
  });

  let n = 0;
  for (const [launcher, command] of Object.entries(LAUNCHERS)) {
    for (const target of TARGETS) {
      if (launcher === "node --import tsx" && target === "node") continue; // the launcher is the node process
      for (const signal of SIGNALS) {
        test(`${launcher}: ${signal} to the ${target === "group" ? "whole process group" : `${target} only`}`, async (t) => {
          const work = join(tmp, `run${++n}`);
          cpSync(base, work, { recursive: true });
          const memory = join(work, "memory");
          const marker = join(work, "paused");
          const child = spawn(
            command[0],
            [...command.slice(1), "--local", "--state-dir", cloud.root, "--memory", memory],
            {
              cwd: ROOT,
              detached: true, // its own process group, as a terminal or a CI job gives it
              env: { ...process.env, NO_COLOR: "1", OPENCLAW_SYNC_FAULT: `pause-at:renamed into:${marker}` },
              stdio: ["ignore", "pipe", "pipe"],
            },
          );
          let stderr = "";
          child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
          child.stdout.resume();
          const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
            child.on("close", (code, signal) => resolve({ code, signal })),
          );
          for (let waited = 0; !existsSync(marker); waited += 50) {
            assert.ok(waited < 90_000, `the run reached its first rename (stderr: ${stderr})`);
            await sleep(50);
          }
          const [nodePid] = readFileSync(marker, "utf8").split(" ").map(Number);
          const pid = child.pid!;
          if (target === "launcher") process.kill(pid, signal);
          else if (target === "group") process.kill(-pid, signal);
          else process.kill(nodePid, signal);
          const result = await exited;
          for (let waited = 0; alive(nodePid); waited += 50) {
            assert.ok(waited < 30_000, "the node process ends");
            await sleep(50);
          }

          t.diagnostic(`exit ${result.code ?? result.signal}`);
          if (result.code === 130) {
            // The apply was finished first: the complete new state, nothing left behind, one sentence.
            assert.match(
              stderr,
              /interrupted by SIG(TERM|INT) while writing .*the writing was finished first/,
            );
            assert.deepEqual(sessionsAndRecords(memory), fresh);
            assert.deepEqual(
              readdirSync(work).filter((name) => name.startsWith(".memory")),
              [],
              "no staging folder or lock left",
            );
          } else {
            // Only a launcher that SIGKILLs its child may end otherwise; the next run recovers.
            assert.ok(launcher !== "node --import tsx", `exit ${result.code}/${result.signal}: ${stderr}`);
            const next = await runScript("verify.mts", [memory]);
            const now = sessionsAndRecords(memory);
            if (/rolled back/.test(next.stderr)) assert.deepEqual(now, old);
            else
              assert.deepEqual(now, fresh, `exit ${result.code}/${result.signal}: ${stderr}${next.stderr}`);
          }
          rmSync(work, { recursive: true, force: true });
        });
      }
    }
  }
});
