// What the sync tests share (test/sync.test.mts, quick tier; test/sync-failures.test.mts and test/sync-incremental.test.mts, full tier): a folder
// with a generated bot state dir and a memory path (behind the fake flyctl when asked), sync-memory with fast
// retries, and the contract every failed sync must keep.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../../scripts/dev/statedir.mts";
import { fakeFly } from "./fly.mts";
import { runScript, syncLocal, type RunResult } from "./run.mts";
import { snapshot } from "./tree.mts";

/** Makes `workspace()`: each call a new folder under `tmp` with a state dir, and where memory/ goes. */
export function workspaces(tmp: string) {
  let counter = 0;
  return function workspace(options: Parameters<typeof makeStateDir>[1] = {}) {
    const dir = join(tmp, `w${++counter}`);
    mkdirSync(dir, { recursive: true });
    const state = makeStateDir(join(dir, "state"), options);
    return { dir, state, memory: join(dir, "memory"), sessions: join(dir, "memory", "sessions") };
  };
}

export type Workspace = ReturnType<ReturnType<typeof workspaces>>;
export type FlyWorkspace = ReturnType<typeof withFakeFly>;

/** `w` behind the fake flyctl (app my-bot mounts its state dir), and `run(extra)`: sync --app my-bot into it. */
export function withFakeFly(w: Workspace, options: Parameters<typeof fakeFly>[2] = {}) {
  const fly = fakeFly(w.dir, w.state.root, options);
  const run = (extra: string[] = []) =>
    sync(["--app", "my-bot", "--state-dir", w.state.root, "--memory", w.memory, ...extra], fly.env);
  return { ...w, fly, run };
}

/** sync-memory with fast retries. */
/** sync --local with fast retries. */
export function syncLocalFast(stateDir: string, memory: string, extra: string[] = []): Promise<RunResult> {
  return syncLocal(stateDir, memory, extra, { env: { OCSYNC_RETRY_DELAY_MS: "50" } });
}

export function sync(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runScript("sync-memory.mts", args, { env: { OCSYNC_RETRY_DELAY_MS: "50", ...env } });
}

/** One sentence on stderr, exit 1, and nothing changed: the contract of every failure. */
export function assertCleanFailure(
  result: RunResult,
  pattern: RegExp,
  memoryBefore: Record<string, string>,
  memory: string,
) {
  assert.equal(result.code, 1, `exit code (stderr: ${result.stderr})`);
  assert.match(result.stderr, pattern);
  const errors = result.stderr.split("\n").filter((line) => line.includes("error:"));
  assert.equal(errors.length, 1, `exactly one error sentence: ${result.stderr}`);
  assert.deepEqual(snapshot(memory), memoryBefore, "memory/ is unchanged");
  const parent = join(memory, "..");
  const leftovers = readdirSync(parent).filter((name) => /\.staging-|\.sync\.lock$/.test(name));
  assert.deepEqual(leftovers, [], "no staging folder or lock left behind");
  assert.doesNotMatch(result.stderr + result.stdout, /fm2_faketoken/, "the token is never printed");
}
