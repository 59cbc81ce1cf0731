// scripts/lib/local-state/config.mts: OUT/openclaw.json for a local gateway browsing a history copy, every
// changed setting reported. Run: npx tsx test/run.mts local-state
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { localConfig, localStateConfig } from "../scripts/lib/local-state/config.mts";
import { tempDir } from "./helpers/tmp.mts";

describe("localConfig", () => {
  test("an empty config gets warn-mode maintenance and a local gateway, each reported", () => {
    const { config, changes } = localConfig({}, "the new config");
    assert.deepEqual(config, { session: { maintenance: { mode: "warn" } }, gateway: { mode: "local" } });
    assert.equal(changes.length, 2);
    assert.match(changes[0], /^set session\.maintenance\.mode to "warn"/);
    assert.match(changes[1], /^set gateway\.mode to "local"/);
  });

  test("the user's settings stay; an enforcing maintenance and a session.store are changed and named", () => {
    const base = {
      session: { maintenance: { mode: "enforce", pruneAfter: "90d" }, store: "/elsewhere/sessions.json" },
      gateway: { mode: "remote" },
      agents: { defaults: { model: "x/y" } },
    };
    const { config, changes } = localConfig(base, "/home/me/openclaw.json");
    assert.deepEqual(config, {
      session: { maintenance: { mode: "warn", pruneAfter: "90d" } },
      gateway: { mode: "remote" },
      agents: { defaults: { model: "x/y" } },
    });
    assert.equal(base.session.maintenance.mode, "enforce", "the input is not changed");
    assert.match(
      changes[0],
      /changed session\.maintenance\.mode from "enforce" \(in \/home\/me\/openclaw\.json\)/,
    );
    assert.match(changes[1], /removed session\.store "\/elsewhere\/sessions\.json"/);
    assert.equal(changes.length, 2);
  });

  test("a config already fit for browsing changes nothing", () => {
    const { changes } = localConfig(
      { session: { maintenance: { mode: "warn" } }, gateway: { mode: "local" } },
      "x",
    );
    assert.deepEqual(changes, []);
  });
});

describe("localStateConfig", () => {
  test("the user's file first, else the previous build's, else empty", async () => {
    const dir = tempDir("local-state-config");
    const user = join(dir, "mine.json");
    writeFileSync(user, JSON.stringify({ agents: { defaults: { model: "a/b" } } }));
    writeFileSync(join(dir, "openclaw.json"), JSON.stringify({ agents: { defaults: { model: "c/d" } } }));
    assert.deepEqual((await localStateConfig(user, dir)).config.agents, { defaults: { model: "a/b" } });
    assert.deepEqual((await localStateConfig(undefined, dir)).config.agents, { defaults: { model: "c/d" } });
    assert.equal((await localStateConfig(undefined, undefined)).config.agents, undefined);
  });

  test("JSON5 or a missing file is one sentence", async () => {
    const dir = tempDir("local-state-config");
    const json5 = join(dir, "json5.json");
    writeFileSync(json5, "{ // a comment\n session: {}, }");
    await assert.rejects(localStateConfig(json5, undefined), /is not a plain JSON object \(JSON5 comments/);
    await assert.rejects(
      localStateConfig(join(dir, "none.json"), undefined),
      /^Failure: Cannot read The config .*ENOENT/,
    );
  });
});
