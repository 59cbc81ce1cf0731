// The pre-commit hook in real temporary git repositories, driven by real `git commit`; and the prepare script
// that activates it.
import assert from "node:assert/strict";
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ROOT, runCommand, runScript } from "./helpers/run.mts";
import { HEADER, LINE } from "./helpers/lines.mts";
import { SAMPLES, secretPart } from "./helpers/secrets-samples.mts";
import { tempDir } from "./helpers/tmp.mts";

const GOOD = `${HEADER}\n${LINE}\n`;
const BROKEN = `${HEADER}\n{"type":"mess\n${LINE}\n`;
const INDEX = JSON.stringify({ "agent:main:main": { sessionId: "s1", updatedAt: 1 } }, null, 2);

async function git(cwd: string, ...args: string[]) {
  return runCommand("git", args, { cwd });
}

/** A repository whose hooks are this project's hooks/ (as `npm install` would set up). */
async function repo(): Promise<string> {
  const dir = tempDir("hook");
  await git(dir, "init", "-q", "-b", "main");
  await git(dir, "config", "user.email", "test@example.com");
  await git(dir, "config", "user.name", "Test");
  await git(dir, "config", "commit.gpgsign", "false");
  await git(dir, "config", "core.hooksPath", join(ROOT, "hooks"));
  mkdirSync(join(dir, "memory", "sessions"), { recursive: true });
  return dir;
}

function write(dir: string, path: string, content: string) {
  writeFileSync(join(dir, path), content);
}

async function commit(dir: string, message = "test") {
  return git(dir, "commit", "-q", "-m", message);
}

async function commitCount(dir: string): Promise<number> {
  const result = await git(dir, "rev-list", "--count", "HEAD");
  return result.code === 0 ? Number(result.stdout.trim()) : 0;
}

describe("pre-commit hook", () => {
  test("the first commit (no history yet) with a good memory/ goes through", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/s1.jsonl", GOOD);
    write(dir, "memory/sessions/sessions.json", INDEX);
    await git(dir, "add", "memory");
    const result = await commit(dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await commitCount(dir), 1);
  });

  test("a broken staged transcript is blocked, with the problem and what to do", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/s1.jsonl", BROKEN);
    write(dir, "memory/sessions/sessions.json", INDEX);
    await git(dir, "add", "memory");
    const result = await commit(dir);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /memory\/sessions\/s1\.jsonl:2:\d+: error: invalid JSON/);
    assert.match(result.stderr, /the commit was stopped/);
    assert.match(result.stderr, /--no-verify/);
    assert.equal(await commitCount(dir), 0);
  });

  test("a staged secret is blocked and never printed", async () => {
    const dir = await repo();
    const line = JSON.stringify({
      type: "message",
      id: "a1",
      parentId: null,
      timestamp: "2026-04-07T02:05:10.858Z",
      message: { role: "user", content: [{ type: "text", text: SAMPLES.GITHUB_TOKEN }] },
    });
    write(dir, "memory/sessions/s1.jsonl", `${HEADER}\n${line}\n`);
    write(dir, "memory/sessions/sessions.json", INDEX);
    await git(dir, "add", "memory");
    const result = await commit(dir);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /memory\/sessions\/s1\.jsonl:2: error: GITHUB_TOKEN/);
    assert.ok(!(result.stdout + result.stderr).includes(secretPart("GITHUB_TOKEN")));
    assert.equal(await commitCount(dir), 0);
  });

  test("a secret in any staged file under memory/ is blocked: a notes file, an upper-case .JSONL, a token as a file name", async () => {
    const token = SAMPLES.GOOGLE_API_KEY;
    const cases: Array<[string, string]> = [
      ["memory/notes.md", `# notes\n\nthe maps key is ${token}\n`],
      ["memory/sessions/S2.JSONL", `${HEADER}\n{"type":"message","id":"a1","text":"${token}"}\n`],
      [`memory/sessions/${SAMPLES.GITHUB_TOKEN}.jsonl`, GOOD],
    ];
    for (const [path, content] of cases) {
      const dir = await repo();
      write(dir, "memory/sessions/s1.jsonl", GOOD);
      write(dir, "memory/sessions/sessions.json", INDEX);
      assert.equal((await git(dir, "add", "memory")).code, 0);
      assert.equal((await commit(dir, "good")).code, 0);
      write(dir, path, content);
      await git(dir, "add", "memory");
      const result = await commit(dir);
      assert.notEqual(result.code, 0, `${path}: blocked`);
      assert.equal(await commitCount(dir), 1, path);
      const shown = path.replace(SAMPLES.GITHUB_TOKEN, "ghp_…");
      assert.ok(
        (result.stdout + result.stderr).includes(`${shown}:`),
        `${path}: named (masked) in ${result.stdout}`,
      );
      for (const secret of [token, SAMPLES.GITHUB_TOKEN])
        assert.ok(!(result.stdout + result.stderr).includes(secret), `${path}: no secret printed`);
    }
  });

  test("it judges what is staged: good staged + broken work tree passes; broken staged + fixed work tree is blocked", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/sessions.json", INDEX);
    write(dir, "memory/sessions/s1.jsonl", GOOD);
    await git(dir, "add", "memory");
    write(dir, "memory/sessions/s1.jsonl", BROKEN); // not staged
    const passes = await commit(dir, "good staged");
    assert.equal(passes.code, 0, passes.stdout + passes.stderr);
    assert.equal(await commitCount(dir), 1);

    await git(dir, "add", "memory/sessions/s1.jsonl"); // stage the broken copy
    write(dir, "memory/sessions/s1.jsonl", `${GOOD}${LINE}\n`); // fix only the work tree
    const blocked = await commit(dir, "broken staged");
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.stdout + blocked.stderr, /s1\.jsonl:2:\d+: error: invalid JSON/);
    assert.equal(await commitCount(dir), 1);
  });

  test("a commit that does not touch memory/ passes silently, even with a broken memory/ in the work tree", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/s1.jsonl", BROKEN); // never staged
    write(dir, "notes.txt", "hello\n");
    await git(dir, "add", "notes.txt");
    const result = await commit(dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, "");
    assert.equal(await commitCount(dir), 1);
  });
});

describe("pre-commit hook: reads only what the commit changes", () => {
  test("an already committed broken transcript is not re-read; a full verify still finds it", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/sessions.json", INDEX);
    write(dir, "memory/sessions/old.jsonl", BROKEN);
    await git(dir, "add", "memory");
    assert.equal((await git(dir, "commit", "-q", "--no-verify", "-m", "history")).code, 0);

    write(dir, "memory/sessions/s1.jsonl", GOOD);
    await git(dir, "add", "memory");
    const result = await commit(dir, "one new transcript");
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(await commitCount(dir), 2);

    const full = await runScript("verify.mts", ["--staged", "--", "memory"], { cwd: dir });
    assert.equal(full.code, 1);
    assert.match(full.stdout, /old\.jsonl:2:\d+: error: invalid JSON/);
  });

  test("a changed transcript is read in full: damage in its old part blocks the commit", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/sessions.json", INDEX);
    write(dir, "memory/sessions/s1.jsonl", BROKEN);
    await git(dir, "add", "memory");
    assert.equal((await git(dir, "commit", "-q", "--no-verify", "-m", "history")).code, 0);
    write(dir, "memory/sessions/s1.jsonl", `${BROKEN}${LINE}\n`);
    await git(dir, "add", "memory");
    const result = await commit(dir, "grown");
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /s1\.jsonl:2:\d+: error: invalid JSON/);
    assert.equal(await commitCount(dir), 1);
  });

  test("names of unchanged files still meet .syncignore: a newly ignored, committed transcript blocks the commit", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/sessions.json", INDEX);
    write(dir, "memory/sessions/s1.jsonl", GOOD);
    write(dir, "memory/sessions/private.jsonl", GOOD);
    await git(dir, "add", "memory");
    assert.equal((await commit(dir, "history")).code, 0);
    write(dir, "memory/.syncignore", "private.jsonl\n");
    await git(dir, "add", "memory");
    const result = await commit(dir, "ignore a session");
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /private\.jsonl: error: excluded by memory\/\.syncignore/);
    assert.equal(await commitCount(dir), 1);
  });

  test("in a 2,000-file history one staged transcript is the only file read", async () => {
    const dir = await repo();
    const index: Record<string, { sessionId: string; updatedAt: number }> = {};
    for (let i = 0; i < 2000; i++) {
      write(dir, `memory/sessions/s${i}.jsonl`, `${HEADER}\n${LINE}\n`.repeat(1) + `${LINE}\n`.repeat(i % 7));
      index[`agent:main:s${i}`] = { sessionId: `s${i}`, updatedAt: i };
    }
    write(dir, "memory/sessions/sessions.json", JSON.stringify(index));
    await git(dir, "add", "memory");
    assert.equal((await git(dir, "commit", "-q", "--no-verify", "-m", "history")).code, 0);
    write(dir, "memory/sessions/s7.jsonl", `${HEADER}\n${LINE}\n${LINE}\n`);
    await git(dir, "add", "memory");
    const result = await runScript("verify.mts", ["--staged", "--changed", "--json", "--", "memory"], {
      cwd: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { files: number; unchanged: number; bytes: number };
    assert.equal(report.files, 1);
    assert.equal(report.unchanged, 2000);
    assert.equal(report.bytes, `${HEADER}\n${LINE}\n${LINE}\n`.length);
  });

  test("hooks/verify.mjs (the hook's entry) gives verify's own answer, from a bundle cached per source", async () => {
    const dir = await repo();
    write(dir, "memory/sessions/good.jsonl", GOOD);
    write(dir, "memory/sessions/broken.jsonl", BROKEN);
    await git(dir, "add", "memory");
    const args = ["--staged", "--changed", "--json", "--", "memory"];
    const expected = await runScript("verify.mts", args, { cwd: dir });
    assert.equal(expected.code, 1, expected.stderr);
    const tmp = tempDir("hook-cache");
    const launcher = join(ROOT, "hooks", "verify.mjs");
    const cache = join(tmp, `ocsync-verify-${process.getuid!()}`);
    for (const round of ["builds the bundle", "uses the bundle"]) {
      const result = await runCommand(process.execPath, [launcher, ...args], {
        cwd: dir,
        env: { TMPDIR: tmp },
      });
      assert.equal(result.code, 1, `${round}: ${result.stderr}`);
      assert.deepEqual(JSON.parse(result.stdout), JSON.parse(expected.stdout), round);
      assert.equal(result.stderr, expected.stderr, round);
      assert.equal(
        readdirSync(cache).filter((name) => /^verify-[0-9a-f]{32}\.mjs$/.test(name)).length,
        1,
        round,
      );
    }
    // A cache folder others can write to is not trusted: the same check runs through tsx instead.
    chmodSync(cache, 0o777);
    rmSync(join(cache, readdirSync(cache)[0]));
    const distrusted = await runCommand(process.execPath, [launcher, ...args], {
      cwd: dir,
      env: { TMPDIR: tmp },
    });
    assert.equal(distrusted.code, 1, distrusted.stderr);
    assert.deepEqual(JSON.parse(distrusted.stdout), JSON.parse(expected.stdout));
    assert.deepEqual(readdirSync(cache), [], "nothing is written into a folder others can write to");
  });

  test("--changed without --staged is a usage error", async () => {
    const dir = await repo();
    const result = await runScript("verify.mts", ["--changed", "memory"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--changed .* together with --staged/);
  });
});

describe("prepare: activating the hook", () => {
  function project(): string {
    const dir = tempDir("prepare");
    mkdirSync(join(dir, "hooks"));
    cpSync(join(ROOT, "hooks", "install.mjs"), join(dir, "hooks", "install.mjs"));
    cpSync(join(ROOT, "hooks", "pre-commit"), join(dir, "hooks", "pre-commit"));
    return dir;
  }

  test("inside a git work tree it sets core.hooksPath to hooks", async () => {
    const dir = project();
    await git(dir, "init", "-q");
    const result = await runCommand(process.execPath, ["hooks/install.mjs"], { cwd: dir });
    assert.equal(result.code, 0);
    assert.equal((await git(dir, "config", "--get", "core.hooksPath")).stdout.trim(), "hooks");
    // Running it again changes nothing and says nothing.
    const again = await runCommand(process.execPath, ["hooks/install.mjs"], { cwd: dir });
    assert.equal(again.code, 0);
    assert.equal(again.stderr, "");
  });

  test("a project in a subfolder of a repository gets the path from the top", async () => {
    const top = tempDir("prepare-top");
    await git(top, "init", "-q");
    const dir = join(top, "tools", "memory-sync");
    mkdirSync(join(dir, "hooks"), { recursive: true });
    cpSync(join(ROOT, "hooks", "install.mjs"), join(dir, "hooks", "install.mjs"));
    const result = await runCommand(process.execPath, ["hooks/install.mjs"], { cwd: dir });
    assert.equal(result.code, 0);
    assert.equal(
      (await git(top, "config", "--get", "core.hooksPath")).stdout.trim(),
      "tools/memory-sync/hooks",
    );
  });

  test("outside a repository, or without git, it does nothing and succeeds", async () => {
    const dir = project();
    const outside = await runCommand(process.execPath, ["hooks/install.mjs"], {
      cwd: dir,
      env: { GIT_CEILING_DIRECTORIES: dir },
    });
    assert.equal(outside.code, 0);
    const noGit = await runCommand(process.execPath, ["hooks/install.mjs"], {
      cwd: dir,
      env: { PATH: "/nonexistent" },
    });
    assert.equal(noGit.code, 0);
  });

  test("a hooksPath someone else set is left alone", async () => {
    const dir = project();
    await git(dir, "init", "-q");
    await git(dir, "config", "core.hooksPath", ".husky");
    const result = await runCommand(process.execPath, ["hooks/install.mjs"], { cwd: dir });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /already \.husky/);
    assert.equal((await git(dir, "config", "--get", "core.hooksPath")).stdout.trim(), ".husky");
  });
});
