// scripts/lib/sync/workspace.mts, the sync stage that backs up the agent's memory files (MEMORY.md, memory/*.md,
// USER.md, SOUL.md, IDENTITY.md, AGENTS.md, TOOLS.md) into <memory>/workspace/: the real remote program
// (workspace.sh) over the local transport, the real journaled apply, over days — a first backup (secrets
// redacted, other workspace files left out), an idle day (nothing transferred but the listing), a day one file
// changes (only it travels), a file the bot lost (kept), a workspace that is missing (said, with why); then the
// real restore.mts puts the backup into a recreated bot.
// Run: npx tsx test/run.mts sync-workspace
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Reporter } from "../scripts/lib/cli.mts";
import { LocalTransport } from "../scripts/lib/remote/local.mts";
import { applyStaged, createStaging } from "../scripts/lib/store/apply.mts";
import { PROVENANCE_FILE, serializeProvenance, type Provenance } from "../scripts/lib/store/provenance.mts";
import { SecretScanner } from "../scripts/lib/secrets.mts";
import { syncWorkspace, type WorkspaceSync } from "../scripts/lib/sync/workspace.mts";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript, syncLocal } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";
import type { RestoreSummary } from "../scripts/lib/restore/run.mts";

const tmp = tempDir("sync-workspace");
const KEY = `sk-ant-api03-${"A".repeat(93)}-${"B".repeat(6)}AA`;

function bot(): { state: string; workspace: string } {
  const cloud = makeStateDir(join(tmp, "bot"), { secondAgent: false });
  const workspace = join(cloud.root, "workspace");
  writeFileSync(
    join(cloud.root, "openclaw.json"),
    JSON.stringify({ meta: { lastTouchedVersion: "2026.7.1" }, agents: { defaults: { workspace } } }),
  );
  mkdirSync(join(workspace, "memory"), { recursive: true });
  writeFileSync(join(workspace, "MEMORY.md"), `# Memory\n\n- Dana's key (do not share): ${KEY}\n`);
  writeFileSync(join(workspace, "USER.md"), "# User\n\nDana\n");
  writeFileSync(join(workspace, "memory", "2026-11-18.md"), "# 18\n\nAtlas launch.\n");
  writeFileSync(join(workspace, "BOOTSTRAP.md"), "not a memory file\n");
  writeFileSync(join(workspace, "memory", "notes.txt"), "not a memory file\n");
  return { state: cloud.root, workspace };
}

/** One day's sync of the workspace into `memory`, applied the way sync applies (one journaled step). */
async function day(state: string, memory: string): Promise<WorkspaceSync> {
  mkdirSync(memory, { recursive: true });
  const provenancePath = join(memory, PROVENANCE_FILE);
  const provenance = JSON.parse(readFileSync(provenancePath, "utf8")) as Provenance;
  const staging = await createStaging(memory);
  try {
    const result = await syncWorkspace(
      new LocalTransport(),
      {
        stateDir: state,
        agentId: "main",
        era: "files",
        stagingDir: staging,
        memoryDir: memory,
        provenance,
        at: new Date().toISOString(),
        scanner: new SecretScanner(),
      },
      { dryRun: false, timeoutSeconds: 60, reporter: new Reporter("sync", true) },
    );
    if (result.changed) {
      const staged = join(staging, PROVENANCE_FILE);
      writeFileSync(staged, serializeProvenance({ ...provenance, workspace: result.record }));
      await applyStaged(memory, staging, [...result.steps, { target: PROVENANCE_FILE, staged }], {
        kind: "sync",
      });
    }
    return result;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

describe("the agent's memory files, day after day", () => {
  const { state, workspace } = bot();
  const memory = join(tmp, "memory");

  test("first day: the memory files arrive (a secret redacted), other workspace files stay out", async () => {
    const synced = await syncLocal(state, memory, ["--quiet"]);
    assert.equal(synced.code, 0, synced.stderr);
    const first = await day(state, memory);
    assert.deepEqual(
      first.summary.changes.map((c) => [c.path, c.change]),
      [
        ["MEMORY.md", "new"],
        ["USER.md", "new"],
        ["memory/2026-11-18.md", "new"],
      ],
    );
    assert.equal(first.redactions.total, 1);
    const stored = readFileSync(join(memory, "workspace", "MEMORY.md"), "utf8");
    assert.ok(!stored.includes(KEY), "the secret reached memory/");
    assert.match(stored, /\[REDACTED:[^\]]+\]/);
    const provenance = JSON.parse(readFileSync(join(memory, PROVENANCE_FILE), "utf8")) as Provenance;
    assert.equal(provenance.workspace?.path, workspace);
    assert.equal(provenance.workspace?.files["MEMORY.md"].redactions, 1);
    assert.deepEqual(Object.keys(provenance.workspace?.files ?? {}), [
      "MEMORY.md",
      "USER.md",
      "memory/2026-11-18.md",
    ]);
  });

  test("an idle day: nothing changes, nothing but the listing travels", async () => {
    const before = readFileSync(join(memory, PROVENANCE_FILE), "utf8");
    const idle = await day(state, memory);
    assert.equal(idle.changed, false);
    assert.equal(idle.steps.length, 0);
    assert.equal(idle.summary.unchanged, 3);
    assert.equal(readFileSync(join(memory, PROVENANCE_FILE), "utf8"), before);
  });

  test("a day one file changes and one is new: only those travel; a file the bot lost stays in the backup", async () => {
    writeFileSync(join(workspace, "USER.md"), "# User\n\nDana, Berlin\n");
    writeFileSync(join(workspace, "memory", "2026-11-19.md"), "# 19\n\nReview moved.\n");
    rmSync(join(workspace, "memory", "2026-11-18.md"));
    const next = await day(state, memory);
    assert.deepEqual(next.steps.map((s) => s.target).sort(), [
      join("workspace", "USER.md"),
      join("workspace", "memory", "2026-11-19.md"),
    ]);
    assert.equal(readFileSync(join(memory, "workspace", "USER.md"), "utf8"), "# User\n\nDana, Berlin\n");
    assert.equal(
      readFileSync(join(memory, "workspace", "memory", "2026-11-18.md"), "utf8"),
      "# 18\n\nAtlas launch.\n",
    );
    const provenance = JSON.parse(readFileSync(join(memory, PROVENANCE_FILE), "utf8")) as Provenance;
    assert.equal(provenance.workspace?.files["memory/2026-11-18.md"].inCloud, false);
  });

  test("the volume is gone: restore puts the backed-up memory files into the recreated bot", async () => {
    const fresh = join(tmp, "recreated");
    mkdirSync(fresh, { recursive: true });
    writeFileSync(
      join(fresh, "openclaw.json"),
      JSON.stringify({
        meta: { lastTouchedVersion: "2026.7.1" },
        session: { maintenance: { mode: "warn" } },
        agents: { defaults: { workspace: join(fresh, "workspace") } },
      }),
    );
    const result = await runScript("restore.mts", [
      "--local",
      "--memory",
      memory,
      "--state-dir",
      fresh,
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as RestoreSummary;
    assert.equal(summary.workspace?.files.filter((f) => f.action === "add").length, 4);
    for (const path of ["MEMORY.md", "USER.md", "memory/2026-11-18.md", "memory/2026-11-19.md"])
      assert.deepEqual(
        readFileSync(join(fresh, "workspace", path)),
        readFileSync(join(memory, "workspace", path)),
        path,
      );
  });

  test("a workspace that is not there: a warning that says where it was looked for and why, nothing changes", async () => {
    const other = makeStateDir(join(tmp, "bare"), { secondAgent: false });
    const bare = join(tmp, "bare-memory");
    const synced = await syncLocal(other.root, bare, ["--quiet"]);
    assert.equal(synced.code, 0, synced.stderr);
    const missing = await day(other.root, bare);
    assert.equal(missing.summary.skipped, "missing on the bot");
    assert.equal(missing.changed, false);
    assert.match(
      missing.warnings[0],
      /^the agent's workspace \S+\/\.openclaw\/workspace \(OpenClaw's default, ~\/\.openclaw\/workspace of the gateway's user\) does not exist on the bot, so its memory files .* were not backed up; it is outside the state dir .*, so on Fly not on the volume/,
    );
  });
});
