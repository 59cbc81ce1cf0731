// The daily backup workflow end to end: .github/workflows/sync-memory.yml parsed and its jobs run as the runner
// would (test/helpers/actions.mts, harness in test/helpers/workflow.mts): the config job checks the settings and
// emits the targets, then one sync job per target runs its steps in a fresh clone of a local bare `origin`, with
// only the runtime dependencies installed and the fake flyctl put on PATH by the setup-flyctl step. Real git, the
// real scripts, a realistic bot state dir. Here: the workflow's shape, a first run, a failing sync and every
// configuration mistake; test/workflow-days.test.mts (full tier) runs it day after day.
// Run: npx tsx test/run.mts workflow
// test tier: full — the daily workflow's jobs run end to end, each in a fresh clone of a bare origin with its install
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadWorkflow, matrixOf, runJob, Unsupported } from "./helpers/actions.mts";
import { git, makeRepository, step, tmp, useFirstRun, useHarness, WORKFLOW } from "./helpers/workflow.mts";

describe("sync-memory.yml", () => {
  const workflow = loadWorkflow(WORKFLOW);
  const job = workflow.jobs.sync;
  const h = useHarness();

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
    const origin = useFirstRun(h, "single");

    test("a failing sync commits nothing and puts its error sentence into the job summary", async () => {
      appendFileSync(
        join(h.state.agents[0].sessionsDir, h.state.agents[0].partial![0]),
        '{"type":"message","id":"ffff0002","parentId":null,"timestamp":"2026-11-20T09:30:00.000Z","message":{"role":"user","content":[]}}\n',
      );
      h.fly.config.apps["my-bot"].machines[0].state = "stopped";
      h.fly.save();
      const head = git(origin(), "rev-parse", "main");
      try {
        const result = await h.run(origin());
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
        assert.equal(git(origin(), "rev-parse", "main"), head, "origin unchanged");
        assert.equal(git(result.workspace, "rev-parse", "HEAD"), head, "no local commit");
        assert.equal(git(result.workspace, "status", "--porcelain", "--", "memory"), "", "memory/ untouched");
      } finally {
        h.fly.config.apps["my-bot"].machines[0].state = "started";
        h.fly.save();
      }
    });
  });

  describe("SYNC_TARGETS", () => {
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
        const result = await h.run(origin, { vars, secrets });
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
          runnerEnv: { PATH: h.systemPath },
          origin: "",
          ref: "main",
          workspace: join(tmp, "never"),
          temp: join(tmp, "never-temp"),
          flyctlDir: h.fly.bin,
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
