// .syncignore: gitignore syntax over session keys and file names (store/syncignore.mts).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  SYNCIGNORE_FILE,
  applySyncIgnore,
  loadSyncIgnore,
  parseSyncIgnore,
} from "../scripts/lib/store/syncignore.mts";
import { tempDir } from "./helpers/tmp.mts";

describe(".syncignore", () => {
  const rules = parseSyncIgnore(
    [
      "# a private group, all of Discord, one topic everywhere, one session by file",
      "agent:main:telegram:group:-100123",
      "agent:main:discord:*",
      "!agent:main:discord:channel:public",
      "*-topic-42.jsonl",
      "0a1b2c3d.jsonl",
      "",
    ].join("\n"),
  );

  test("patterns exclude session keys, globs included; ! re-includes", () => {
    assert.deepEqual(rules.patterns.length, 5);
    assert.equal(rules.ignoresKey("agent:main:telegram:group:-100123"), true);
    assert.equal(rules.ignoresKey("agent:main:telegram:group:-1001234"), false, "no prefix match");
    assert.equal(rules.ignoresKey("agent:main:discord:channel:55"), true);
    assert.equal(rules.ignoresKey("agent:main:discord:channel:public"), false);
    assert.equal(rules.ignoresKey("agent:main:main"), false);
  });

  test("a key covers its topics and threads, even with '/' in a topic name", () => {
    assert.equal(rules.ignoresKey("agent:main:telegram:group:-100123:topic:7"), true);
    assert.equal(rules.ignoresKey("agent:main:telegram:group:-100123:topic:release plans/Q3 ✓"), true);
    assert.equal(rules.ignoresKey("agent:main:telegram:group:-100123:topic:7:thread:abc"), true);
  });

  test("file names, and a transcript's archives with it", () => {
    assert.equal(rules.ignoresFile("0a1b2c3d.jsonl"), true);
    assert.equal(rules.ignoresFile("0a1b2c3d.jsonl.reset.2026-04-07T02-04-55.264Z"), true);
    assert.equal(rules.ignoresFile("0a1b2c3d-topic-9.jsonl"), false);
    assert.equal(rules.ignoresFile("ffff-topic-42.jsonl"), true);
    assert.equal(rules.ignoresFile("other.jsonl"), false);
    assert.equal(rules.ignoresFile("sessions.json"), false);
  });

  test("applySyncIgnore drops keys from the index and tells which files go with them", () => {
    const index = {
      "agent:main:main": {
        sessionId: "m1",
        updatedAt: 1,
        sessionFile: "/data/agents/main/sessions/m1.jsonl",
      },
      "agent:main:telegram:group:-100123": { sessionId: "g1", updatedAt: 1 },
      "agent:main:telegram:group:-100123:topic:7": {
        sessionId: "g1",
        updatedAt: 1,
        sessionFile: "/data/agents/main/sessions/g1-topic-7.jsonl",
      },
    };
    const result = applySyncIgnore(rules, index);
    assert.deepEqual(
      Object.keys(index).filter((key) => !result.keys.includes(key)),
      ["agent:main:main"],
    );
    assert.deepEqual(result.keys, [
      "agent:main:telegram:group:-100123",
      "agent:main:telegram:group:-100123:topic:7",
    ]);
    assert.equal(result.excludesFile("g1.jsonl"), true);
    assert.equal(result.excludesFile("g1.jsonl.deleted.2026-04-07T02-04-55.264Z"), true);
    assert.equal(result.excludesFile("g1-topic-7.jsonl"), true);
    assert.equal(result.excludesFile("m1.jsonl"), false);
    const none = applySyncIgnore(undefined, index);
    assert.deepEqual(none.keys, []);
    assert.equal(none.excludesFile("g1.jsonl"), false);
  });

  test("every gitignore form: leading and inner '/', '**', character classes, any case", () => {
    const forms = parseSyncIgnore(
      [
        "/0f8d5a4e-1b2c-4d3e-9f00-123456789abc.jsonl",
        "agent:main:telegram:group:-100:topic:release plans/Q3",
        "agent:main:**:topic:9",
        "[ab]*-topic-42.jsonl",
        "agent:main:slack:channel:c[0-9][0-9]",
        "**/private-*.jsonl",
        "AGENT:MAIN:DISCORD:*",
      ].join("\n"),
    );
    assert.equal(forms.ignoresFile("0f8d5a4e-1b2c-4d3e-9f00-123456789abc.jsonl"), true, "leading /");
    assert.equal(
      forms.ignoresFile("0f8d5a4e-1b2c-4d3e-9f00-123456789abc.jsonl.reset.2026-01-01T00-00-00.000Z"),
      true,
    );
    assert.equal(forms.ignoresKey("agent:main:telegram:group:-100:topic:release plans/Q3"), true, "inner /");
    assert.equal(forms.ignoresKey("agent:main:telegram:group:-100:topic:release plans/Q4"), false);
    assert.equal(forms.ignoresKey("agent:main:telegram:group:-100:topic:9"), true, "**");
    assert.equal(forms.ignoresFile("a1-topic-42.jsonl"), true, "class");
    assert.equal(forms.ignoresFile("c1-topic-42.jsonl"), false);
    assert.equal(forms.ignoresKey("agent:main:slack:channel:c12"), true, "class in a key");
    assert.equal(forms.ignoresKey("agent:main:slack:channel:c1x"), false);
    assert.equal(forms.ignoresFile("private-1.jsonl"), true, "leading **/");
    assert.equal(forms.ignoresKey("agent:main:discord:channel:1"), true, "case-insensitive");
  });

  test("loadSyncIgnore reads <memory>/.syncignore, undefined without one", async () => {
    const dir = tempDir("syncignore");
    assert.equal(await loadSyncIgnore(dir), undefined);
    writeFileSync(join(dir, SYNCIGNORE_FILE), "cron:*\n");
    const loaded = await loadSyncIgnore(dir);
    assert.equal(loaded?.ignoresKey("cron:daily-digest"), true);
  });
});
