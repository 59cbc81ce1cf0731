// Excluding a session that is already backed up (store/exclude.mts): the README's steps run exactly as written
// (the commands are read out of README.md, so the test breaks when the README drifts), `--apply-syncignore` with
// --dry-run and --json.
// test tier: full — the README's exclusion steps run as written, with git, about 15 script runs
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { addIdleSession, makeStateDir, type GeneratedStateDir } from "../scripts/dev/statedir.mts";
import { ROOT, runCommand, runScript, syncLocal } from "./helpers/run.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("exclude");
const PRIVATE_ID = "5e1f0c2a-7b3d-4e8f-9a10-c0ffee000001";

/** The README's steps for "Excluding a session that is already backed up": its first sh block. */
function readmeSteps(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const heading = readme.indexOf("### Excluding a session that is already backed up");
  assert.ok(heading >= 0, "the README has the section");
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(heading));
  assert.ok(block, "the section has an sh block");
  return block[1].split("\n").filter((line) => line.trim() !== "");
}

async function git(cwd: string, ...args: string[]) {
  const result = await runCommand("git", args, { cwd });
  assert.equal(result.code, 0, `git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A user's backup repository: this project's scripts and dependencies, the hook active, memory/ committed. */
async function backupRepo(name: string): Promise<string> {
  const repo = join(tmp, name, "repo");
  mkdirSync(repo, { recursive: true });
  for (const link of ["scripts", "node_modules"]) symlinkSync(join(ROOT, link), join(repo, link));
  writeFileSync(join(repo, ".gitignore"), "/scripts\n/node_modules\n.*.sync.lock\n.*.staging-*\n");
  await git(repo, "init", "-q", "-b", "main");
  await git(repo, "config", "user.email", "test@example.com");
  await git(repo, "config", "user.name", "Test");
  await git(repo, "config", "commit.gpgsign", "false");
  await git(repo, "config", "core.hooksPath", join(ROOT, "hooks"));
  await git(repo, "add", ".gitignore");
  await git(repo, "commit", "-q", "-m", "set-up");
  return repo;
}

/** A bot whose index holds `key` for a private direct chat (transcript PRIVATE_ID.jsonl). */
function botWith(name: string, key: string): GeneratedStateDir {
  const state = makeStateDir(join(tmp, name, "state"));
  addIdleSession(state.agents[0], PRIVATE_ID, key, Date.parse("2026-11-19T10:00:00Z"));
  return state;
}

/** `sh -c LINE` in the repository, as a user types it; node's own folder first on PATH (npx, node). */
function sh(repo: string, line: string) {
  return runCommand("sh", ["-c", line], {
    cwd: repo,
    env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
    timeoutMs: 180_000,
  });
}

describe("excluding a session that is already backed up", () => {
  test("the README's steps, exactly as written, remove it from memory/ and the next commit; the next sync keeps it out", async () => {
    const steps = readmeSteps();
    const echo = steps.find((line) => line.startsWith("echo "));
    const key = /echo '([^']+)' >> memory\/\.syncignore/.exec(echo ?? "")?.[1];
    assert.ok(key, `the first step appends a key to memory/.syncignore: ${echo}`);
    assert.ok(
      steps.some((line) => line.includes("--apply-syncignore --dry-run")) &&
        steps.some((line) => /--apply-syncignore\s*$/.test(line)) &&
        steps.some((line) => line.startsWith("git add memory && git commit")),
      `dry run, apply, commit: ${steps.join(" | ")}`,
    );
    const state = botWith("readme", key);
    const repo = await backupRepo("readme");
    // Backed up and committed before the line is added (the README's own sync and commit commands).
    const first = await sh(repo, `npx tsx scripts/sync-memory.mts --local --state-dir ${state.root}`);
    assert.equal(first.code, 0, first.stderr);
    const committed = await sh(repo, `git add memory && git commit -m "sync: memory $(date -u +%F)"`);
    assert.equal(committed.code, 0, committed.stderr);
    const sessions = join(repo, "memory", "sessions");
    assert.ok(existsSync(join(sessions, `${PRIVATE_ID}.jsonl`)));

    for (const line of steps) {
      const before = snapshot(join(repo, "memory"));
      const result = await sh(repo, line);
      assert.equal(result.code, 0, `${line}\n${result.stdout}${result.stderr}`);
      if (line.includes("--dry-run")) {
        assert.deepEqual(snapshot(join(repo, "memory")), before, "the dry run changes nothing");
        assert.match(result.stdout, new RegExp(`${PRIVATE_ID}\\.jsonl`), "it names the file that would go");
        assert.ok(result.stdout.includes(key), "and the key");
      }
    }

    // Gone from the work tree, the index, the provenance and the commit; nothing left to commit.
    assert.ok(!existsSync(join(sessions, `${PRIVATE_ID}.jsonl`)));
    assert.equal(await git(repo, "status", "--porcelain"), "");
    const tree = await git(repo, "ls-tree", "-r", "--name-only", "HEAD", "memory");
    assert.ok(!tree.includes(PRIVATE_ID), tree);
    const index = JSON.parse(await git(repo, "show", "HEAD:memory/sessions/sessions.json"));
    assert.equal(index[key], undefined);
    assert.ok(Object.keys(index).length > 3, "the other keys stay");
    const provenance = await git(repo, "show", "HEAD:memory/sync-provenance.json");
    assert.ok(!provenance.includes(PRIVATE_ID));
    assert.ok((await git(repo, "show", "HEAD:memory/.syncignore")).includes(key));
    const verified = await runScript("verify.mts", ["--strict", join(repo, "memory")]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);

    // The next day: the bot still has the chat; sync neither transfers it nor brings it back.
    const next = await sh(repo, `npx tsx scripts/sync-memory.mts --local --state-dir ${state.root} --json`);
    assert.equal(next.code, 0, next.stderr);
    const summary = JSON.parse(next.stdout);
    assert.equal(summary.provenanceWritten, false, "nothing changed");
    assert.equal(summary.excluded.keys, 1);
    assert.equal(await git(repo, "status", "--porcelain"), "");
  });
});

describe("index copies from the bot", () => {
  test("a sessions.json.bak copy arrives without the excluded keys; verify passes", async () => {
    const state = makeStateDir(join(tmp, "bak", "state"));
    const main = state.agents[0].sessions[0];
    const bak = readdirSync(state.agents[0].sessionsDir).find((n) => n.startsWith("sessions.json.bak."))!;
    assert.ok(readFileSync(join(state.agents[0].sessionsDir, bak), "utf8").includes(main.key));
    const memory = join(tmp, "bak", "memory");
    mkdirSync(memory);
    writeFileSync(join(memory, ".syncignore"), `${main.key}\n`);
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const stored = readFileSync(join(memory, "sessions", bak), "utf8");
    assert.ok(!stored.includes(main.key), "the copy lost the key");
    assert.deepEqual(JSON.parse(stored), {}, "and nothing else was in it");
    const verified = await runScript("verify.mts", ["--strict", memory]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const idle = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(JSON.parse(idle.stdout).provenanceWritten, false, "an idle day changes nothing");
  });
});

describe("sync with a .syncignore line not yet committed", () => {
  test("the settings sync only reads are no uncommitted change: the sync runs, removes the session, and the commit passes the hook", async () => {
    const key = "agent:main:telegram:direct:4242";
    const state = botWith("uncommitted", key);
    const repo = await backupRepo("uncommitted");
    const sync = `npx tsx scripts/sync-memory.mts --local --state-dir ${state.root}`;
    assert.equal((await sh(repo, sync)).code, 0);
    assert.equal((await sh(repo, "git add memory && git commit -q -m first")).code, 0);
    writeFileSync(join(repo, "memory", ".syncignore"), `${key}\n`);
    writeFileSync(join(repo, "memory", ".secretsallow"), "# none yet\n");
    const next = await sh(repo, sync);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /removed 1 file\(s\) already in/);
    assert.ok(!existsSync(join(repo, "memory", "sessions", `${PRIVATE_ID}.jsonl`)));
    const committed = await sh(repo, "git add memory && git commit -q -m second");
    assert.equal(committed.code, 0, committed.stderr);
    // Anything else uncommitted still stops it.
    writeFileSync(join(repo, "memory", "notes.md"), "mine\n");
    const refused = await sh(repo, sync);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /uncommitted changes \(memory\/notes\.md\)/);
  });
});

describe("--apply-syncignore", () => {
  test("--json lists files and keys; index copies, provenance and prune's log are cleaned; a second run has nothing to do", async () => {
    const state = makeStateDir(join(tmp, "json", "state"));
    const agent = state.agents[0];
    const main = agent.sessions[0]; // its key is also in the sessions.json.bak copy
    const fork = agent.sessions[2]; // a thread of main's key: excluded with it
    assert.ok(fork.key.startsWith(`${main.key}:thread:`));
    const memory = join(tmp, "json", "memory");
    assert.equal((await syncLocal(state.root, memory)).code, 0);
    const sessions = join(memory, "sessions");
    const bak = readdirSync(sessions).find((name) => name.startsWith("sessions.json.bak."))!;
    assert.ok(readFileSync(join(sessions, bak), "utf8").includes(main.key));
    writeFileSync(
      join(memory, "pruned.jsonl"),
      `${JSON.stringify({ sessionId: main.sessionId, keys: [main.key], files: [{ name: "gone.jsonl", bytes: 1 }] })}\n` +
        `${JSON.stringify({ sessionId: "other", keys: ["agent:main:other"], files: [{ name: "other.jsonl", bytes: 1 }] })}\n`,
    );
    // What continuity merged away is recorded by the bot's name (Provenance.consumed): the excluded session's goes.
    const provenancePath = join(memory, "sync-provenance.json");
    const merged = { size: 1, sha256: "0".repeat(64) };
    writeFileSync(
      provenancePath,
      JSON.stringify({
        ...JSON.parse(readFileSync(provenancePath, "utf8")),
        consumed: { [main.files[0]]: merged, "other.jsonl": merged },
      }),
    );
    writeFileSync(join(memory, ".syncignore"), `${main.key.toUpperCase()}\n`);
    const found = await runScript("verify.mts", [memory]);
    assert.equal(found.code, 1);
    assert.match(
      found.stdout,
      new RegExp(`${bak.replace(/\./g, "\\.")}: error: entry "${main.key}" is excluded`),
    );
    assert.match(found.stdout, /--apply-syncignore/, "verify says what to run");
    const before = snapshot(memory);
    const dry = await runScript("sync-memory.mts", [
      "--apply-syncignore",
      "--memory",
      memory,
      "--dry-run",
      "--json",
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(snapshot(memory), before, "a dry run changes nothing");
    const planned = JSON.parse(dry.stdout);
    assert.equal(planned.dryRun, true);
    assert.deepEqual(planned.removed, [...main.files, ...fork.files].sort());
    assert.deepEqual(planned.keys, [main.key, fork.key].sort());
    assert.deepEqual(planned.indexFiles.sort(), ["sessions.json", bak].sort());
    assert.equal(planned.logLines, 1);

    const run = await runScript("sync-memory.mts", ["--apply-syncignore", "--memory", memory, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { ...planned, dryRun: false });
    for (const name of [...main.files, ...fork.files])
      assert.ok(!existsSync(join(sessions, name)), `${name} removed`);
    for (const name of ["sessions.json", bak])
      assert.ok(!readFileSync(join(sessions, name), "utf8").includes(main.key), `${name} lost the key`);
    const log = readFileSync(join(memory, "pruned.jsonl"), "utf8");
    assert.ok(!log.includes(main.key) && log.includes("agent:main:other"));
    const provenance = JSON.parse(readFileSync(provenancePath, "utf8"));
    for (const name of main.files) assert.equal(provenance.files[name], undefined);
    assert.deepEqual(provenance.consumed, { "other.jsonl": merged });
    const verified = await runScript("verify.mts", ["--strict", memory]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);

    const again = await runScript("sync-memory.mts", ["--apply-syncignore", "--memory", memory]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to change/);
  });

  test("bad input: a flag that reaches the bot is a usage error; a broken sessions.json fails with one sentence and changes nothing", async () => {
    const memory = join(tmp, "bad", "memory");
    mkdirSync(join(memory, "sessions"), { recursive: true });
    const usage = await runScript("sync-memory.mts", [
      "--apply-syncignore",
      "--memory",
      memory,
      "--app",
      "x",
    ]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--apply-syncignore works on the memory folder alone/);
    writeFileSync(join(memory, ".syncignore"), "cron:*\n");
    writeFileSync(join(memory, "sessions", "sessions.json"), "{ not json");
    writeFileSync(join(memory, "sessions", "c1.jsonl"), "{}\n");
    const before = snapshot(memory);
    const broken = await runScript("sync-memory.mts", ["--apply-syncignore", "--memory", memory]);
    assert.equal(broken.code, 1);
    assert.equal(broken.stderr.trim().split("\n").length, 1, broken.stderr);
    assert.match(broken.stderr, /sessions\.json is not a session index/);
    assert.deepEqual(snapshot(memory), before);
    const missing = await runScript("sync-memory.mts", ["--apply-syncignore", "--memory", join(tmp, "nope")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
  });
});
