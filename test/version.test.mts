// scripts/lib/openclaw/version.mts: OpenClaw calendar versions, the SQLite era boundary, Node and flyctl versions.
// Run: npx tsx test/run.mts version
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  FIRST_SQLITE_VERSION,
  compareCalendar,
  compareVersions,
  hasNodeSqlite,
  isSqliteEra,
  normalizeVersion,
  parseNodeVersion,
  parseVersion,
} from "../scripts/lib/openclaw/version.mts";

describe("OpenClaw versions", () => {
  test("normalizeVersion finds the calendar version in a command's output", () => {
    assert.equal(normalizeVersion("OpenClaw 2026.4.12 (abc1234)"), "2026.4.12");
    assert.equal(normalizeVersion("v2026.7.2-beta.1"), "2026.7.2-beta.1");
    assert.equal(normalizeVersion("2026.1.30-2"), "2026.1.30-2");
    assert.equal(normalizeVersion("no version here"), undefined);
  });
  test("compareCalendar: beta < release < respin, then by numbers", () => {
    assert.equal(compareCalendar("2026.7.2-beta.1", "2026.7.2"), -1);
    assert.equal(compareCalendar("2026.7.2-1", "2026.7.2"), 1);
    assert.equal(compareCalendar("2026.7.10", "2026.7.9"), 1);
    assert.equal(compareCalendar("2026.7.1", FIRST_SQLITE_VERSION), -1);
    assert.equal(compareCalendar(FIRST_SQLITE_VERSION, "2026.7.2-beta.1"), 0);
  });
  test("parseVersion keeps the suffix and gives the numeric parts", () => {
    assert.deepEqual(parseVersion("OpenClaw 2026.9.6-rc.1\n"), {
      version: "2026.9.6-rc.1",
      parts: [2026, 9, 6],
    });
    assert.equal(parseVersion("openclaw: command not found"), undefined);
  });
  test("isSqliteEra: 2026.7.2 (and its betas) onwards", () => {
    assert.equal(isSqliteEra([2026, 7, 1]), false);
    assert.equal(isSqliteEra([2026, 7, 2]), true);
    assert.equal(isSqliteEra([2026, 6, 30]), false);
    assert.equal(isSqliteEra([2027, 1, 1]), true);
  });
});

describe("Node and tool versions", () => {
  test("node:sqlite needs Node 22.5", () => {
    assert.deepEqual(parseNodeVersion("v22.5.1"), [22, 5]);
    assert.equal(parseNodeVersion(""), undefined);
    assert.equal(hasNodeSqlite("v22.4.9"), false);
    assert.equal(hasNodeSqlite("v22.5.0"), true);
    assert.equal(hasNodeSqlite("v24.0.0"), true);
    assert.equal(hasNodeSqlite("v20.19.0"), false);
    assert.equal(hasNodeSqlite(undefined), false);
  });
  test("compareVersions orders dotted versions numerically", () => {
    assert.equal(compareVersions("0.4.80", "0.4.80"), 0);
    assert.equal(compareVersions("0.4.9", "0.4.80"), -1);
    assert.equal(compareVersions("0.5", "0.4.80"), 1);
  });
});
