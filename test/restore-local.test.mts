// scripts/restore.mts end to end without OpenClaw installed (the quick tier's restore test): a backup taken by the
// real sync is restored with --local into a fresh file-era state dir whose openclaw.json names its version, as a
// recreated 2026.7.1 bot's does. The dry run lists exactly what the real run then does and writes nothing; every
// backed-up file arrives byte for byte (a secret sync redacted stays redacted); a second run changes nothing.
// test/restore.test.mts does the same and more against the real OpenClaw 2026.7.1 and 2026.9.6 (full tier).
// Run: npx tsx test/run.mts restore-local
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript, syncLocal, type RunResult } from "./helpers/run.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import type { RestoreSummary } from "../scripts/lib/restore/run.mts";

const root = tempDir("restore-local");

function summaryOf(result: RunResult): RestoreSummary {
  assert.equal(result.code, 0, `restore failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as RestoreSummary;
}

test("a lost volume: the backup goes back into a fresh file-era state dir, a second run changes nothing", async () => {
  // The bot was once sent a GitHub token: sync redacts it, so the backup and what comes back never hold it.
  const token = ["ghp", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"].join("_");
  const cloud = makeStateDir(join(root, "cloud"), { secondAgent: false, plantedText: `my token ${token}` });
  const memory = join(root, "memory");
  const synced = await syncLocal(cloud.root, memory, ["--quiet"]);
  assert.equal(synced.code, 0, synced.stderr);
  const backup = join(memory, "sessions");
  const texts = readdirSync(backup).map((name) => readFileSync(join(backup, name), "utf8"));
  assert.ok(
    texts.some((text) => text.includes("[REDACTED:GITHUB_TOKEN]")),
    "sync redacted the token",
  );
  assert.ok(!texts.some((text) => text.includes(token)), "the token is in no backed-up file");

  // The recreated bot: an empty volume with its config, which names the OpenClaw version that wrote it.
  const state = join(root, "state");
  mkdirSync(state);
  const config = { meta: { lastTouchedVersion: "2026.7.1" }, gateway: { mode: "local" } };
  writeFileSync(join(state, "openclaw.json"), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const restore = (args: string[]) =>
    runScript("restore.mts", ["--local", "--state-dir", state, "--memory", memory, "--json", ...args]);

  const empty = snapshot(state);
  const dry = summaryOf(await restore(["--dry-run"]));
  assert.deepEqual(snapshot(state), empty, "a dry run wrote something");
  assert.equal(dry.era, "files");
  assert.equal(dry.openclawVersion, "2026.7.1");
  assert.match(dry.blocked ?? "", /maintenance/, "the dry run names the maintenance guard a real run hits");

  const summary = summaryOf(await restore(["--maintenance", "warn"]));
  assert.equal(summary.changed, true);
  assert.deepEqual(
    summary.files.map((f) => [f.name, f.action]),
    dry.files.map((f) => [f.name, f.action]),
    "the dry run listed something else than the real run did",
  );
  const sessions = join(state, "agents", "main", "sessions");
  const restored = readdirSync(backup).filter((name) => name !== "sessions.json");
  assert.ok(restored.length > 5, `a realistic backup (${restored.length} files)`);
  for (const name of restored)
    assert.deepEqual(readFileSync(join(sessions, name)), readFileSync(join(backup, name)), name);
  const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8"));
  assert.deepEqual(
    Object.keys(index).sort(),
    Object.keys(JSON.parse(readFileSync(join(backup, "sessions.json"), "utf8"))).sort(),
    "every backed-up index key is back",
  );
  assert.equal(
    JSON.parse(readFileSync(join(state, "openclaw.json"), "utf8")).session.maintenance.mode,
    "warn",
  );
  for (const name of readdirSync(sessions))
    assert.ok(!readFileSync(join(sessions, name), "utf8").includes(token), `${name} holds the token`);

  const before = snapshot(state);
  const again = summaryOf(await restore([]));
  assert.equal(again.changed, false);
  assert.equal(again.counts.add + again.counts.rename, 0);
  assert.deepEqual(snapshot(state), before, "a second restore changed the state dir");
});
