// The daily backup workflow day after day (harness in test/helpers/workflow.mts, see test/workflow-sync.test.mts):
// a first run, the next one that prunes what git now holds, a day with nothing new, a push that meets a person's
// push (rebased and retried) or branch protection (one sentence), an idle bot that stops committing from the third
// run on, and SYNC_TARGETS with one job per entry. Real git, the real scripts, the fake flyctl.
// Run: npx tsx test/run.mts workflow
// test tier: full — eleven workflow runs in a row, each cloning, installing and running sync, prune, verify and git
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addIdleSession, makeStateDir } from "../scripts/dev/statedir.mts";
import { commits, git, makeRepository, step, tmp, useFirstRun, useHarness } from "./helpers/workflow.mts";

describe("sync-memory.yml, day after day", () => {
  const h = useHarness();

  describe("runs against a fake Fly app", () => {
    const origin = useFirstRun(h, "single");

    test("the next run prunes what is idle for more than 30 days, now that git holds it, and commits that", async () => {
      const result = await h.run(origin());
      h.assertOk(result);
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(commits(origin()).slice(0, 2), [`sync: memory ${today}`, `sync: memory ${today}`]);
      const changes = git(origin(), "diff", "--name-status", "main~1", "main").split("\n");
      assert.ok(
        changes.some((line) => /^D\tmemory\/sessions\/.*\.jsonl\.deleted\./.test(line)),
        `the 40-day-old session leaves the work tree: ${changes}`,
      );
      assert.ok(changes.includes("A\tmemory/pruned.jsonl"), `the prune log is committed: ${changes}`);
      assert.match(git(origin(), "log", "-1", "--format=%b", "main"), /11 unchanged[\s\S]*prun/i);
      assert.match(result.summary, /Prune \(sessions idle for more than 30d\)/);
    });

    test("a run with nothing new pushes nothing", async () => {
      const head = git(origin(), "rev-parse", "main");
      const result = await h.run(origin());
      h.assertOk(result);
      assert.equal(git(origin(), "rev-parse", "main"), head);
      assert.equal(result.outputs.commit.committed, "false");
      assert.equal(result.outputs.push.pushed, "false");
      assert.match(result.summary, /No changes in `memory`: nothing committed\./);
      assert.match(result.summary, /files: 0 new, 0 updated, 10 unchanged, 1 pruned earlier and unchanged/);
      assert.match(result.summary, /Nothing to prune/);
    });

    test("a push rejected because origin moved on is rebased and retried", async () => {
      // The bot finishes the line it was writing; a person pushes while the run is between commit and push.
      const [partialName] = h.state.agents[0].partial!;
      appendFileSync(join(h.state.agents[0].sessionsDir, partialName), 'ant","content":[]}}\n');
      const person = join(tmp, "person");
      git(tmp, "clone", "--quiet", origin(), person);
      let pushedMeanwhile = "";
      const result = await h.run(origin(), {
        beforeStep: (s) => {
          if (s.id !== "push") return;
          appendFileSync(join(person, "README.md"), "\nA note from a person.\n");
          git(person, "commit", "--quiet", "-am", "docs: a note");
          git(person, "push", "--quiet", "origin", "main");
          pushedMeanwhile = git(person, "rev-parse", "HEAD");
        },
      });
      h.assertOk(result);
      assert.ok(pushedMeanwhile, "the person pushed during the run");
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(commits(origin()).slice(0, 3), [
        `sync: memory ${today}`,
        "docs: a note",
        `sync: memory ${today}`,
      ]);
      assert.equal(
        git(origin(), "rev-parse", "main~1"),
        pushedMeanwhile,
        "the sync commit sits on the person's",
      );
      assert.match(git(origin(), "log", "-1", "--format=%b", "main"), /1 updated/);
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
      const result = await h.run(protectedOrigin);
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
  });

  describe("an idle bot", () => {
    test("three runs in a row against an unchanged cloud with an old session: no commit from the third on", async () => {
      // The cloud never changes; one session (transcript and index key) was last used in September.
      // Inside the fake machine's mount (the main state dir), beside its agents/.
      const idle = makeStateDir(join(h.state.root, "idle"), { partialLastLine: false, secondAgent: false });
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
        const result = await h.run(origin, { vars });
        h.assertOk(result);
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
          { app: "my-bot", state_dir: h.state.root },
          { app: "my-bot", machine: "148e6d4c2e9d89", state_dir: h.state.root, memory: "memory/second" },
        ]),
      };
      const result = await h.run(origin, { vars });
      assert.equal(result.syncs.length, 2, "one sync job per entry");
      for (const sync of result.syncs) h.assertOk(sync);
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
  });
});
