// The daily backup workflow end to end: .github/workflows/sync-memory.yml parsed and its jobs run as the runner
// would (test/helpers/actions.mts): the config job checks the settings and emits the targets, then one sync job
// per target runs its steps in a fresh clone of a local bare `origin`, with only the runtime dependencies
// installed and the fake flyctl put on PATH by the setup-flyctl step. Real git, the real scripts, a realistic
// bot state dir.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { addIdleSession, makeStateDir, type GeneratedStateDir } from "../scripts/dev/statedir.mts";
import { fakeFly, type FakeFly } from "./helpers/fly.mts";
import { ROOT } from "./helpers/run.mts";
import {
  loadWorkflow,
  matrixOf,
  runJob,
  runWorkflow,
  Unsupported,
  type JobResult,
  type Step,
} from "./helpers/actions.mts";
import { tempDir } from "./helpers/tmp.mts";

const WORKFLOW = join(ROOT, ".github", "workflows", "sync-memory.yml");
const tmp = tempDir("workflow");

function git(cwd: string, ...args: string[]): string {
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
function makeRepository(name: string): string {
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
interface Run extends JobResult {
  workspace: string;
  config: JobResult;
  syncs: JobResult[];
}

function step(result: JobResult, id: string) {
  const found = result.steps.find((s) => s.id === id);
  assert.ok(found, `step ${id} exists`);
  return found;
}

function commits(origin: string): string[] {
  return git(origin, "log", "--format=%s", "main").split("\n");
}

describe("sync-memory.yml", () => {
  const workflow = loadWorkflow(WORKFLOW);
  const job = workflow.jobs.sync;
  let state: GeneratedStateDir;
  let fly: FakeFly;
  let systemPath: string;

  before(() => {
    state = makeStateDir(join(tmp, "state"));
    fly = fakeFly(join(tmp, "fly"), state.root);
    systemPath = fly.env.PATH.split(delimiter)
      .filter((p) => p !== fly.bin)
      .join(delimiter);
    mkdirSync(join(tmp, "home"), { recursive: true });
  });

  async function run(
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
      vars: options.vars ?? { FLY_APP: "my-bot", REMOTE_STATE_DIR: state.root },
      secrets: options.secrets ?? { FLY_API_TOKEN: fly.env.FLY_API_TOKEN },
      runnerEnv: {
        PATH: systemPath,
        HOME: join(tmp, "home"),
        GIT_CONFIG_NOSYSTEM: "1",
        FAKE_FLY_CONFIG: fly.env.FAKE_FLY_CONFIG,
        OCSYNC_RETRY_DELAY_MS: "50",
        PUSH_RETRY_DELAY: "0",
      },
      origin,
      ref: "main",
      workspace,
      temp: join(tmp, `run${n}`, "temp"),
      flyctlDir: fly.bin,
      beforeStep: options.beforeStep,
    });
    const all = Object.values(result.jobs).flat();
    for (const job of all)
      assert.doesNotMatch(job.log + job.summary, /fm2_faketoken/, "the token is never printed");
    const [config] = result.jobs.config;
    const syncs = result.jobs.sync;
    const first = syncs[0] ?? config;
    return { ...first, ok: result.ok, workspace: join(workspace, "sync-1"), config, syncs };
  }

  function assertOk(result: JobResult) {
    const failed = result.steps.find((s) => s.outcome === "failure");
    assert.ok(result.ok, failed ? `step ${failed.name} failed:\n${failed.stdout}\n${failed.stderr}` : "");
  }

  test("is scheduled daily at 06:00 UTC and by hand, with least privilege, no overlap and a time limit", () => {
    assert.deepEqual(workflow.on.schedule, [{ cron: "0 6 * * *" }]);
    assert.ok("workflow_dispatch" in workflow.on);
    assert.deepEqual(workflow.permissions, { contents: "write" });
    assert.equal(workflow.concurrency?.group, "sync-memory");
    assert.equal(workflow.concurrency?.["cancel-in-progress"], false);
    assert.deepEqual(Object.keys(workflow.jobs), ["config", "sync"]);
    assert.equal(job.needs, "config", "nothing syncs before the settings are checked");
    for (const j of Object.values(workflow.jobs)) {
      assert.ok(j["timeout-minutes"]! > 0 && j["timeout-minutes"]! <= 60);
      assert.equal(j.steps.find((s) => s.uses?.startsWith("actions/setup-node"))?.with?.cache, "npm");
      assert.ok(
        j.steps.some((s) => /^npm ci --omit=dev\b/.test(s.run ?? "")),
        "only the runtime dependencies are installed",
      );
    }
    assert.deepEqual(workflow.jobs.config.permissions, { contents: "read" });
    const uses = job.steps.filter((s) => s.uses).map((s) => s.uses!.replace(/@.*/, ""));
    assert.deepEqual(uses, [
      "actions/checkout",
      "actions/setup-node",
      "superfly/flyctl-actions/setup-flyctl",
    ]);
    const ids = job.steps.filter((s) => s.id).map((s) => s.id);
    assert.deepEqual(
      ids,
      ["sync", "prune", "verify", "commit", "push"],
      "sync → prune → verify → commit → push",
    );
    const secretUses = Object.entries(workflow.jobs).flatMap(([id, j]) =>
      j.steps.flatMap((s) =>
        [...JSON.stringify(s).matchAll(/\$\{\{([^}]*secrets\.[^}]*)\}\}/g)].map(
          (m) => `${id}/${s.id}: ${m[1].trim()}`,
        ),
      ),
    );
    assert.deepEqual(
      secretUses,
      ["config/targets: secrets.FLY_API_TOKEN != ''", "sync/sync: secrets.FLY_API_TOKEN"],
      "only the sync step sees the Fly token; the config job only whether it is set",
    );
  });

  test("the matrix is the config job's list of targets", () => {
    const targets = [
      { app: "a", machine: "", state_dir: "/data", memory: "memory/a" },
      { app: "b", machine: "m1", state_dir: "/data", memory: "memory/b-m1" },
    ];
    const needs = { config: { result: "success" as const, outputs: { targets: JSON.stringify(targets) } } };
    assert.deepEqual(
      matrixOf(job, {}, needs),
      targets.map((target) => ({ target })),
    );
  });

  describe("runs against a fake Fly app", () => {
    let origin: string;
    before(() => {
      origin = makeRepository("single");
    });

    test("the first run pushes one commit with the history and the sync summary", async () => {
      const result = await run(origin);
      assertOk(result);
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
      assert.deepEqual(stored.sort(), [...state.agents[0].backedUp].sort());
      assert.match(result.summary, /### Sync of `memory` from my-bot/);
      assert.match(result.summary, /11 new/);
      assert.match(result.summary, /Committed `[0-9a-f]+` sync: memory/);
      assert.match(result.summary, /Pushed to `main`\./);
      assert.equal(result.outputs.commit.committed, "true");
      assert.equal(step(result, "push").outcome, "success");
      assert.equal(result.steps.at(-1)!.outcome, "skipped", "no failure report");
      for (const dev of ["typescript", "prettier", "deno", "@types/node"])
        assert.equal(
          existsSync(join(result.workspace, "node_modules", dev)),
          false,
          `${dev} is not installed`,
        );
      assert.ok(existsSync(join(result.workspace, "node_modules", "tsx")), "tsx is a runtime dependency");
      assert.match(
        result.config.summary,
        /\| my-bot \| \(the one holding the state dir\) \| `[^`]+` \| `memory\/` \|/,
      );
    });

    test("the next run prunes what is idle for more than 30 days, now that git holds it, and commits that", async () => {
      const result = await run(origin);
      assertOk(result);
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(commits(origin).slice(0, 2), [`sync: memory ${today}`, `sync: memory ${today}`]);
      const changes = git(origin, "diff", "--name-status", "main~1", "main").split("\n");
      assert.ok(
        changes.some((line) => /^D\tmemory\/sessions\/.*\.jsonl\.deleted\./.test(line)),
        `the 40-day-old session leaves the work tree: ${changes}`,
      );
      assert.ok(changes.includes("A\tmemory/pruned.jsonl"), `the prune log is committed: ${changes}`);
      assert.match(git(origin, "log", "-1", "--format=%b", "main"), /11 unchanged[\s\S]*prun/i);
      assert.match(result.summary, /Prune \(sessions idle for more than 30d\)/);
    });

    test("a run with nothing new pushes nothing", async () => {
      const head = git(origin, "rev-parse", "main");
      const result = await run(origin);
      assertOk(result);
      assert.equal(git(origin, "rev-parse", "main"), head);
      assert.equal(result.outputs.commit.committed, "false");
      assert.equal(result.outputs.push.pushed, "false");
      assert.match(result.summary, /No changes in `memory`: nothing committed\./);
      assert.match(result.summary, /files: 0 new, 0 updated, 10 unchanged, 1 pruned earlier and unchanged/);
      assert.match(result.summary, /Nothing to prune/);
    });

    test("a push rejected because origin moved on is rebased and retried", async () => {
      // The bot finishes the line it was writing; a person pushes while the run is between commit and push.
      const [partialName] = state.agents[0].partial!;
      appendFileSync(join(state.agents[0].sessionsDir, partialName), 'ant","content":[]}}\n');
      const person = join(tmp, "person");
      git(tmp, "clone", "--quiet", origin, person);
      let pushedMeanwhile = "";
      const result = await run(origin, {
        beforeStep: (s) => {
          if (s.id !== "push") return;
          appendFileSync(join(person, "README.md"), "\nA note from a person.\n");
          git(person, "commit", "--quiet", "-am", "docs: a note");
          git(person, "push", "--quiet", "origin", "main");
          pushedMeanwhile = git(person, "rev-parse", "HEAD");
        },
      });
      assertOk(result);
      assert.ok(pushedMeanwhile, "the person pushed during the run");
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(commits(origin).slice(0, 3), [
        `sync: memory ${today}`,
        "docs: a note",
        `sync: memory ${today}`,
      ]);
      assert.equal(
        git(origin, "rev-parse", "main~1"),
        pushedMeanwhile,
        "the sync commit sits on the person's",
      );
      assert.match(git(origin, "log", "-1", "--format=%b", "main"), /1 updated/);
      assert.match(step(result, "push").stdout, /rejected \(attempt 1 of 5\): rebasing/);
      assert.match(result.summary, /Pushed to `main` after 1 rebase\(s\)\./);
    });

    test("a push refused by branch protection fails at once with a sentence, without rebase retries", async () => {
      const protectedOrigin = makeRepository("protected");
      const hook = join(protectedOrigin, "hooks", "pre-receive");
      writeFileSync(
        hook,
        '#!/bin/sh\necho "error: GH006: Protected branch update failed for refs/heads/main." >&2\necho "error: Changes must be made through a pull request." >&2\nexit 1\n',
        { mode: 0o755 },
      );
      const head = git(protectedOrigin, "rev-parse", "main");
      const result = await run(protectedOrigin);
      assert.equal(result.ok, false);
      assert.equal(step(result, "commit").outcome, "success");
      assert.equal(step(result, "push").outcome, "failure");
      assert.doesNotMatch(step(result, "push").stdout, /rebasing/);
      assert.match(
        result.summary,
        /\*\*Error \(push\):\*\* the push to main was refused by GitHub \(a branch protection rule or ruleset, or the token's permissions: error: GH006: Protected branch update failed for refs\/heads\/main\.\); allow GitHub Actions to push there/,
      );
      assert.equal(git(protectedOrigin, "rev-parse", "main"), head);
    });

    test("a failing sync commits nothing and puts its error sentence into the job summary", async () => {
      appendFileSync(
        join(state.agents[0].sessionsDir, state.agents[0].partial![0]),
        '{"type":"message","id":"ffff0002","parentId":null,"timestamp":"2026-11-20T09:30:00.000Z","message":{"role":"user","content":[]}}\n',
      );
      fly.config.apps["my-bot"].machines[0].state = "stopped";
      fly.save();
      const head = git(origin, "rev-parse", "main");
      try {
        const result = await run(origin);
        assert.equal(result.ok, false);
        assert.equal(step(result, "sync").outcome, "failure");
        for (const id of ["prune", "verify", "commit", "push"])
          assert.equal(step(result, id).outcome, "skipped", id);
        assert.equal(result.steps.at(-1)!.name, "Report failure");
        assert.equal(result.steps.at(-1)!.outcome, "success");
        assert.match(
          result.summary,
          /\*\*Error \(sync\):\*\* the machine holding .* is not started \(148e6d4c2e9d89 \[stopped, ams\]\): start it with 'fly machine start 148e6d4c2e9d89 -a my-bot'.*nothing was committed/,
        );
        assert.match(result.summary, /failed; nothing was pushed/);
        assert.match(step(result, "sync").stdout, /::error title=sync failed::the machine holding/);
        assert.equal(git(origin, "rev-parse", "main"), head, "origin unchanged");
        assert.equal(git(result.workspace, "rev-parse", "HEAD"), head, "no local commit");
        assert.equal(git(result.workspace, "status", "--porcelain", "--", "memory"), "", "memory/ untouched");
      } finally {
        fly.config.apps["my-bot"].machines[0].state = "started";
        fly.save();
      }
    });
  });

  describe("an idle bot", () => {
    test("three runs in a row against an unchanged cloud with an old session: no commit from the third on", async () => {
      // The cloud never changes; one session (transcript and index key) was last used in September.
      // Inside the fake machine's mount (the main state dir), beside its agents/.
      const idle = makeStateDir(join(state.root, "idle"), { partialLastLine: false, secondAgent: false });
      addIdleSession(
        idle.agents[0],
        "0ld0ld00-0000-4000-a000-000000000001",
        "agent:main:telegram:direct:old-friend",
        Date.parse("2026-09-01T10:00:00Z"),
      );
      const origin = makeRepository("idle");
      const vars = { FLY_APP: "my-bot", REMOTE_STATE_DIR: idle.root };
      const heads: string[] = [];
      for (let day = 1; day <= 4; day++) {
        const result = await run(origin, { vars });
        assertOk(result);
        heads.push(git(origin, "rev-parse", "main"));
        if (day === 2) {
          assert.match(result.summary, /Pruned [\s\S]*0ld0ld00/, "day 2 prunes the old session");
          assert.equal(result.outputs.push.pushed, "true");
        }
        if (day >= 3) {
          assert.equal(result.outputs.commit.committed, "false", `day ${day}: ${result.summary}`);
          assert.equal(result.outputs.push.pushed, "false");
          assert.match(result.summary, /nothing changed/);
          assert.match(result.summary, /Nothing to prune/);
        }
      }
      assert.equal(new Set(heads).size, 2, "two commits (the history, the prune), then none");
      const log = git(origin, "show", "main:memory/pruned.jsonl").split("\n");
      assert.equal(log.filter((line) => line.includes("0ld0ld00")).length, 1, "logged once");
    });
  });

  describe("SYNC_TARGETS", () => {
    test("each entry is its own job backing up into its own memory folder", async () => {
      const origin = makeRepository("multi");
      const vars = {
        SYNC_TARGETS: JSON.stringify([
          { app: "my-bot", state_dir: state.root },
          { app: "my-bot", machine: "148e6d4c2e9d89", state_dir: state.root, memory: "memory/second" },
        ]),
      };
      const result = await run(origin, { vars });
      assert.equal(result.syncs.length, 2, "one sync job per entry");
      for (const sync of result.syncs) assertOk(sync);
      assert.match(result.config.summary, /\| my-bot \| 148e6d4c2e9d89 \| `[^`]+` \| `memory\/second\/` \|/);
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(commits(origin), [
        `sync: memory ${today} (second)`,
        `sync: memory ${today} (my-bot)`,
        "initial",
      ]);
      for (const folder of ["memory/my-bot", "memory/second"]) {
        const files = git(origin, "ls-tree", "-r", "--name-only", "main", `${folder}/sessions/`).split("\n");
        assert.ok(files.length >= 11, `${folder} holds the history (${files.length} files)`);
      }
    });

    test("a configuration mistake stops the run before any sync job, with one sentence in the summary", async () => {
      const origin = makeRepository("bad");
      const head = git(origin, "rev-parse", "main");
      const cases: [Record<string, string>, Record<string, string> | undefined, RegExp][] = [
        [
          { SYNC_TARGETS: JSON.stringify([{ app: "a" }, { app: "b", memory: "memory/a" }]) },
          undefined,
          /SYNC_TARGETS entries 1 and 2 would share the memory folder memory\/a/,
        ],
        [
          { SYNC_TARGETS: '[{"app": "a"},]' },
          undefined,
          /the repository variable SYNC_TARGETS is not valid JSON \(.+\); write it like/,
        ],
        [{ SYNC_TARGETS: '{"app": "a"}' }, undefined, /SYNC_TARGETS must be a non-empty JSON array/],
        [{}, undefined, /no Fly app to back up: set the repository variable FLY_APP/],
        [{ FLY_APP: "my bot" }, undefined, /"my bot" is not a Fly app name/],
        [
          { FLY_APP: "my-bot", PRUNE_OLDER_THAN: "a month" },
          undefined,
          /PRUNE_OLDER_THAN is 'a month', not a duration/,
        ],
        [
          { FLY_APP: "my-bot" },
          {},
          /the repository secret FLY_API_TOKEN is not set: create a token with 'fly tokens create ssh -a APP'/,
        ],
      ];
      for (const [vars, secrets, sentence] of cases) {
        const result = await run(origin, { vars, secrets });
        assert.equal(result.ok, false, JSON.stringify(vars));
        assert.equal(step(result.config, "targets").outcome, "failure");
        assert.deepEqual(result.syncs, [], "no sync job starts");
        const summary = result.config.summary.trim().split("\n");
        assert.match(summary[0], /^\*\*Configuration error:\*\* [^\n]+$/);
        assert.match(summary[0], sentence);
        assert.match(step(result.config, "targets").stdout, /^::error title=configuration::/m);
      }
      assert.equal(git(origin, "rev-parse", "main"), head, "nothing was pushed");
    });
  });

  test("the test runner refuses what it cannot run faithfully", () => {
    const changed = join(tmp, "changed.yml");
    const text = `on: push\njobs:\n  sync:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/cache@v4\n`;
    writeFileSync(changed, text);
    return assert
      .rejects(
        runJob({
          workflow: changed,
          job: "sync",
          vars: {},
          secrets: {},
          runnerEnv: { PATH: systemPath },
          origin: "",
          ref: "main",
          workspace: join(tmp, "never"),
          temp: join(tmp, "never-temp"),
          flyctlDir: fly.bin,
        }),
        (error) => error instanceof Unsupported && /actions\/cache@v4 is not emulated/.test(error.message),
      )
      .then(() => {
        writeFileSync(
          changed,
          text.replace("uses: actions/cache@v4", "run: true\n        working-directory: x"),
        );
        assert.throws(() => loadWorkflow(changed), /does not emulate working-directory/);
        assert.equal(existsSync(join(tmp, "never")), false);
      });
  });
});
