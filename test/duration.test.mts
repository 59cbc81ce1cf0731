// scripts/lib/duration.mts: the --older-than durations prune accepts (30d, 12h, 1d12h, ISO 8601 P30D ...).
// Run: npx tsx test/run.mts duration
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseDuration } from "../scripts/lib/duration.mts";

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
