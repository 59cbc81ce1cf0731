// scripts/lib/store/apply.mts: applyStaged moves staged files into the memory folder in order, and a failure half
// way puts every old file back. Run: npx tsx test/run.mts store-apply
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyStaged, createStaging } from "../scripts/lib/store/apply.mts";
import { Failure } from "../scripts/lib/cli.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const root = tempDir("apply");

async function setUp(name: string) {
  const memory = join(root, name, "memory");
  mkdirSync(join(memory, "sessions"), { recursive: true });
  writeFileSync(join(memory, "sessions", "a.jsonl"), "old a\n");
  writeFileSync(join(memory, "sync-provenance.json"), "old provenance\n");
  const staging = await createStaging(memory);
  const stage = (file: string, text: string) => {
    writeFileSync(join(staging, file), text);
    return join(staging, file);
  };
  return { memory, staging, stage };
}

describe("applyStaged", () => {
  test("new and replaced files land, the staging copies are moved (not copied)", async () => {
    const { memory, staging, stage } = await setUp("ok");
    await applyStaged(memory, staging, [
      { target: "sessions/a.jsonl", staged: stage("a", "new a\n") },
      { target: "sessions/b.jsonl", staged: stage("b", "new b\n") },
      { target: "sync-provenance.json", staged: stage("p", "new provenance\n") },
    ]);
    assert.equal(readFileSync(join(memory, "sessions", "a.jsonl"), "utf8"), "new a\n");
    assert.equal(readFileSync(join(memory, "sessions", "b.jsonl"), "utf8"), "new b\n");
    assert.equal(readFileSync(join(memory, "sync-provenance.json"), "utf8"), "new provenance\n");
    assert.deepEqual(
      readdirSync(staging).filter((name) => !name.startsWith(".")),
      [],
    );
  });

  test("creates a memory folder that does not exist yet", async () => {
    const memory = join(root, "fresh", "memory");
    mkdirSync(join(root, "fresh"));
    const staging = await createStaging(memory);
    writeFileSync(join(staging, "t"), "first\n");
    await applyStaged(memory, staging, [{ target: "sessions/t.jsonl", staged: join(staging, "t") }]);
    assert.equal(readFileSync(join(memory, "sessions", "t.jsonl"), "utf8"), "first\n");
  });

  test("a failure half way is a Failure and leaves every file as it was", async () => {
    const { memory, staging, stage } = await setUp("undo");
    const before = snapshot(memory);
    // The third step's target is a folder in the way: the rename fails after two files were moved.
    mkdirSync(join(memory, "sessions", "c.jsonl"));
    writeFileSync(join(memory, "sessions", "c.jsonl", "inside"), "x");
    const withFolder = snapshot(memory);
    await assert.rejects(
      applyStaged(memory, staging, [
        { target: "sessions/a.jsonl", staged: stage("a", "new a\n") },
        { target: "sessions/b.jsonl", staged: stage("b", "new b\n") },
        { target: "sessions/c.jsonl", staged: stage("c", "new c\n") },
        { target: "sync-provenance.json", staged: stage("p", "new provenance\n") },
      ]),
      (error) => error instanceof Failure,
    );
    assert.deepEqual(snapshot(memory), withFolder);
    assert.notDeepEqual(before, withFolder);
    assert.equal(existsSync(join(memory, "sessions", "b.jsonl")), false);
  });
});
