// The small pieces prune.mts stands on: duration parsing and the streaming activity reader.
// Run: npx tsx test/run.mts prune
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDuration } from "../scripts/lib/duration.mts";
import { lineTimestamp, readActivity } from "../scripts/lib/openclaw/activity.mts";
import { tempDir } from "./helpers/tmp.mts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("parseDuration", () => {
  const good: [string, number][] = [
    ["30d", 30 * DAY],
    ["12h", 12 * HOUR],
    ["6w", 42 * DAY],
    ["90m", 90 * 60_000],
    ["1d12h", 36 * HOUR],
    ["P30D", 30 * DAY],
    ["p30d", 30 * DAY],
    ["PT12H", 12 * HOUR],
    ["P1W", 7 * DAY],
    ["P1DT2H", 26 * HOUR],
  ];
  for (const [text, ms] of good) test(text, () => assert.equal(parseDuration(text), ms));
  for (const text of ["", "30", "d", "30 days", "P", "PT", "P30X", "-5d", "soon"]) {
    test(`rejects '${text}'`, () => assert.equal(parseDuration(text), undefined));
  }
});

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
