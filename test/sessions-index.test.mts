// scripts/lib/openclaw/sessions-index.mts: parsing and writing sessions.json, the entry → transcript rule, key nesting.
// Run: npx tsx test/run.mts sessions-index
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  IndexParseError,
  keyAndParents,
  parseIndex,
  serializeIndex,
  sessionFileName,
  transcriptOf,
} from "../scripts/lib/openclaw/sessions-index.mts";

describe("parseIndex", () => {
  test("an object keyed by session key", () => {
    const index = parseIndex('{"agent:main:main": {"sessionId": "abc", "updatedAt": 5}}');
    assert.deepEqual(index, { "agent:main:main": { sessionId: "abc", updatedAt: 5 } });
  });
  test("invalid JSON is a json error with JSON's own message", () => {
    assert.throws(
      () => parseIndex("{"),
      (error) => error instanceof IndexParseError && error.kind === "json" && error.message.length > 0,
    );
  });
  for (const text of ["null", "[]", "42", '"x"']) {
    test(`${text} is a shape error`, () => {
      assert.throws(
        () => parseIndex(text),
        (error) =>
          error instanceof IndexParseError && error.kind === "shape" && error.message === "not an object",
      );
    });
  }
  test("serializeIndex writes what OpenClaw writes and parses back", () => {
    const index = { "agent:main:main": { sessionId: "abc", updatedAt: 5 } };
    const text = serializeIndex(index);
    assert.equal(text, JSON.stringify(index, null, 2));
    assert.deepEqual(parseIndex(text), index);
  });
});

describe("transcriptOf", () => {
  test("sessionFile's base name, either slash", () => {
    assert.equal(
      transcriptOf({ sessionFile: "/data/agents/main/sessions/a.jsonl", sessionId: "b" }),
      "a.jsonl",
    );
    assert.equal(transcriptOf({ sessionFile: "C:\\state\\sessions\\a-topic-7.jsonl" }), "a-topic-7.jsonl");
    assert.equal(transcriptOf({ sessionFile: "a.jsonl" }), "a.jsonl");
  });
  test("else <sessionId>.jsonl", () => {
    assert.equal(transcriptOf({ sessionId: "abc" }), "abc.jsonl");
    assert.equal(transcriptOf({ sessionId: "abc", sessionFile: "" }), "abc.jsonl");
  });
  test("nothing for an entry without either", () => {
    assert.equal(transcriptOf({}), undefined);
    assert.equal(transcriptOf({ sessionId: "", sessionFile: 7 }), undefined);
    assert.equal(sessionFileName(undefined), undefined);
  });
});

describe("keyAndParents", () => {
  test("a topic belongs to its group, a thread to its parent", () => {
    assert.deepEqual(keyAndParents("agent:main:telegram:group:-100:topic:7"), [
      "agent:main:telegram:group:-100:topic:7",
      "agent:main:telegram:group:-100",
    ]);
    assert.deepEqual(keyAndParents("agent:main:slack:channel:c1:thread:t1:topic:2"), [
      "agent:main:slack:channel:c1:thread:t1:topic:2",
      "agent:main:slack:channel:c1:thread:t1",
      "agent:main:slack:channel:c1",
    ]);
  });
  test("a plain key is only itself", () => {
    assert.deepEqual(keyAndParents("agent:main:main"), ["agent:main:main"]);
  });
});
