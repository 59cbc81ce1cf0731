// scripts/lib/verify/input.mts: the files verify reads, from the work tree or from git's index (`--staged`), in a
// real repository where the two differ. Run: npx tsx test/run.mts verify-input
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { headBlobs, openSource, type Source } from "../scripts/lib/verify/input.mts";
import { tempDir } from "./helpers/tmp.mts";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=T", ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  }).toString();

async function bytes(source: Source, path: string): Promise<string> {
  const [file] = (await source.list([path])).filter((f) => f.path === path);
  const chunks: Buffer[] = [];
  for await (const chunk of source.open(file)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** memory/sessions with a committed a.jsonl, a staged change to it, an unstaged change on top, a staged new
 * b.jsonl, an untracked c.jsonl and a link. */
function repository(): string {
  const dir = tempDir("verify-input");
  git(dir, "init", "-q");
  mkdirSync(join(dir, "memory", "sessions"), { recursive: true });
  writeFileSync(join(dir, "memory", "sessions", "a.jsonl"), "committed\n");
  git(dir, "add", "memory");
  git(dir, "commit", "-q", "-m", "first");
  writeFileSync(join(dir, "memory", "sessions", "a.jsonl"), "staged\n");
  writeFileSync(join(dir, "memory", "sessions", "b.jsonl"), "new\n");
  symlinkSync("a.jsonl", join(dir, "memory", "sessions", "link.jsonl"));
  git(dir, "add", "memory");
  writeFileSync(join(dir, "memory", "sessions", "a.jsonl"), "work tree\n");
  writeFileSync(join(dir, "memory", "sessions", "c.jsonl"), "untracked\n");
  return dir;
}

describe("verify's sources", () => {
  test("the work tree: every regular file with its size, the bytes as they are on disk", async () => {
    const dir = repository();
    const source = openSource(dir, false);
    const files = await source.list(["memory"]);
    assert.deepEqual(
      files.map((f) => [f.path, f.size]),
      [
        ["memory/sessions/a.jsonl", 10],
        ["memory/sessions/b.jsonl", 4],
        ["memory/sessions/c.jsonl", 10],
      ],
    );
    assert.equal(await bytes(source, "memory/sessions/a.jsonl"), "work tree\n");
    assert.deepEqual((await source.names("memory/sessions")).sort(), ["a.jsonl", "b.jsonl", "c.jsonl"]);
    assert.equal(await source.read("memory/none.json"), undefined);
    await assert.rejects(source.list(["nowhere"]), /nowhere does not exist/);
    await source.close();
  });

  test("git's index: what the next commit holds (no untracked file, no link), read through one cat-file", async () => {
    const dir = repository();
    const source = openSource(dir, true);
    const files = await source.list(["memory"]);
    assert.deepEqual(
      files.map((f) => f.path),
      ["memory/sessions/a.jsonl", "memory/sessions/b.jsonl"],
    );
    assert.equal(await bytes(source, "memory/sessions/a.jsonl"), "staged\n");
    assert.equal(await bytes(source, "memory/sessions/b.jsonl"), "new\n");
    assert.equal((await source.read("memory/sessions/b.jsonl"))?.toString(), "new\n");
    assert.equal(await source.read("memory/sessions/c.jsonl"), undefined);
    assert.deepEqual((await source.names("memory/sessions")).sort(), ["a.jsonl", "b.jsonl", "link.jsonl"]);
    await source.close();
  });

  test("headBlobs: HEAD's blob of each committed file, undefined before the first commit", async () => {
    const dir = repository();
    const head = await headBlobs(dir, ["memory"]);
    assert.deepEqual([...head!.keys()], ["memory/sessions/a.jsonl"]);
    assert.equal(
      head!.get("memory/sessions/a.jsonl"),
      git(dir, "rev-parse", "HEAD:memory/sessions/a.jsonl").trim(),
    );
    const fresh = tempDir("verify-input");
    git(fresh, "init", "-q");
    assert.equal(await headBlobs(fresh, ["memory"]), undefined);
  });

  test("outside a git repository --staged is a usage error that says so in a sentence", async () => {
    const dir = tempDir("verify-input");
    await assert.rejects(openSource(dir, true).list(["memory"]), (error: Error) => {
      assert.equal(error.name, "UsageError");
      assert.match(
        error.message,
        /^--staged checks git's index, but .* is not inside a git repository; run verify without --staged to check the files themselves$/,
      );
      return true;
    });
  });
});
