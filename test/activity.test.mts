// scripts/lib/openclaw/activity.mts: when a conversation file was last active, from its content (prune and
// local-state), and the time an archive's or fork's name carries.
// Run: npx tsx test/run.mts activity
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineTimestamp, readActivity, timeFromName } from "../scripts/lib/openclaw/activity.mts";
import { tempDir } from "./helpers/tmp.mts";

describe("readActivity", () => {
  test("takes the newest of both clocks, skips and counts malformed lines, reads lines across chunks", async () => {
    const dir = tempDir("prune-activity");
    const path = join(dir, "t.jsonl");
    const big = "x".repeat(300_000); // longer than one stream chunk
    const lines = [
      JSON.stringify({ type: "session", timestamp: "2026-01-01T00:00:00.000Z" }),
      JSON.stringify({
        type: "message",
        timestamp: "2026-01-02T00:00:00.000Z",
        message: { timestamp: Date.parse("2026-01-03T00:00:00Z") },
      }),
      "not json",
      JSON.stringify({ type: "custom", data: big, timestamp: "2026-01-02T12:00:00.000Z" }),
      "",
      JSON.stringify({ type: "label", timestamp: "not a time" }),
      '{"type":"message","timestamp":"2027',
    ];
    writeFileSync(path, `${lines.join("\n")}`);
    const activity = await readActivity(path);
    assert.equal(activity.newest, Date.parse("2026-01-03T00:00:00Z"));
    assert.equal(activity.malformed, 2);
    assert.deepEqual(activity.malformedLines, [3, 7]);
    assert.equal(activity.lines, 7);
  });

  test("lineTimestamp ignores what is not a time", () => {
    assert.equal(lineTimestamp(null), undefined);
    assert.equal(lineTimestamp([1]), undefined);
    assert.equal(lineTimestamp({ timestamp: "" }), undefined);
    assert.equal(lineTimestamp({ message: null }), undefined);
    assert.equal(lineTimestamp({ timestamp: 5 }), 5);
  });
});

describe("timeFromName", () => {
  test("reads an archive's and a fork's time, nothing else", () => {
    assert.equal(timeFromName("2026-04-07T02-04-55.264Z"), Date.parse("2026-04-07T02:04:55.264Z"));
    assert.equal(timeFromName("2026-04-07T02-04-55-264Z"), Date.parse("2026-04-07T02:04:55.264Z"));
    assert.equal(timeFromName("2026-04-07T02-04-55Z"), Date.parse("2026-04-07T02:04:55.000Z"));
    assert.equal(timeFromName(undefined), undefined);
    assert.equal(timeFromName("2026-04-07T02:04:55Z"), undefined);
    assert.equal(timeFromName("2026-13-45T99-99-99Z"), undefined);
  });
});
