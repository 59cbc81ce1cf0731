// The harness of the workflow tests (test/workflow-sync.test.mts, quick tier; test/workflow-days.test.mts, full
// tier): a user's repository pushed to a local bare origin, a realistic bot behind the fake flyctl, and one
// workflow run of .github/workflows/sync-memory.yml as the runner would run it (test/helpers/actions.mts).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { makeStateDir, type GeneratedStateDir } from "../../scripts/dev/statedir.mts";
import { fakeFly, type FakeFly } from "./fly.mts";
import { ROOT } from "./run.mts";
import { runWorkflow, type JobResult, type Step } from "./actions.mts";
import { tempDir } from "./tmp.mts";

export const WORKFLOW = join(ROOT, ".github", "workflows", "sync-memory.yml");
export const tmp = tempDir("workflow");

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", args, { cwd, encoding: "utf8", env: gitEnv() });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

function gitEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: join(tmp, "home"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "A Person",
    GIT_AUTHOR_EMAIL: "person@example.com",
    GIT_COMMITTER_NAME: "A Person",
    GIT_COMMITTER_EMAIL: "person@example.com",
  };
}

/** A repository like a user's: the project, the workflow, an empty memory/; pushed to a bare origin. */
export function makeRepository(name: string): string {
  const origin = join(tmp, `${name}.git`);
  const seed = join(tmp, `${name}-seed`);
  git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", origin);
  git(tmp, "init", "--quiet", "--initial-branch=main", seed);
  for (const path of [
    "scripts",
    "package.json",
    "package-lock.json",
    ".gitignore",
    "README.md",
    ".github/workflows",
  ]) {
    cpSync(join(ROOT, path), join(seed, path), { recursive: true });
  }
  mkdirSync(join(seed, "memory"), { recursive: true });
  writeFileSync(join(seed, "memory", "README.md"), "The bot's history, written by the daily workflow.\n");
  git(seed, "add", "-A");
  git(seed, "commit", "--quiet", "-m", "initial");
  git(seed, "remote", "add", "origin", origin);
  git(seed, "push", "--quiet", "origin", "main");
  return origin;
}

let runs = 0;
/** One workflow run: its config job, and its first sync job spread on top (most runs have one target). */
export interface Run extends JobResult {
  workspace: string;
  config: JobResult;
  syncs: JobResult[];
}

export function step(result: JobResult, id: string) {
  const found = result.steps.find((s) => s.id === id);
  assert.ok(found, `step ${id} exists`);
  return found;
}

export function commits(origin: string): string[] {
  return git(origin, "log", "--format=%s", "main").split("\n");
}

export interface Harness {
  state: GeneratedStateDir;
  fly: FakeFly;
  systemPath: string;
  run(
    origin: string,
    options?: {
      vars?: Record<string, string>;
      secrets?: Record<string, string>;
      beforeStep?: (step: Step) => void;
    },
  ): Promise<Run>;
  assertOk(result: JobResult): void;
}

/** Call inside a describe: its before() makes the bot and the fake flyctl; the fields are set from then on. */
export function useHarness(): Harness {
  const h = {} as Harness;
  before(() => {
    h.state = makeStateDir(join(tmp, "state"));
    h.fly = fakeFly(join(tmp, "fly"), h.state.root);
    h.systemPath = h.fly.env.PATH.split(delimiter)
      .filter((p) => p !== h.fly.bin)
      .join(delimiter);
    mkdirSync(join(tmp, "home"), { recursive: true });
  });
  h.run = async function run(
    origin: string,
    options: {
      vars?: Record<string, string>;
      secrets?: Record<string, string>;
      beforeStep?: (step: Step) => void;
    } = {},
  ): Promise<Run> {
    const n = ++runs;
    const workspace = join(tmp, `run${n}`, "work");
    const result = await runWorkflow({
      workflow: WORKFLOW,
      vars: options.vars ?? { FLY_APP: "my-bot", REMOTE_STATE_DIR: h.state.root },
      secrets: options.secrets ?? { FLY_API_TOKEN: h.fly.env.FLY_API_TOKEN },
      runnerEnv: {
        PATH: h.systemPath,
        HOME: join(tmp, "home"),
        GIT_CONFIG_NOSYSTEM: "1",
        FAKE_FLY_CONFIG: h.fly.env.FAKE_FLY_CONFIG,
        OCSYNC_RETRY_DELAY_MS: "50",
        PUSH_RETRY_DELAY: "0",
      },
      origin,
      ref: "main",
      workspace,
      temp: join(tmp, `run${n}`, "temp"),
      flyctlDir: h.fly.bin,
      beforeStep: options.beforeStep,
    });
    const all = Object.values(result.jobs).flat();
    for (const job of all)
      assert.doesNotMatch(job.log + job.summary, /fm2_faketoken/, "the token is never printed");
    const [config] = result.jobs.config;
    const syncs = result.jobs.sync;
    const first = syncs[0] ?? config;
    return { ...first, ok: result.ok, workspace: join(workspace, "sync-1"), config, syncs };
  };

  h.assertOk = function assertOk(result: JobResult) {
    const failed = result.steps.find((s) => s.outcome === "failure");
    assert.ok(result.ok, failed ? `step ${failed.name} failed:\n${failed.stdout}\n${failed.stderr}` : "");
  };
  return h;
}

/**
 * The first daily run into `origin`: one commit of memory/ only, holding every backed-up file, with the sync
 * summary in its body and in the job summary, pushed; no dev dependency installed.
 */
async function assertFirstRun(h: Harness, origin: string): Promise<void> {
  const result = await h.run(origin);
  h.assertOk(result);
  const log = commits(origin);
  const today = new Date().toISOString().slice(0, 10);
  assert.deepEqual(log, [`sync: memory ${today}`, "initial"]);
  const body = git(origin, "log", "-1", "--format=%b", "main");
  assert.match(body, /Synced agent main \(OpenClaw 2026\.7\.1, files era\) into \S*\/memory\n/);
  assert.match(body, /files: 11 new, 0 updated, 0 unchanged/);
  const changed = git(origin, "diff", "--name-only", "main~1", "main").split("\n");
  assert.ok(
    changed.every((path) => path.startsWith("memory/")),
    `only memory/ changes: ${changed}`,
  );
  const stored = git(origin, "ls-tree", "-r", "--name-only", "main", "memory/sessions/")
    .split("\n")
    .map((path) => path.replace("memory/sessions/", ""));
  assert.deepEqual(stored.sort(), [...h.state.agents[0].backedUp].sort());
  assert.match(result.summary, /### Sync of `memory` from my-bot/);
  assert.match(result.summary, /11 new/);
  assert.match(result.summary, /Committed `[0-9a-f]+` sync: memory/);
  assert.match(result.summary, /Pushed to `main`\./);
  assert.equal(result.outputs.commit.committed, "true");
  assert.equal(step(result, "push").outcome, "success");
  assert.equal(result.steps.at(-1)!.outcome, "skipped", "no failure report");
  for (const dev of ["typescript", "prettier", "deno", "@types/node"])
    assert.equal(existsSync(join(result.workspace, "node_modules", dev)), false, `${dev} is not installed`);
  assert.ok(existsSync(join(result.workspace, "node_modules", "tsx")), "tsx is a runtime dependency");
  assert.match(
    result.config.summary,
    /\| my-bot \| \(the one holding the state dir\) \| `[^`]+` \| `memory\/` \|/,
  );
}

/** Call inside a describe, after useHarness: its before() makes the repository `name`, its first test is the first
 * daily run into it (assertFirstRun). Returns the repository's origin, set from then on. */
export function useFirstRun(h: Harness, name: string): () => string {
  let origin = "";
  before(() => {
    origin = makeRepository(name);
  });
  test("the first run pushes one commit with the history and the sync summary", async () => {
    await assertFirstRun(h, origin);
  });
  return () => origin;
}
