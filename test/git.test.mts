// scripts/lib/store/git.mts and store/committed.mts: the one `git status` parser (renames included), the
// uncommitted-changes guard and the committed-in-HEAD view, on real repositories.
// Run: npx tsx test/run.mts git
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { parseStatus, uncommittedChanges } from "../scripts/lib/store/git.mts";
import { gitView } from "../scripts/lib/store/committed.mts";
import { tempDir } from "./helpers/tmp.mts";

const root = tempDir("git");

function repo(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "memory"), { recursive: true });
  execFileSync("git", ["init", "-q", dir]);
  return dir;
}
const git = (dir: string, ...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" });

describe("parseStatus", () => {
  test("plain entries, untracked, and a rename with its source", () => {
    const output = " M a.jsonl\0?? new file.jsonl\0R  b.jsonl\0old b.jsonl\0D  c.jsonl\0";
    assert.deepEqual(parseStatus(output), [
      { code: " M", path: "a.jsonl" },
      { code: "??", path: "new file.jsonl" },
      { code: "R ", path: "b.jsonl", from: "old b.jsonl" },
      { code: "D ", path: "c.jsonl" },
    ]);
  });
  test("a copy carries its source too; empty output is no entries", () => {
    assert.deepEqual(parseStatus("C  x\0y\0"), [{ code: "C ", path: "x", from: "y" }]);
    assert.deepEqual(parseStatus(""), []);
  });
});

describe("on a real repository", () => {
  test("uncommittedChanges lists what no commit holds, under the folder only", async () => {
    const dir = repo("guard");
    writeFileSync(join(dir, "memory", "a.jsonl"), "{}\n");
    writeFileSync(join(dir, "outside.txt"), "x\n");
    assert.deepEqual(await uncommittedChanges(join(dir, "memory")), ["memory/a.jsonl"]);
    git(dir, "add", "-A");
    git(dir, "commit", "-qm", "one");
    assert.deepEqual(await uncommittedChanges(join(dir, "memory")), []);
    git(dir, "mv", "memory/a.jsonl", "memory/b.jsonl");
    assert.deepEqual(await uncommittedChanges(join(dir, "memory")), ["memory/b.jsonl"]);
  });
  test("outside a work tree there is no answer", async () => {
    const dir = join(root, "plain");
    mkdirSync(dir);
    assert.equal(await uncommittedChanges(dir), undefined);
  });
  test("gitView: a staged rename makes both its paths not-committed", async () => {
    const dir = repo("view");
    writeFileSync(join(dir, "memory", "a.jsonl"), "{}\n");
    writeFileSync(join(dir, "memory", "b.jsonl"), "{}\n{}\n");
    git(dir, "add", "-A");
    git(dir, "commit", "-qm", "one");
    const real = realpathSync(dir);
    let view = await gitView(join(dir, "memory"));
    assert.deepEqual([...view!.committed].sort(), [
      join(real, "memory", "a.jsonl"),
      join(real, "memory", "b.jsonl"),
    ]);
    git(dir, "mv", "memory/a.jsonl", "memory/c.jsonl");
    view = await gitView(join(dir, "memory"));
    assert.deepEqual([...view!.committed], [join(real, "memory", "b.jsonl")]);
  });
});
