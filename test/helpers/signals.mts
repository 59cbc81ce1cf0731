// A sync paused right after its first rename into memory/ (OPENCLAW_SYNC_FAULT=pause-at), started the way the
// README or the workflow starts it, gets SIGTERM or SIGINT at its launcher, its process group or its node process.
// Used by test/signals.test.mts (quick tier: the CI step's launcher, Ctrl-C) and
// test/signals-every-launcher.test.mts (full tier: every launcher, target and signal).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { syncScene, type SyncScene } from "./crash.mts";
import { ROOT, runScript } from "./run.mts";
import { sha256, snapshot } from "./tree.mts";

const SCRIPT = join("scripts", "sync-memory.mts");
export const LAUNCHERS: Record<string, string[]> = {
  "npx tsx": [join(dirname(process.execPath), "npx"), "tsx", SCRIPT],
  "npm run sync --": [join(dirname(process.execPath), "npm"), "run", "--silent", "sync", "--"],
  tsx: [join(ROOT, "node_modules", ".bin", "tsx"), SCRIPT],
  "node --import tsx": [process.execPath, "--import", "tsx", SCRIPT],
};
export const TARGETS = ["launcher", "group", "node"] as const;
export const SIGNALS = ["SIGTERM", "SIGINT"] as const;
export type Target = (typeof TARGETS)[number];
export type Signal = (typeof SIGNALS)[number];

/** Whether `pid` still runs. A zombie has ended: when a launcher exits before its child, the orphan is reaped by
 * whatever adopts it (in a container, PID 1), which may take its time, and kill(pid, 0) succeeds until then. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/PID/stat: "PID (COMM) STATE ..."; COMM may hold spaces and parentheses, STATE follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) is all there is
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

export type SignalScene = SyncScene;

/** A first sync into `base`, then the cloud (one agent) moves on without a new index key; `fresh` is what the
 * uninterrupted second sync leaves; both with every file's provenance record checked. */
export function signalScene(tmp: string): Promise<SignalScene> {
  return syncScene(tmp, { cloud: { secondAgent: false }, index: false, read: sessionsAndRecords });
}

export function caseName(launcher: string, target: Target, signal: Signal): string {
  return `${launcher}: ${signal} to the ${target === "group" ? "whole process group" : `${target} only`}`;
}

let n = 0;

/** One case: every one ends with exit 130 and memory/ complete (the apply is finished first), or, where a
 * launcher SIGKILLs its child, with a state the next run completes or rolls back. */
export async function signalCase(
  t: TestContext,
  scene: SignalScene,
  launcher: string,
  target: Target,
  signal: Signal,
): Promise<void> {
  const command = LAUNCHERS[launcher];
  const { cloud, old, fresh } = scene;
  const work = join(scene.dir, `run${++n}`);
  cpSync(scene.base, work, { recursive: true });
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
    assert.match(stderr, /interrupted by SIG(TERM|INT) while writing .*the writing was finished first/);
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
    else assert.deepEqual(now, fresh, `exit ${result.code}/${result.signal}: ${stderr}${next.stderr}`);
  }
  rmSync(work, { recursive: true, force: true });
}
