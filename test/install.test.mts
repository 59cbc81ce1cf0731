// scripts/install.mts end to end, following the README ("Add it to your bot's repository"): a bot's repository
// (fly.toml, Dockerfile, its own package.json and .gitignore) gets the backup with one command; nothing of its own
// changes; the installed copy syncs and its hook runs on commit; its workflow runs (test/helpers/actions.mts) and
// pushes a backup; running the command again changes nothing; a newer version upgrades in place; files in the way
// stop it with one sentence and nothing changed.
// Run: npx tsx test/run.mts install
// test tier: full — the installer end to end in a bot's repository: installs, a workflow run, an upgrade, about 40 git and script runs
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { delimiter, join } from "node:path";
import { runCommand, ROOT } from "./helpers/run.mts";
import { makeStateDir, type GeneratedStateDir } from "../scripts/dev/statedir.mts";
import { fakeFly } from "./helpers/fly.mts";
import { runWorkflow } from "./helpers/actions.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("install");

const env = {
  HOME: join(tmp, "home"),
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "A Person",
  GIT_AUTHOR_EMAIL: "person@example.com",
  GIT_COMMITTER_NAME: "A Person",
  GIT_COMMITTER_EMAIL: "person@example.com",
};

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The README's command, run from the project checkout. */
function install(...args: string[]) {
  return runCommand("npx", ["tsx", "scripts/install.mts", ...args], { cwd: ROOT, env, timeoutMs: 180_000 });
}

const BOT_FILES: Record<string, string> = {
  "fly.toml":
    'app = "my-bot"\nprimary_region = "ams"\n\n[mounts]\n  source = "openclaw_data"\n  destination = "/data"\n',
  Dockerfile: "FROM ghcr.io/openclaw/openclaw:2026.9.6\n",
  ".dockerignore": "memory/\nnode_modules/\n",
  "package.json":
    '{\n    "name": "my-bot",\n    "scripts": {\n        "deploy": "fly deploy"\n    },\n    "dependencies": {\n        "yaml": "2.9.1"\n    }\n}\n',
  ".gitignore": "# the bot's own\n.env\n",
  "README.md": "# my bot\n",
  "scripts/deploy.sh": "#!/bin/sh\nfly deploy\n",
};

function makeBot(name: string): string {
  const dir = join(tmp, name);
  for (const [path, text] of Object.entries(BOT_FILES)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(tmp, "init", "--quiet", "--initial-branch=main", dir);
  git(dir, "add", "-A");
  git(dir, "commit", "--quiet", "-m", "the bot");
  return dir;
}

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Every file of the repository but git's own and the linked node_modules, with its hash. */
function hashTree(dir: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(snapshot(dir)).filter(([path]) => !/^(\.git|node_modules)(\/|$)/.test(path)),
  );
}

describe("install.mts", () => {
  let bot: string;
  let state: GeneratedStateDir;
  let first: Awaited<ReturnType<typeof install>>;

  before(async () => {
    mkdirSync(env.HOME, { recursive: true });
    state = makeStateDir(join(tmp, "state"));
    bot = makeBot("my-bot");
    first = await install(bot);
  });

  test("adds the scripts, workflow, hook, package.json entries, .gitignore lines and memory/, nothing else", () => {
    assert.equal(first.code, 0, first.stderr);
    // Everything the bot had is still there, byte for byte (package.json and .gitignore only gained entries).
    for (const path of ["fly.toml", "Dockerfile", ".dockerignore", "README.md", "scripts/deploy.sh"])
      assert.equal(readFileSync(join(bot, path), "utf8"), BOT_FILES[path], path);
    const gitignore = readFileSync(join(bot, ".gitignore"), "utf8");
    assert.ok(
      gitignore.startsWith(BOT_FILES[".gitignore"]),
      "the bot's .gitignore lines come first, unchanged",
    );
    for (const line of ["node_modules/", "/local-state/", ".*.sync.lock", ".*.staging-*"])
      assert.ok(gitignore.split("\n").includes(line), line);
    const pkg = JSON.parse(readFileSync(join(bot, "package.json"), "utf8"));
    const ours = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    assert.equal(pkg.name, "my-bot");
    assert.equal(pkg.scripts.deploy, "fly deploy");
    assert.equal(pkg.dependencies.yaml, "2.9.1");
    for (const [name, version] of Object.entries(ours.dependencies))
      assert.equal(pkg.dependencies[name], version);
    assert.equal(pkg.scripts["memory:sync"], "tsx scripts/sync-memory.mts");
    assert.equal(pkg.scripts.prepare, "node hooks/install.mjs");
    assert.match(readFileSync(join(bot, "package.json"), "utf8"), /^ {4}"name"/m, "its indentation is kept");
    const lock = JSON.parse(readFileSync(join(bot, "package-lock.json"), "utf8"));
    assert.equal(
      lock.packages["node_modules/zx"].version,
      ours.dependencies.zx,
      "the lock file is up to date",
    );
    assert.ok(existsSync(join(bot, "memory")));

    // What git sees: only the added paths and the two merged files.
    const status = git(bot, "status", "--porcelain", "--untracked-files=all")
      .split("\n")
      .map((line) => line.replace(/^\s*\S{1,2}\s+/, ""));
    const shipped = git(ROOT, "ls-files", "scripts", "hooks")
      .split("\n")
      .filter((f) => !/^scripts\/(dev\/|demo\.mts|bench\.mts|install\.mts)/.test(f));
    assert.deepEqual(
      status.sort(),
      [
        ...shipped,
        ".github/workflows/sync-memory.yml",
        "scripts/.openclaw-memory-sync.json",
        ".gitignore",
        "package.json",
        "package-lock.json",
      ].sort(),
    );
    assert.ok(!existsSync(join(bot, ".github", "workflows", "test.yml")), "the project's own tests stay out");

    // It says what it changed and the three things left, with the app from fly.toml.
    assert.match(first.stdout, /^Changed \d+ paths in /);
    assert.match(first.stdout, /^ {2}added {3}scripts\/sync-memory\.mts$/m);
    assert.match(first.stdout, /^ {2}updated package\.json$/m);
    const left = first.stdout
      .split("Left to do:\n")[1]
      .trim()
      .split("\n")
      .map((line) => line.trim());
    assert.equal(left.length, 3);
    assert.match(left[0], /^1\. .*'fly tokens create ssh -a my-bot'.*secret FLY_API_TOKEN/);
    assert.match(left[1], /^2\. .*variable FLY_APP = my-bot/);
    assert.match(left[2], /^3\. .*gh workflow run sync-memory\.yml/);
    assert.equal(git(bot, "config", "core.hooksPath"), "hooks", "the hook is active in this clone");
  });

  test("the installed copy syncs, its hook checks the commit, and its workflow backs the bot up", async () => {
    // As the README says: commit what install added, then sync (npm ci would install; here the project's own
    // node_modules stands in for it).
    git(bot, "add", "-A");
    git(bot, "commit", "--quiet", "-m", "Back up the bot's memory: openclaw memory sync");
    symlinkSync(join(ROOT, "node_modules"), join(bot, "node_modules"));
    // 'node_modules/' in .gitignore matches a folder, not this link: keep the link out of git.
    appendFileSync(join(bot, ".git", "info", "exclude"), "/node_modules\n");
    const sync = await runCommand(
      "npx",
      ["tsx", "scripts/sync-memory.mts", "--local", "--state-dir", state.root],
      { cwd: bot, env },
    );
    assert.equal(sync.code, 0, sync.stderr);
    git(bot, "add", "-A");
    // A broken transcript is stopped by the installed hook.
    const broken = join(bot, "memory", "sessions", "broken.jsonl");
    writeFileSync(broken, '{"type":"session","id":"x"}\n{"half\n');
    git(bot, "add", "-A");
    const refused = spawnSync("git", ["commit", "-m", "with a broken file"], {
      cwd: bot,
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
    assert.notEqual(refused.status, 0, "the hook blocks the commit");
    assert.match(refused.stdout + refused.stderr, /broken\.jsonl:2/);
    git(bot, "rm", "--quiet", "--cached", "memory/sessions/broken.jsonl");
    rmSync(broken);
    git(bot, "commit", "--quiet", "-m", "sync: memory, by hand");

    // Pushed to an origin, the workflow the installer added runs there (config job, then the sync job).
    const origin = join(tmp, "origin.git");
    git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", origin);
    git(bot, "remote", "add", "origin", origin);
    git(bot, "push", "--quiet", "origin", "main");
    const fly = fakeFly(join(tmp, "fly"), state.root);
    writeFileSync(
      join(state.agents[0].sessionsDir, "ab5e2c1d-0000-4000-8000-000000000001.jsonl"),
      `${JSON.stringify({ type: "session", version: 3, id: "ab5e2c1d-0000-4000-8000-000000000001", timestamp: "2026-11-20T08:00:00.000Z", cwd: "/data" })}\n`,
    );
    const run = await runWorkflow({
      workflow: join(bot, ".github", "workflows", "sync-memory.yml"),
      vars: { FLY_APP: "my-bot", REMOTE_STATE_DIR: state.root },
      secrets: { FLY_API_TOKEN: fly.env.FLY_API_TOKEN },
      runnerEnv: {
        PATH: fly.env.PATH.split(delimiter)
          .filter((p) => p !== fly.bin)
          .join(delimiter),
        HOME: env.HOME,
        GIT_CONFIG_NOSYSTEM: "1",
        FAKE_FLY_CONFIG: fly.env.FAKE_FLY_CONFIG,
        OCSYNC_RETRY_DELAY_MS: "50",
        PUSH_RETRY_DELAY: "0",
      },
      origin,
      ref: "main",
      workspace: join(tmp, "runner", "work"),
      temp: join(tmp, "runner", "temp"),
      flyctlDir: fly.bin,
    });
    const failed = Object.values(run.jobs)
      .flat()
      .flatMap((job) => job.steps)
      .find((s) => s.outcome === "failure");
    assert.ok(run.ok, failed ? `${failed.name}: ${failed.stdout}${failed.stderr}` : "");
    assert.match(git(origin, "log", "-1", "--format=%s", "main"), /^sync: memory \d{4}-\d{2}-\d{2}$/);
    const changed = git(origin, "diff", "--name-only", "main~1", "main").split("\n");
    assert.ok(changed.includes("memory/sessions/ab5e2c1d-0000-4000-8000-000000000001.jsonl"), `${changed}`);
    assert.ok(
      changed.every((path) => path.startsWith("memory/")),
      `the backup commit touches memory/ only: ${changed}`,
    );
  });

  test("running it again changes nothing", async () => {
    const before = hashTree(bot);
    const again = await install(bot);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Nothing to change in .*: openclaw memory sync [\d.]+ is installed\.$/m);
    assert.match(again.stdout, /Left to do:/);
    assert.deepEqual(hashTree(bot), before);
  });

  test("a newer version upgrades in place: changed files replaced, dropped files removed, edits protected", async () => {
    // Make the installed copy look like an older release: one file had other content, one file was shipped
    // then and is gone now.
    const manifestPath = join(bot, "scripts", ".openclaw-memory-sync.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    writeFileSync(join(bot, "scripts", "prune.mts"), "// prune, an older release\n");
    writeFileSync(join(bot, "scripts", "lib", "retired.mts"), "// gone in this release\n");
    manifest.version = "0.0.9";
    manifest.files["scripts/prune.mts"] = sha(join(bot, "scripts", "prune.mts"));
    manifest.files["scripts/lib/retired.mts"] = sha(join(bot, "scripts", "lib", "retired.mts"));
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    // And the user edited one installed file by hand.
    const edited = join(bot, "scripts", "verify.mts");
    const original = readFileSync(edited, "utf8");
    writeFileSync(edited, `${original}// my change\n`);

    const before = hashTree(bot);
    const refused = await install(bot, "--no-lock");
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^install: error: 1 file in .* would be overwritten: scripts\/verify\.mts \(changed since the last install\); move them away, or run again with --force to replace them\n$/,
    );
    assert.deepEqual(hashTree(bot), before, "nothing changed");

    writeFileSync(edited, original);
    const upgrade = await install(bot, "--no-lock");
    assert.equal(upgrade.code, 0, upgrade.stderr);
    assert.match(upgrade.stdout, /\(upgrade from 0\.0\.9\):/);
    assert.match(upgrade.stdout, /^ {2}updated scripts\/prune\.mts$/m);
    assert.match(upgrade.stdout, /^ {2}removed scripts\/lib\/retired\.mts$/m);
    assert.equal(
      readFileSync(join(bot, "scripts", "prune.mts"), "utf8"),
      readFileSync(join(ROOT, "scripts", "prune.mts"), "utf8"),
    );
    assert.ok(!existsSync(join(bot, "scripts", "lib", "retired.mts")));
    assert.ok(existsSync(join(bot, "scripts", "deploy.sh")), "the bot's own scripts stay");
  });

  test("files in the way, or a path that is not a repository, stop it with one sentence and change nothing", async () => {
    const other = makeBot("other-bot");
    writeFileSync(join(other, "scripts", "verify.mts"), "// the bot's own verify\n");
    const before = hashTree(other);
    const refused = await install(other, "--no-lock");
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^install: error: 1 file in .* would be overwritten: scripts\/verify\.mts; /,
    );
    assert.equal(refused.stdout, "");
    assert.deepEqual(hashTree(other), before);

    const dry = await install(other, "--dry-run", "--force", "--no-lock");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^ {2}updated scripts\/verify\.mts$/m);
    assert.match(dry.stdout, /Dry run: nothing was changed\./);
    assert.deepEqual(hashTree(other), before);

    const plain = join(tmp, "plain");
    mkdirSync(plain);
    const notGit = await install(plain);
    assert.equal(notGit.code, 1);
    assert.match(notGit.stderr, /is not inside a git repository; run 'git init' there first/);
    const usage = await install();
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Run 'npx tsx scripts\/install\.mts --help' for the options\./);
  });
});
