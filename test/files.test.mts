// scripts/lib/openclaw/files.mts: classify() names what each file of a sessions folder is.
// Run: npx tsx test/run.mts files.test
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BACKED_UP, classify, isConversation } from "../scripts/lib/openclaw/files.mts";

describe("classify", () => {
  const kinds: [string, string][] = [
    ["sessions.json", "index"],
    ["sessions.json.bak.1764000000000", "index-backup"],
    ["0b8a3f6e-1111-4222-8333-944455556666.jsonl", "transcript"],
    ["0b8a3f6e-1111-4222-8333-944455556666-topic-42.jsonl", "transcript"],
    ["2026-04-07T02-04-55-264Z_0b8a3f6e-1111-4222-8333-944455556666.jsonl", "transcript"],
    ["abc.jsonl.reset.2026-04-07T02-04-55.264Z", "archive"],
    ["abc.jsonl.deleted.2026-04-07T02-04-55Z", "archive"],
    ["abc.jsonl.lock", "lock"],
    ["sessions.json.tmp", "temp"],
    ["abc.jsonl.bak-123-1764000000000", "repair-backup"],
    ["abc.trajectory.jsonl", "sidecar"],
    ["notes.txt", "unknown"],
  ];
  for (const [name, kind] of kinds) test(`${name} is ${kind}`, () => assert.equal(classify(name).kind, kind));

  test("a topic transcript belongs to its parent session, its thread id decoded", () => {
    const file = classify("abc-topic-a%2Fb.jsonl");
    assert.equal(file.sessionId, "abc");
    assert.equal(file.topic, "a/b");
    assert.equal(file.transcript, "abc-topic-a%2Fb.jsonl");
  });
  test("an archive names its transcript, reason and time", () => {
    const file = classify("abc.jsonl.reset.2026-04-07T02-04-55.264Z");
    assert.equal(file.transcript, "abc.jsonl");
    assert.equal(file.archive, "reset");
    assert.equal(file.archivedAt, "2026-04-07T02-04-55.264Z");
    assert.equal(file.sessionId, "abc");
  });
  test("what is backed up (unknown names too: fail safe), and what is a conversation", () => {
    assert.deepEqual([...BACKED_UP].sort(), ["archive", "index", "index-backup", "transcript", "unknown"]);
    assert.equal(isConversation("transcript"), true);
    assert.equal(isConversation("archive"), true);
    assert.equal(isConversation("index"), false);
  });
});
