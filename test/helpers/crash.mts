// A sync or a prune killed at one step of its writing path (OPENCLAW_SYNC_FAULT, scripts/lib/store/fault.mts),
// then the runs after it, with every check of the journaled transaction (store/apply.mts): the next run finds
// memory/ all old or all new with nothing left in or beside it and a provenance that describes the files, and the
// sync or prune after it completes the work. test/apply.test.mts kills at a few named steps (quick tier);
// test/apply-every-step.test.mts kills after every step in turn (full tier). test/helpers/signals.mts starts from
// the same sync scene.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeStateDir, type GeneratedStateDir, type StateDirOptions } from "../../scripts/dev/statedir.mts";
import { runScript, syncLocal, type RunResult } from "./run.mts";
import { cloudMovesOn, sha256, snapshot } from "./tree.mts";

export const FAST = { OCSYNC_RETRY_DELAY_MS: "50" };
/** `kill-after:N` (after the Nth step) or `kill-at:TEXT` (at the first step whose name starts with TEXT). */
const fault = (spec: string) => ({ ...FAST, OPENCLAW_SYNC_FAULT: spec });

export type Outcome = "completed" | "rolled back" | "nothing to recover";

export interface Crash {
  /** False when the run had fewer steps than asked for and completed. */
  killed: boolean;
  step?: string;
  outcome?: Outcome;
  /** The recovery itself was killed at its first step (then recovered by the run after it). */
  recoveryKilled?: boolean;
  /** What memory/ held once recovered: as before the run, or as the uninterrupted run leaves it. */
  found?: "old" | "new";
}

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

export function isEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

function outcomeOf(stderr: string, kind: "sync" | "prune"): Outcome {
  return new RegExp(`completed an interrupted ${kind}`).test(stderr)
    ? "completed"
    : new RegExp(`rolled back an interrupted ${kind}`).test(stderr)
      ? "rolled back"
      : "nothing to recover";
}

/** A cloud (`<dir>/state`, no line left mid-append) and its first sync into `<dir>/base/memory`. */
async function firstSync(
  dir: string,
  cloudOptions: StateDirOptions = {},
): Promise<{ cloud: GeneratedStateDir; base: string }> {
  mkdirSync(dir, { recursive: true });
  const cloud = makeStateDir(join(dir, "state"), { partialLastLine: false, ...cloudOptions });
  const base = join(dir, "base");
  mkdirSync(base);
  const first = await syncLocal(cloud.root, join(base, "memory"), [], { env: FAST });
  assert.equal(first.code, 0, first.stderr);
  return { cloud, base };
}

export interface SyncScene {
  dir: string;
  cloud: GeneratedStateDir;
  /** A folder holding memory/ as the first sync left it. */
  base: string;
  old: Record<string, string>;
  fresh: Record<string, string>;
}

export interface SyncSceneOptions {
  /** makeStateDir's options for the cloud. */
  cloud?: StateDirOptions;
  /** False: the cloud's index does not gain the new session (cloudMovesOn). */
  index?: boolean;
  /** What `old` and `fresh` hold of a memory folder (default: every file but the provenance). */
  read?: (memory: string) => Record<string, string>;
}

/** A first sync, then the cloud moves on (one transcript grows, one is new, the index changes); `fresh` is what an
 * uninterrupted second sync leaves. */
export async function syncScene(dir: string, options: SyncSceneOptions = {}): Promise<SyncScene> {
  const read = options.read ?? state;
  const { cloud, base } = await firstSync(dir, options.cloud);
  const old = read(join(base, "memory"));

  cloudMovesOn(cloud.agents[0], { index: options.index });

  const full = join(dir, "full");
  cpSync(base, full, { recursive: true });
  const complete = await syncLocal(cloud.root, join(full, "memory"), [], { env: FAST });
  assert.equal(complete.code, 0, complete.stderr);
  const fresh = read(join(full, "memory"));
  assert.notDeepEqual(fresh, old);
  return { dir, cloud, base, old, fresh };
}

/** The second sync killed at `spec`; verify recovers (itself killed once first when `killRecovery`); the sync
 * after it completes the work. */
export async function crashSync(
  scene: SyncScene,
  label: string,
  spec: string,
  killRecovery = false,
): Promise<Crash> {
  const work = join(scene.dir, label);
  cpSync(scene.base, work, { recursive: true });
  const memory = join(work, "memory");
  const run = await syncLocal(scene.cloud.root, memory, [], { env: fault(spec) });
  if (!killed(run)) {
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(state(memory), scene.fresh);
    rmSync(work, { recursive: true, force: true });
    return { killed: false };
  }
  assert.match(run.stderr, /fault injection: SIGKILL after step \d+ /);
  const step = /after step (\d+ \(.*\))/.exec(run.stderr)![1];

  let recoveryKilled = false;
  if (killRecovery) {
    const again = await runScript("verify.mts", [memory], { env: fault("kill-after:1") });
    recoveryKilled = killed(again);
  }
  // The next run (verify, which writes nothing else) recovers: all old or all new, in one line.
  const next = await runScript("verify.mts", [memory], { env: FAST });
  const now = state(memory);
  const outcome = outcomeOf(next.stderr, "sync");
  if (outcome === "completed") assert.deepEqual(now, scene.fresh, `step ${step}: completed → new`);
  else if (outcome === "rolled back") assert.deepEqual(now, scene.old, `step ${step}: rolled back → old`);
  else assert.ok(isEqual(now, scene.old) || isEqual(now, scene.fresh), `step ${step}: old or new`);
  const found = isEqual(now, scene.fresh) ? "new" : "old";
  assert.equal(next.stderr.split("\n").filter((l) => /interrupted/.test(l)).length <= 1, true);
  assertConsistentProvenance(memory);
  assertNoLeftovers(memory, outcome !== "nothing to recover");

  // And the sync after it completes the work.
  const last = await syncLocal(scene.cloud.root, memory, [], { env: FAST });
  assert.equal(last.code, 0, `step ${step}: ${last.stderr}`);
  assert.deepEqual(state(memory), scene.fresh, `step ${step}: the next sync completes`);
  assertConsistentProvenance(memory);
  assertNoLeftovers(memory, true);
  rmSync(work, { recursive: true, force: true });
  return { killed: true, step, outcome, recoveryKilled, found };
}

export interface PruneScene {
  dir: string;
  base: string;
  old: Record<string, string>;
  fresh: Record<string, string>;
}

const pruneArgs = (memory: string) => [
  "--memory",
  memory,
  "--older-than",
  "1d",
  "--now",
  "2026-11-21T00:00:00Z",
];

/** A synced memory/ and what an uninterrupted prune of it leaves (`fresh`). */
export async function pruneScene(dir: string): Promise<PruneScene> {
  const { base } = await firstSync(dir);
  const old = snapshot(join(base, "memory"));
  const full = join(dir, "full");
  cpSync(base, full, { recursive: true });
  const complete = await runScript("prune.mts", pruneArgs(join(full, "memory")));
  assert.equal(complete.code, 0, complete.stderr);
  assert.match(complete.stdout, /Pruned [2-9] sessions/);
  return { dir, base, old, fresh: snapshot(join(full, "memory")) };
}

/** A prune killed at `spec`; verify recovers; the prune after it completes and logs each session once. */
export async function crashPrune(scene: PruneScene, label: string, spec: string): Promise<Crash> {
  const work = join(scene.dir, label);
  cpSync(scene.base, work, { recursive: true });
  const memory = join(work, "memory");
  const run = await runScript("prune.mts", pruneArgs(memory), { env: fault(spec) });
  if (!killed(run)) {
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(snapshot(memory), scene.fresh);
    rmSync(work, { recursive: true, force: true });
    return { killed: false };
  }
  const step = /after step (\d+ \(.*\))/.exec(run.stderr)![1];
  const next = await runScript("verify.mts", [memory]);
  const outcome = outcomeOf(next.stderr, "prune");
  // prune's output does not depend on the clock (--now): the provenance is compared byte for byte too.
  const now = snapshot(memory);
  if (outcome === "completed") assert.deepEqual(now, scene.fresh, `step ${step}`);
  else if (outcome === "rolled back") assert.deepEqual(now, scene.old, `step ${step}`);
  else assert.ok(isEqual(now, scene.old) || isEqual(now, scene.fresh), `step ${step}: old or new`);
  const found = isEqual(now, scene.fresh) ? "new" : "old";
  assertConsistentProvenance(memory);
  assertNoLeftovers(memory, outcome !== "nothing to recover");

  const again = await runScript("prune.mts", pruneArgs(memory));
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(snapshot(memory), scene.fresh, `step ${step}: the prune after it`);
  const log = readFileSync(join(memory, "pruned.jsonl"), "utf8").trim().split("\n");
  const ids = log.map((line) => JSON.parse(line).sessionId);
  assert.equal(new Set(ids).size, ids.length, "each session logged once");
  assert.ok(
    log.every((line) => JSON.parse(line).files.length > 0),
    "no session logged without its files",
  );
  assertNoLeftovers(memory, true);
  rmSync(work, { recursive: true, force: true });
  return { killed: true, step, outcome, found };
}
